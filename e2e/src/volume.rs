//! A member volume that can really fill up. The provisioner (local-path, on both backends) makes every volume
//! a directory on the node's own disk, so filling one would fill the node's. Instead an ext4 file system of a
//! few tens of MiB, on a loop device over a file on a node, is mounted there, and a `local` PersistentVolume on
//! that mount, with node affinity to the node, is bound in advance (`claimRef`) to the claim the operator will
//! create for one member: the PV controller binds a claim to the volume reserved for it as soon as the claim
//! appears, before the provisioner sees it, so the member starts on the small file system (its pod scheduled to
//! that node) while the others get their usual directories. The volume's class is the cluster's default class
//! (the one the claim gets), its reclaim policy `Retain`, so that nothing but [`SmallVolume::remove`] touches the
//! file system.
//!
//! Everything on the node is done by shell scripts run through [`NodeShell`]: as root on this machine, the
//! local backend's only node, or in a kind worker's container through `docker exec` (a privileged container,
//! which shares the host's loop devices; the kubelet runs in it, so a mount made there is the one it sees). The
//! file system is made without reserved blocks (`mkfs.ext4 -m 0`), so a file written as root fills it for the
//! member as well. [`SmallVolume::remove`] (and, if it was not called, dropping the value) unmounts the file
//! system, detaches the loop device, deletes the PersistentVolume and the backing file, whatever happened.

use k8s_openapi::api::core::v1::{Node, PersistentVolume};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt};
use zk_operator::resources::pod::MEMBER_UID;

use crate::command::run;
use crate::error::kube_err;
use crate::node::NodeShell;
use crate::{Error, Result};

/// The annotation that marks the cluster's default storage class.
const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// The label of a control-plane node, where members are not scheduled when there are workers.
const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

/// The node's directory that holds each small volume's directory (named after its PersistentVolume), with the
/// backing file `volume.img` and the mount point `mnt`. On kind, `/var` is a volume of the node's container.
const NODE_DIR: &str = "/var/tmp/zkops-small-volume";

/// Makes the file system and mounts it: `$1` the volume's directory, `$2` its size in MiB, `$3` the member's
/// uid. The directories a member mounts from its volume (see the operator's `resources::pod`) are made in
/// advance and owned by the member's user, as the provisioner's directories are writable by it. A loop device
/// the kernel adds for `losetup --find` has no node yet in a kind node's `/dev` (the engine copied the host's
/// devices when it started the container), so the script makes it.
const CREATE: &str = r#"set -eu
mkdir -p "$1/mnt"
truncate -s "$2M" "$1/volume.img"
mkfs.ext4 -q -F -m 0 "$1/volume.img"
device=$(losetup --find)
[ -e "$device" ] || mknod "$device" b 7 "${device#/dev/loop}"
losetup "$device" "$1/volume.img"
mount "$device" "$1/mnt"
mkdir "$1/mnt/data" "$1/mnt/datalog" "$1/mnt/conf"
chown -R "$3:$3" "$1/mnt"
chmod 0777 "$1/mnt"
echo "$device"
"#;

/// Fills the file system mounted at `$1` with a file of its own, `filler`, until a write is refused for want
/// of space (in MiB blocks, then in 4 KiB ones), syncs it (so the member's next allocation fails) and prints
/// its size in bytes.
const FILL: &str = r#"set -eu
for block in 1M 4K; do
    out=$(dd if=/dev/zero of="$1/filler" bs=$block oflag=append conv=notrunc 2>&1) || case $out in
        *"No space left on device"*) ;;
        *) echo "$out" >&2; exit 1 ;;
    esac
done
sync "$1/filler"
stat -c %s "$1/filler"
"#;

/// Deletes the filler of the file system mounted at `$1`: the space is free again once the deletion is
/// committed to the file system's journal, which syncing the directory does at once.
const FREE: &str = r#"set -eu
rm "$1/filler"
sync "$1"
"#;

/// Undoes [`CREATE`] for the volume's directory `$1`, ignoring what is undone already: unmounts lazily (the
/// member's pod may still be terminating), detaches the loop device (the kernel does so once the last user is
/// gone) and deletes the directory with the backing file.
const TEARDOWN: &str = r#"umount -l "$1/mnt" 2>/dev/null
for device in $(losetup -j "$1/volume.img" | cut -d: -f1); do losetup -d "$device"; done
rm -rf "$1"
"#;

/// A small file system on a loop device, mounted on a node and offered to one member's claim as a
/// PersistentVolume; see the module's doc.
pub struct SmallVolume {
    /// Name of the PersistentVolume.
    pv: String,
    /// How scripts run on the volume's node.
    shell: NodeShell,
    /// Whether [`SmallVolume::remove`] has run.
    removed: bool,
}

impl SmallVolume {
    /// Makes a file system of `mib` MiB on a node where the member of `claim` can run, and a
    /// PersistentVolume of `capacity` (what the claim asks for) bound in advance to claim `claim` of
    /// `namespace`.
    pub async fn create(
        client: &Client,
        namespace: &str,
        claim: &str,
        capacity: &str,
        mib: u64,
    ) -> Result<Self> {
        let node = volume_node(client).await?;
        let class = default_class(client).await?;
        let volume = SmallVolume {
            pv: format!("{namespace}-{claim}"),
            shell: NodeShell::of(&node),
            removed: false,
        };
        // What a run that was killed before its teardown left behind.
        volume.shell.run(TEARDOWN, &[volume.dir().as_str()]).await?;
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

        let uid = MEMBER_UID.to_string();
        let device = volume
            .shell
            .run(CREATE, &[volume.dir().as_str(), &mib.to_string(), &uid])
            .await?;
        let hostname = node
            .labels()
            .get("kubernetes.io/hostname")
            .cloned()
            .unwrap_or_else(|| node.name_any());
        let manifest: PersistentVolume = serde_json::from_value(serde_json::json!({
            "metadata": {"name": volume.pv},
            "spec": {
                "capacity": {"storage": capacity},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": class,
                "claimRef": {"namespace": namespace, "name": claim},
                "local": {"path": volume.mount_point()},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [hostname]}
                ]}]}},
            }
        }))
        .map_err(|e| Error::Unexpected(format!("PersistentVolume manifest: {e}")))?;
        pvs.create(&PostParams::default(), &manifest)
            .await
            .map_err(kube_err("create the small PersistentVolume"))?;
        tracing::info!(
            pv = %volume.pv,
            node = %node.name_any(),
            device = device.trim(),
            mib,
            "small volume ready for {namespace}/{claim}"
        );
        Ok(volume)
    }

    /// Name of the PersistentVolume.
    pub fn name(&self) -> &str {
        &self.pv
    }

    /// Fills the file system from the node with a file of its own, until a write is refused for want of
    /// space; returns how many bytes the file took.
    pub async fn fill(&self) -> Result<u64> {
        let size = self.shell.run(FILL, &[self.mount_point().as_str()]).await?;
        size.trim()
            .parse()
            .map_err(|e| Error::Unexpected(format!("size of the filler {size:?}: {e}")))
    }

    /// Deletes the file [`SmallVolume::fill`] wrote, and syncs the deletion.
    pub async fn free(&self) -> Result<()> {
        self.shell
            .run(FREE, &[self.mount_point().as_str()])
            .await
            .map(drop)
    }

    /// Deletes the PersistentVolume (without waiting: it goes once its claim, deleted with the namespace,
    /// is gone) and undoes the file system's set-up on the node.
    pub async fn remove(mut self) -> Result<()> {
        self.removed = true;
        let deleted = run("kubectl", &self.delete_pv()).await;
        let torn_down = self.shell.run(TEARDOWN, &[self.dir().as_str()]).await;
        deleted.and(torn_down).map(drop)
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

    /// The volume's directory on the node.
    fn dir(&self) -> String {
        format!("{NODE_DIR}/{}", self.pv)
    }

    /// Where the file system is mounted on the node.
    fn mount_point(&self) -> String {
        format!("{}/mnt", self.dir())
    }
}

impl Drop for SmallVolume {
    /// A scenario that failed before [`SmallVolume::remove`] still leaves nothing behind.
    fn drop(&mut self) {
        if !self.removed {
            let _ = std::process::Command::new("kubectl")
                .args(self.delete_pv())
                .status();
            self.shell.run_blocking(TEARDOWN, &[self.dir().as_str()]);
        }
    }
}

/// The node for a small volume: the first, by name, of the nodes without the control-plane role (a kind
/// cluster's workers), else the cluster's only node (the local backend's, which is this machine).
async fn volume_node(client: &Client) -> Result<Node> {
    let mut nodes = Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await
        .map_err(kube_err("list nodes"))?
        .items;
    nodes.sort_by_key(|n| n.name_any());
    let workers = nodes
        .iter()
        .position(|n| !n.labels().contains_key(CONTROL_PLANE_LABEL));
    match (workers, nodes.len()) {
        (Some(first), _) => Ok(nodes.swap_remove(first)),
        (None, 1) => Ok(nodes.remove(0)),
        (None, count) => Err(Error::Unexpected(format!(
            "no node for a small volume: {count} nodes, all of the control plane"
        ))),
    }
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
