//! Keeping the configuration files in step with the committed membership, as Apache does when
//! `reconfigEnabled`: every committed version is written to `<cfg>.dynamic.<hex version>` and the
//! static file is repointed at it (`clientPort` leaves the static file once this member's server
//! line carries its client address).
//!
//! When: synchronously, from the apply of the membership entry, before the new
//! `/zookeeper/config` becomes visible to any client (the state machine calls
//! [`MembershipFiles::write`] while it holds its lock), and at start-up before the client port
//! is opened (versions applied while the consensus layer started are written when the writer is
//! installed). Each file goes to a temporary file, is fsynced, renamed over its name, and the
//! directory fsynced; so a member never answers with a configuration whose files are not
//! complete on disk. Membership entries are rare: normal writes never touch the disk here.
//!
//! Why in the apply rather than in `srvr` or the client path: the apply is the one place every
//! new configuration passes through on every member, in log order, before any client can read
//! it, so no reader has to wait on a writer. One gap is left: the mode `srvr` reports follows the
//! consensus layer's membership, which takes effect when its entry is appended, a moment before
//! the entry is committed and applied; a member newly made a voter may report `follower` that
//! moment before its files are renamed into place.

use std::path::PathBuf;

use super::dynamic_file::write_dynamic_config;
use super::membership::Membership;

/// Writes the files of each committed configuration version of one member.
#[derive(Debug)]
pub struct MembershipFiles {
    static_path: PathBuf,
    my_id: u64,
    written: Option<i64>,
}

impl MembershipFiles {
    /// The writer for the static file `static_path` of member `my_id`; `written` is the version
    /// the files already hold (from `dynamicConfigFile`), if any.
    pub fn new(static_path: PathBuf, my_id: u64, written: Option<i64>) -> MembershipFiles {
        MembershipFiles {
            static_path,
            my_id,
            written,
        }
    }

    /// Writes the files for the `/zookeeper/config` text `config_text` (unless they hold it
    /// already); a failure is logged, as Apache logs it, and the member goes on.
    pub fn write(&mut self, config_text: &str) {
        let Ok(membership) = Membership::from_config_text(config_text) else {
            return;
        };
        if membership.servers.is_empty() || self.written == Some(membership.version) {
            return;
        }
        let erase_client_address = membership
            .servers
            .get(&self.my_id)
            .is_some_and(|spec| spec.client.is_some());
        match write_dynamic_config(&self.static_path, &membership, erase_client_address) {
            Ok(path) => {
                tracing::info!(file = %path.display(), version = format_args!("{:x}", membership.version), "configuration written");
                self.written = Some(membership.version);
            }
            Err(e) => tracing::warn!(error = %e, "writing the dynamic configuration failed"),
        }
    }
}
