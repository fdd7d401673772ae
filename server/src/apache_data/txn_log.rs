//! Apache's transaction log file `version-2/log.<zxid>` (the zxid of its first transaction).
//!
//! Layout (`FileTxnLog`, `Util.marshallTxnEntry`, `SerializeUtils.deserializeTxn`): the file
//! header (magic `ZKLG`, version 2, dbid 0), then one record per transaction: the Adler-32
//! checksum of the transaction bytes (a long), the transaction bytes (an int length, then the
//! bytes), and the end-of-record byte `'B'`. The bytes are a `TxnHeader` (client id, cxid, zxid,
//! time, type) and the record of its type; 3.6+ appends a digest, which is ignored. Apache
//! preallocates log files with zeros, so a zero length is the end of the file; a record cut short
//! (the file ends inside it, or its end byte is not `'B'`) is a torn tail, where Apache stops
//! reading the file too. A record whose checksum does not match is corruption: an error.

use std::path::Path;

use zk_proto::{Acl, DecodeError, Reader};

use super::ApacheDataError;
use super::files::FileReader;
use crate::tree::{CONTAINER_OWNER, NodeKind};

/// The magic of a transaction log file.
pub const MAGIC: &[u8; 4] = b"ZKLG";

/// Apache's transaction types (`ZooDefs.OpCode`) found in logs.
mod types {
    pub const ERROR: i32 = -1;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const SET_DATA: i32 = 5;
    pub const SET_ACL: i32 = 7;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
}

/// One logged transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// The session that asked for it (`clientId`).
    pub session: i64,
    /// Its zxid.
    pub zxid: i64,
    /// The leader's time of the request, ms.
    pub time: i64,
    /// What it does.
    pub op: TxnOp,
}

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// A session was opened with this timeout.
    CreateSession {
        /// The negotiated timeout, ms.
        timeout_ms: i32,
    },
    /// The session was closed: its ephemerals go.
    CloseSession,
    /// A node was created (create, create2, createContainer, createTTL).
    Create {
        /// The path.
        path: String,
        /// The data.
        data: Option<Vec<u8>>,
        /// The ACL.
        acl: Vec<Acl>,
        /// Its `ephemeralOwner`: the session, the container marker, a TTL, or 0.
        owner: i64,
        /// The parent's cversion after the create, or -1 for "one more" (old logs).
        parent_cversion: i32,
    },
    /// A node was deleted (delete, deleteContainer).
    Delete {
        /// The path.
        path: String,
    },
    /// A node's data was replaced.
    SetData {
        /// The path.
        path: String,
        /// The data.
        data: Option<Vec<u8>>,
        /// The new data version.
        version: i32,
    },
    /// A node's ACL was replaced.
    SetAcl {
        /// The path.
        path: String,
        /// The ACL.
        acl: Vec<Acl>,
        /// The new ACL version.
        version: i32,
    },
    /// The ensemble's configuration changed (a reconfig).
    Reconfig,
    /// A version check of a multi, or a failed request: no change.
    NoChange,
    /// A multi whose operations all succeeded.
    Multi(Vec<TxnOp>),
    /// A multi that failed: no change.
    FailedMulti,
}

/// What one log file holds.
#[derive(Debug)]
pub struct LogFile {
    /// The transactions, in order, with the offset of each record.
    pub txns: Vec<(u64, Txn)>,
    /// Where a torn record cut the file short, if one did.
    pub torn_at: Option<u64>,
}

/// Reads the log in `bytes`, the content of `path`.
pub fn read(path: &Path, bytes: &[u8]) -> Result<LogFile, ApacheDataError> {
    let f = &mut FileReader::new(path, bytes);
    f.header(MAGIC)?;
    let mut txns = Vec::new();
    loop {
        let at = f.offset();
        let (sum, txn) = match next_record(&mut f.r) {
            Record::Txn { sum, bytes } => (sum, bytes),
            Record::End => {
                return Ok(LogFile {
                    txns,
                    torn_at: None,
                });
            }
            Record::Torn => {
                return Ok(LogFile {
                    txns,
                    torn_at: Some(at as u64),
                });
            }
        };
        let computed = super::files::adler32(txn);
        if sum != computed {
            return Err(f.error_at(
                at,
                format!("checksum mismatch: stored {sum:#x}, computed {computed:#x}"),
            ));
        }
        let txn = parse(&mut Reader::new(txn)).map_err(f.decode_error(at))?;
        txns.push((at as u64, txn));
    }
}

/// One record slot of a log.
enum Record<'a> {
    /// A whole record: the stored checksum and the transaction bytes.
    Txn { sum: i64, bytes: &'a [u8] },
    /// No more records: the file ends, or the zeros of its preallocated tail begin.
    End,
    /// A record cut short.
    Torn,
}

fn next_record<'a>(r: &mut Reader<'a>) -> Record<'a> {
    if r.remaining() == 0 {
        return Record::End;
    }
    let (Ok(sum), Ok(len)) = (r.long(), r.int()) else {
        return Record::Torn;
    };
    if len == 0 {
        return Record::End;
    }
    let rest = r.rest();
    match usize::try_from(len) {
        Ok(len) if len < rest.len() && rest[len] == b'B' => {
            *r = Reader::new(&rest[len + 1..]);
            Record::Txn {
                sum,
                bytes: &rest[..len],
            }
        }
        _ => Record::Torn,
    }
}

/// Parses a transaction: the header, then the record of its type.
fn parse(r: &mut Reader<'_>) -> Result<Txn, DecodeError> {
    let session = r.long()?;
    let _cxid = r.int()?;
    let zxid = r.long()?;
    let time = r.long()?;
    let kind = r.int()?;
    let op = match kind {
        types::MULTI => {
            let count = r.count()?.unwrap_or(0);
            let mut ops = Vec::with_capacity(count.min(1 << 12));
            let mut failed = false;
            for _ in 0..count {
                let kind = r.int()?;
                let body = r.buffer()?;
                failed |= kind == types::ERROR;
                ops.push(parse_op(kind, session, &mut Reader::new(&body))?);
            }
            if failed {
                TxnOp::FailedMulti
            } else {
                TxnOp::Multi(ops)
            }
        }
        kind => parse_op(kind, session, r)?,
    };
    Ok(Txn {
        session,
        zxid,
        time,
        op,
    })
}

/// Parses the record of one operation of type `kind`, asked for by `session`.
fn parse_op(kind: i32, session: i64, r: &mut Reader<'_>) -> Result<TxnOp, DecodeError> {
    use types::*;
    Ok(match kind {
        CREATE | CREATE2 => {
            let (path, data, acl) = (r.string()?, r.opt_buffer()?, r.vec()?);
            let ephemeral = r.bool()?;
            // Logs of 3.3 and older have no parent cversion (`CreateTxnV0`).
            let parent_cversion = if r.remaining() >= 4 { r.int()? } else { -1 };
            TxnOp::Create {
                path,
                data,
                acl,
                owner: if ephemeral { session } else { 0 },
                parent_cversion,
            }
        }
        CREATE_CONTAINER | CREATE_TTL => {
            let (path, data, acl) = (r.string()?, r.opt_buffer()?, r.vec()?);
            let parent_cversion = r.int()?;
            let owner = match kind {
                CREATE_TTL => NodeKind::Ttl(r.long()?).owner(),
                _ => CONTAINER_OWNER,
            };
            TxnOp::Create {
                path,
                data,
                acl,
                owner,
                parent_cversion,
            }
        }
        DELETE | DELETE_CONTAINER => TxnOp::Delete { path: r.string()? },
        SET_DATA => TxnOp::SetData {
            path: r.string()?,
            data: r.opt_buffer()?,
            version: r.int()?,
        },
        SET_ACL => TxnOp::SetAcl {
            path: r.string()?,
            acl: r.vec()?,
            version: r.int()?,
        },
        RECONFIG => TxnOp::Reconfig,
        CHECK | ERROR => TxnOp::NoChange,
        CREATE_SESSION => TxnOp::CreateSession {
            timeout_ms: r.int()?,
        },
        CLOSE_SESSION => TxnOp::CloseSession,
        other => {
            return Err(DecodeError::InvalidValue {
                field: "transaction type",
                value: i64::from(other),
            });
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use zk_proto::{Id, Writer, perms};

    use super::*;

    /// Builds a log file the way Apache writes one.
    pub(crate) struct LogBuilder {
        w: Writer,
    }

    impl LogBuilder {
        pub(crate) fn new() -> Self {
            let mut w = Writer::new();
            w.raw(MAGIC);
            w.int(2);
            w.long(0);
            LogBuilder { w }
        }

        /// Appends a transaction of type `kind` whose record is written by `body`.
        pub(crate) fn txn(
            mut self,
            session: i64,
            zxid: i64,
            kind: i32,
            body: impl FnOnce(&mut Writer),
        ) -> Self {
            let mut t = Writer::new();
            t.long(session);
            t.int(0);
            t.long(zxid);
            t.long(1000 + zxid);
            t.int(kind);
            body(&mut t);
            let t = t.into_bytes();
            self.w.long(super::super::files::adler32(&t));
            self.w.buffer(&t);
            self.w.raw(b"B");
            self
        }

        pub(crate) fn bytes(self) -> Vec<u8> {
            self.w.into_bytes().to_vec()
        }
    }

    /// The record of a create of `path` with `data` (open ACL).
    pub(crate) fn create(path: &str, data: &[u8], ephemeral: bool) -> impl FnOnce(&mut Writer) {
        let (path, data) = (path.to_string(), data.to_vec());
        move |w| {
            w.string(&path);
            w.buffer(&data);
            w.vec(&crate::tree::open_acl());
            w.bool(ephemeral);
            w.int(-1);
        }
    }

    fn path() -> PathBuf {
        PathBuf::from("version-2/log.1")
    }

    #[test]
    fn every_transaction_type_is_parsed() {
        let acl = vec![Acl {
            perms: perms::READ,
            id: Id::new("ip", "10.0.0.0/8"),
        }];
        let acl2 = acl.clone();
        let inner = |kind: i32, body: &dyn Fn(&mut Writer)| {
            let mut b = Writer::new();
            body(&mut b);
            (kind, b.into_bytes().to_vec())
        };
        let ops = [
            inner(types::CREATE_CONTAINER, &|w| {
                w.string("/m/c");
                w.buffer(b"");
                w.vec(&crate::tree::open_acl());
                w.int(3);
            }),
            inner(types::CHECK, &|w| {
                w.string("/m");
                w.int(0);
            }),
            inner(types::DELETE, &|w| w.string("/m/x")),
        ];
        let bytes = LogBuilder::new()
            .txn(7, 1, types::CREATE_SESSION, |w| w.int(30_000))
            .txn(7, 2, types::CREATE2, create("/e", b"d", true))
            .txn(7, 3, types::CREATE_TTL, |w| {
                w.string("/t");
                w.buffer(b"");
                w.vec(&crate::tree::open_acl());
                w.int(1);
                w.long(5000);
            })
            .txn(7, 4, types::SET_DATA, |w| {
                w.string("/e");
                w.opt_buffer(None);
                w.int(2);
            })
            .txn(7, 5, types::SET_ACL, move |w| {
                w.string("/e");
                w.vec(&acl2);
                w.int(1);
            })
            .txn(7, 6, types::MULTI, |w| {
                w.int(ops.len() as i32);
                for (kind, body) in &ops {
                    w.int(*kind);
                    w.buffer(body);
                }
            })
            .txn(7, 7, types::MULTI, |w| {
                w.int(1);
                w.int(types::ERROR);
                w.buffer(&(-101i32).to_be_bytes());
            })
            .txn(7, 8, types::RECONFIG, |w| {
                w.string("/zookeeper/config");
                w.buffer(b"server.1=x");
                w.int(-1);
            })
            .txn(7, 9, types::CLOSE_SESSION, |w| w.int(0))
            .bytes();
        let log = read(&path(), &bytes).unwrap();
        assert_eq!(log.torn_at, None);
        let ops: Vec<TxnOp> = log.txns.into_iter().map(|(_, t)| t.op).collect();
        assert_eq!(ops[0], TxnOp::CreateSession { timeout_ms: 30_000 });
        assert!(matches!(
            &ops[1],
            TxnOp::Create {
                owner: 7,
                parent_cversion: -1,
                ..
            }
        ));
        assert!(
            matches!(&ops[2], TxnOp::Create { owner, .. } if NodeKind::from_owner(*owner) == NodeKind::Ttl(5000))
        );
        assert_eq!(
            ops[3],
            TxnOp::SetData {
                path: "/e".into(),
                data: None,
                version: 2
            }
        );
        assert_eq!(
            ops[4],
            TxnOp::SetAcl {
                path: "/e".into(),
                acl,
                version: 1
            }
        );
        let TxnOp::Multi(multi) = &ops[5] else {
            panic!("{:?}", ops[5])
        };
        assert!(matches!(
            &multi[0],
            TxnOp::Create {
                owner: CONTAINER_OWNER,
                parent_cversion: 3,
                ..
            }
        ));
        assert_eq!(multi[1], TxnOp::NoChange);
        assert_eq!(
            multi[2],
            TxnOp::Delete {
                path: "/m/x".into()
            }
        );
        assert_eq!(ops[6], TxnOp::FailedMulti);
        assert_eq!(ops[7], TxnOp::Reconfig);
        assert_eq!(ops[8], TxnOp::CloseSession);
    }

    #[test]
    fn a_torn_or_preallocated_tail_ends_the_file() {
        let bytes = LogBuilder::new()
            .txn(1, 1, types::CREATE, create("/a", b"1", false))
            .txn(1, 2, types::CREATE, create("/b", b"2", false))
            .bytes();
        let mut zeros = bytes.clone();
        zeros.extend(std::iter::repeat_n(0, 4096));
        let log = read(&path(), &zeros).unwrap();
        assert_eq!((log.txns.len(), log.torn_at), (2, None));
        for cut in [bytes.len() - 1, bytes.len() - 10, bytes.len() - 30] {
            let log = read(&path(), &bytes[..cut]).unwrap();
            assert_eq!(log.txns.len(), 1);
            assert!(log.torn_at.is_some());
        }
        let mut no_end = bytes.clone();
        let last = no_end.len() - 1;
        no_end[last] = 0;
        assert_eq!(read(&path(), &no_end).unwrap().txns.len(), 1);
    }

    #[test]
    fn bad_magic_and_bad_checksums_are_errors_naming_file_and_offset() {
        let bytes = LogBuilder::new()
            .txn(1, 1, types::CREATE, create("/a", b"1", false))
            .bytes();
        let mut magic = bytes.clone();
        magic[1] = b'Q';
        let err = read(&path(), &magic).unwrap_err().to_string();
        assert!(
            err.contains("log.1") && err.contains("offset 0") && err.contains("magic"),
            "{err}"
        );
        let mut flipped = bytes.clone();
        let near_end = flipped.len() - 3;
        flipped[near_end] ^= 1;
        let err = read(&path(), &flipped).unwrap_err().to_string();
        assert!(
            err.contains("offset 16") && err.contains("checksum"),
            "{err}"
        );
        let unknown = LogBuilder::new().txn(1, 1, 99, |_| {}).bytes();
        let err = read(&path(), &unknown).unwrap_err().to_string();
        assert!(err.contains("transaction type"), "{err}");
    }
}
