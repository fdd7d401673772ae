//! Member images: the default image of each flavour, and the check that an image runs the flavour it is given.
//!
//! A spec without `image` runs the operator's default for its flavour. The Native default is this project's
//! server at the operator's own version (`zkops.local/zk-server:<crate version>`), so an operator upgrade that
//! changes the default rolls the members that use it, one at a time; the chart (`memberImages`) and the operator
//! (`--native-image`, `--apache-image`) override both defaults.
//!
//! Members of the two servers cannot form one ensemble, so an image that runs the other flavour's server is
//! refused before any pod is created. The rule looks at the last path segment of the image's repository (tag and
//! digest stripped): containing `zk-server`, it runs the Native server; otherwise, containing `zookeeper`, Apache
//! ZooKeeper; anything else is not judged. The annotation [`SKIP_CHECK_ANNOTATION`] set to `"true"` turns the
//! check off for an image the rule misjudges.

use kube::ResourceExt;

use crate::types::{ServerFlavour, ZkEnsemble};

/// Repository of this project's server image.
pub const NATIVE_REPOSITORY: &str = "zkops.local/zk-server";
/// The default image of Apache ZooKeeper members.
pub const APACHE_IMAGE: &str = "zookeeper:3.8";
/// Annotation on a `ZkEnsemble` that turns the image check off when set to `"true"`.
pub const SKIP_CHECK_ANNOTATION: &str = "zookeeper.zkops.dev/skip-image-check";

/// The image the operator gives members whose spec names none, by flavour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultImages {
    /// Image of Native members.
    pub native: String,
    /// Image of Apache members.
    pub apache: String,
}

impl Default for DefaultImages {
    fn default() -> Self {
        Self {
            native: native_image(),
            apache: APACHE_IMAGE.to_string(),
        }
    }
}

impl DefaultImages {
    /// The image members of `zk` run: its spec's, or the default of its flavour.
    pub fn member_image(&self, zk: &ZkEnsemble) -> String {
        zk.spec
            .image
            .clone()
            .unwrap_or_else(|| match zk.spec.flavour {
                ServerFlavour::Native => self.native.clone(),
                ServerFlavour::Apache => self.apache.clone(),
            })
    }
}

/// This project's server image at the operator's version.
pub fn native_image() -> String {
    format!("{NATIVE_REPOSITORY}:{}", env!("CARGO_PKG_VERSION"))
}

/// The flavour whose server `image` runs, judged by its repository name; `None` when the name tells nothing.
pub fn image_flavour(image: &str) -> Option<ServerFlavour> {
    let without_digest = image.split('@').next().unwrap_or_default();
    let name = without_digest.rsplit('/').next().unwrap_or_default();
    let name = name
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.contains("zk-server") {
        Some(ServerFlavour::Native)
    } else if name.contains("zookeeper") {
        Some(ServerFlavour::Apache)
    } else {
        None
    }
}

/// An image that runs the other flavour's server.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "image {image} runs {found} (its repository name contains {marker:?}) but flavour is {flavour:?}: members of \
     the two servers cannot form one ensemble, and flavour cannot change once set. Give a {flavour:?} image \
     (or leave image unset for the default), or delete and re-create the ensemble with flavour: {found_flavour:?}; \
     if the image does run the {flavour:?} server, annotate the ZkEnsemble with {SKIP_CHECK_ANNOTATION}=true"
)]
pub struct ImageMismatch {
    /// The image given.
    pub image: String,
    /// The flavour in the spec.
    pub flavour: ServerFlavour,
    /// The flavour the image's name shows.
    pub found_flavour: ServerFlavour,
    /// That flavour's server, in words.
    pub found: &'static str,
    /// What in the name gave it away.
    pub marker: &'static str,
}

/// Checks that `image` runs the flavour of `zk`, unless the annotation turns the check off.
pub fn check_image(zk: &ZkEnsemble, image: &str) -> Result<(), ImageMismatch> {
    if zk
        .annotations()
        .get(SKIP_CHECK_ANNOTATION)
        .is_some_and(|v| v == "true")
    {
        return Ok(());
    }
    match image_flavour(image) {
        Some(found) if found != zk.spec.flavour => Err(ImageMismatch {
            image: image.to_string(),
            flavour: zk.spec.flavour,
            found_flavour: found,
            found: match found {
                ServerFlavour::Native => "this project's zk-server",
                ServerFlavour::Apache => "Apache ZooKeeper",
            },
            marker: match found {
                ServerFlavour::Native => "zk-server",
                ServerFlavour::Apache => "zookeeper",
            },
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_name_tells_the_flavour() {
        for (image, want) in [
            ("zookeeper:3.8", Some(ServerFlavour::Apache)),
            (
                "docker.io/library/zookeeper:3.9.2",
                Some(ServerFlavour::Apache),
            ),
            ("zkops.local/zookeeper:3.8.0", Some(ServerFlavour::Apache)),
            ("bitnami/zookeeper@sha256:0123", Some(ServerFlavour::Apache)),
            ("zkops.local/zk-server:0.1.0", Some(ServerFlavour::Native)),
            ("registry:5000/team/zk-server", Some(ServerFlavour::Native)),
            // The registry host and the tag are not the repository name.
            (
                "zookeeper.example:5000/zk-server:zookeeper",
                Some(ServerFlavour::Native),
            ),
            ("registry:5000/kv/store:1", None),
        ] {
            assert_eq!(image_flavour(image), want, "{image}");
        }
    }

    #[test]
    fn the_native_default_matches_the_operator_version() {
        let image = native_image();
        assert!(image.ends_with(&format!(":{}", env!("CARGO_PKG_VERSION"))));
        assert_eq!(image_flavour(&image), Some(ServerFlavour::Native));
        assert_eq!(image_flavour(APACHE_IMAGE), Some(ServerFlavour::Apache));
    }
}
