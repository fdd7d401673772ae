//! The log's small state beside the entries: vote, committed log id and purge mark.
//!
//! Each lives in its own single-record file replaced atomically. The vote and the purge mark are
//! fsynced before the call returns (Raft's safety depends on them); the committed log id is only
//! renamed into place, because losing it merely makes a restarted member wait for the leader (or,
//! alone, for its own election) before re-applying the tail of its log.

use std::io;
use std::path::{Path, PathBuf};

use super::record;
use crate::consensus::codec;
use crate::consensus::typ::{LogId, Vote};

/// Paths of the meta files of one log directory.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    dir: PathBuf,
}

impl Meta {
    /// The meta files live directly in `dir`.
    pub(crate) fn new(dir: &Path) -> Meta {
        Meta {
            dir: dir.to_path_buf(),
        }
    }

    /// The directory holding the files.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn read_vote(&self) -> io::Result<Option<Vote>> {
        self.read("vote")
    }

    pub(crate) fn save_vote(&self, vote: &Vote) -> io::Result<()> {
        record::write_single(&self.dir.join("vote"), &codec::encode(vote)?, true)
    }

    pub(crate) fn read_committed(&self) -> io::Result<Option<LogId>> {
        Ok(self.read::<Option<LogId>>("committed")?.flatten())
    }

    pub(crate) fn save_committed(&self, committed: &Option<LogId>) -> io::Result<()> {
        record::write_single(
            &self.dir.join("committed"),
            &codec::encode(committed)?,
            false,
        )
    }

    pub(crate) fn read_purged(&self) -> io::Result<Option<LogId>> {
        self.read("purged")
    }

    pub(crate) fn save_purged(&self, purged: &LogId) -> io::Result<()> {
        record::write_single(&self.dir.join("purged"), &codec::encode(purged)?, true)
    }

    fn read<T: serde::de::DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        record::read_single(&self.dir.join(name))?
            .map(|bytes| codec::decode(&bytes))
            .transpose()
    }
}
