//! A member volume that can really fill up. The local backend's provisioner (local-path) makes every volume a
//! directory on the node's own disk, so filling one would fill the node's. Instead an ext4 file system of a few
//! tens of MiB, on a loop device over a file on the node (the test runs as root on it), is mounted there, and a
//! `local` PersistentVolume on that mount, with node affinity to the node, is bound in advance (`claimRef`) to the
//! claim the operator will create for one member: the PV controller binds a claim to the volume reserved for it as
//! soon as the claim appears, before the provisioner sees it, so the member starts on the small file system while
//! the others get their usual directories. The volume's class is the cluster's default class (the one the claim
//! gets), its reclaim policy `Retain`, so that nothing but [`SmallVolume::remove`] touches the file system.
//!
//! The file system is made without reserved blocks (`mkfs.ext4 -m 0`), so a file written as root fills it for
//! the member as well. [`SmallVolume::remove`] (and, if it was not called, dropping the value) unmounts the file
//! system, detaches the loop device, deletes the PersistentVolume and the backing file, whatever happened. Only
//! the local backend is supported: on kind the node is a container and the mount would have to be made in it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::{Node, PersistentVolume};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt};
use zk_operator::resources::pod::MEMBER_UID;

use crate::command::run;
use crate::error::kube_err;
use crate::{Error, Result};

/// The annotation that marks the cluster's default storage class.
const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// The directories a member mounts from its volume (see the operator's `resources::pod`): made in advance and
/// owned by the member's user, as the provisioner's directories are writable by it.
const MEMBER_DIRS: [&str; 3] = ["data", "datalog", "conf"];

/// A small file system on a loop device, mounted on the node and offered to one member's claim as a
/// PersistentVolume; see the module's doc.
pub struct SmallVolume {
    /// Name of the PersistentVolume.
    pv: String,
    /// Where the backing file and the mount point are.
    dir: PathBuf,
    /// The loop device, once attached.
    device: Option<String>,
    /// Whether the file system is mounted.
    mounted: bool,
}

impl SmallVolume {
    /// Makes a file system of `mib` MiB under `dir` (created, or emptied of a previous run's) and a
    /// PersistentVolume of `capacity` (what the claim asks for) bound in advance to claim `claim` of
    /// `namespace`.
    pub async fn create(
        client: &Client,
        namespace: &str,
        claim: &str,
        capacity: &str,
        mib: u64,
        dir: &Path,
    ) -> Result<Self> {
        let node = only_node(client).await?;
        let class = default_class(client).await?;
        let mut volume = SmallVolume {
            pv: format!("{namespace}-{claim}"),
            dir: dir.to_path_buf(),
            device: None,
            mounted: false,
        };
        // What a run that was killed before its teardown left behind.
        volume.mounted = true;
        volume.device = attached_device(&volume.image()).await;
        volume.teardown();
        let pvs: Api<PersistentVolume> = Api::all(client.clone());
        if pvs
            .get_opt(&volume.pv)
            .await
            .map_err(kube_err("get PersistentVolume"))?
            .is_some()
        {
            run(
                "kubectl",
                &["delete", "pv", &volume.pv, "--wait=true", "--timeout=120s"],
            )
            .await?;
        }

        std::fs::create_dir_all(volume.mount_point()).map_err(io_err("create the mount point"))?;
        std::fs::File::create(volume.image())
            .and_then(|f| f.set_len(mib << 20))
            .map_err(io_err("create the backing file"))?;
        let image = volume.image().display().to_string();
        let device = run("losetup", &["--find", "--show", &image]).await?;
        let device = device.trim().to_string();
        volume.device = Some(device.clone());
        run("mkfs.ext4", &["-q", "-m", "0", &device]).await?;
        let mount_point = volume.mount_point().display().to_string();
        run("mount", &[&device, &mount_point]).await?;
        volume.mounted = true;
        for dir in MEMBER_DIRS {
            std::fs::create_dir(volume.mount_point().join(dir))
                .map_err(io_err("create a member directory"))?;
        }
        let owner = format!("{MEMBER_UID}:{MEMBER_UID}");
        run("chown", &["-R", &owner, &mount_point]).await?;
        run("chmod", &["0777", &mount_point]).await?;

        let manifest: PersistentVolume = serde_json::from_value(serde_json::json!({
            "metadata": {"name": volume.pv},
            "spec": {
                "capacity": {"storage": capacity},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": class,
                "claimRef": {"namespace": namespace, "name": claim},
                "local": {"path": mount_point},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
                ]}]}},
            }
        }))
        .map_err(|e| Error::Unexpected(format!("PersistentVolume manifest: {e}")))?;
        pvs.create(&PostParams::default(), &manifest)
            .await
            .map_err(kube_err("create the small PersistentVolume"))?;
        tracing::info!(pv = %volume.pv, %device, mib, "small volume ready for {namespace}/{claim}");
        Ok(volume)
    }

    /// Name of the PersistentVolume.
    pub fn name(&self) -> &str {
        &self.pv
    }

    /// Fills the file system from the node with a file of its own, until a write is refused for want of
    /// space; returns how many bytes the file took.
    pub fn fill(&self) -> Result<u64> {
        let mut file = std::fs::File::create(self.filler()).map_err(io_err("create the filler"))?;
        let mut written = 0u64;
        for block in [1 << 20, 4 << 10] {
            let bytes = vec![0xa5u8; block];
            loop {
                match file.write_all(&bytes) {
                    Ok(()) => written += block as u64,
                    Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                    Err(e) => return Err(io_err("fill the volume")(e)),
                }
            }
        }
        // What went into the page cache is on the device, and the member's next allocation fails.
        let _ = file.sync_all();
        Ok(written)
    }

    /// Deletes the file [`SmallVolume::fill`] wrote: the space is free again once the deletion is committed to
    /// the file system's journal, which syncing the directory does at once.
    pub fn free(&self) -> Result<()> {
        std::fs::remove_file(self.filler()).map_err(io_err("remove the filler"))?;
        std::fs::File::open(self.mount_point())
            .and_then(|dir| dir.sync_all())
            .map_err(io_err("sync the volume"))
    }

    /// Deletes the PersistentVolume (without waiting: it goes once its claim, deleted with the namespace,
    /// is gone), unmounts the file system (lazily: the member's pod may still be terminating), detaches the
    /// loop device (the kernel does so once the last user is gone) and deletes the backing file.
    pub async fn remove(mut self) -> Result<()> {
        let deleted = run("kubectl", &self.delete_pv()).await;
        self.teardown();
        deleted.map(drop)
    }

    /// `kubectl` arguments that delete the PersistentVolume without waiting, if it exists.
    fn delete_pv(&self) -> [&str; 5] {
        [
            "delete",
            "pv",
            &self.pv,
            "--wait=false",
            "--ignore-not-found",
        ]
    }

    fn image(&self) -> PathBuf {
        self.dir.join("volume.img")
    }

    fn mount_point(&self) -> PathBuf {
        self.dir.join("mnt")
    }

    fn filler(&self) -> PathBuf {
        self.mount_point().join("filler")
    }

    /// Unmounts, detaches and deletes the backing file, ignoring what is already undone.
    fn teardown(&mut self) {
        if std::mem::take(&mut self.mounted) {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.mount_point())
                .stderr(Stdio::null())
                .status();
        }
        if let Some(device) = self.device.take() {
            let _ = Command::new("losetup")
                .args(["-d", &device])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_file(self.image());
    }
}

impl Drop for SmallVolume {
    /// A scenario that failed before [`SmallVolume::remove`] still leaves nothing behind.
    fn drop(&mut self) {
        if self.mounted || self.device.is_some() {
            let _ = Command::new("kubectl").args(self.delete_pv()).status();
            self.teardown();
        }
    }
}

/// The name of the cluster's only node (its `kubernetes.io/hostname` label), which must be this machine: the
/// local backend's.
async fn only_node(client: &Client) -> Result<String> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await
        .map_err(kube_err("list nodes"))?;
    let [node] = nodes.items.as_slice() else {
        return Err(Error::Unexpected(format!(
            "a small volume needs a cluster of one node, this machine; found {} nodes",
            nodes.items.len()
        )));
    };
    let provider = node.spec.as_ref().and_then(|s| s.provider_id.as_deref());
    if provider.is_some_and(|id| id.starts_with("kind://")) {
        return Err(Error::Unexpected(
            "a small volume is made on the local backend only (a kind node is a container)".into(),
        ));
    }
    Ok(node
        .labels()
        .get("kubernetes.io/hostname")
        .cloned()
        .unwrap_or_else(|| node.name_any()))
}

/// The name of the cluster's default storage class, which a claim without a class gets.
async fn default_class(client: &Client) -> Result<String> {
    let classes = Api::<StorageClass>::all(client.clone())
        .list(&Default::default())
        .await
        .map_err(kube_err("list storage classes"))?;
    classes
        .items
        .iter()
        .find(|c| {
            c.annotations()
                .get(DEFAULT_CLASS_ANNOTATION)
                .is_some_and(|v| v == "true")
        })
        .map(|c| c.name_any())
        .ok_or_else(|| Error::Unexpected("the cluster has no default storage class".into()))
}

/// The loop device attached to `image`, if one is.
async fn attached_device(image: &Path) -> Option<String> {
    let listed = run("losetup", &["-j", &image.display().to_string()])
        .await
        .ok()?;
    listed
        .split(':')
        .next()
        .map(str::to_string)
        .filter(|d| !d.is_empty())
}

/// Maps an I/O error to [`Error::Unexpected`] saying what was being done.
fn io_err(what: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::Unexpected(format!("{what}: {e}"))
}
