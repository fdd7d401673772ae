//! What a row sends: the operation ([`OpKind`]), how many sessions and requests in flight
//! ([`Concurrency`]), and which path each request names ([`Workload`]).
//!
//! Creates go to unique paths `<parent>/w<worker>-<seq>`. setData, getData and the mixes of both cycle over
//! a pool of nodes made beforehand by a one-session create run, so the pool's names follow the same pattern
//! (`w0-<i>`). A mix decides each request's operation from its number in the session ([`OpKind::op`]), so
//! every run sends the same sequence.

use std::fmt;
use std::str::FromStr;

use bytes::BytesMut;
use zk_proto::{
    Acl, CreateRequest, CreateResponse, GetDataRequest, GetDataResponse, Id, OpCode, Record,
    SetDataRequest, SetDataResponse, perms,
};

use crate::session::encode_request;

/// Spreads the sessions of a row over the pool: worker `w` starts `w * POOL_STRIDE` nodes further on.
const POOL_STRIDE: u64 = 7_919;

/// The ACL every benchmark node gets: world, all permissions.
pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id::new("world", "anyone"),
    }]
}

/// The operation of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// create of a persistent node at a unique path.
    Create,
    /// setData (any version) on a pool node.
    SetData,
    /// getData (no watch) of a pool node.
    GetData,
}

impl Op {
    /// The op code sent.
    pub fn code(self) -> OpCode {
        match self {
            Op::Create => OpCode::Create,
            Op::SetData => OpCode::SetData,
            Op::GetData => OpCode::GetData,
        }
    }
}

/// What a row measures: one operation, or a mix of setData and getData on the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Every request a create.
    Create,
    /// Every request a setData.
    SetData,
    /// Every request a getData.
    GetData,
    /// 90 % getData, 10 % setData: every 10th request of a session is a setData.
    Mixed90,
    /// 50 % getData, 50 % setData: every 2nd request of a session is a setData.
    Mixed50,
    /// No request: every "operation" opens a new connection and session (with the TLS handshake under
    /// `--tls`) and closes it.
    Connect,
}

impl OpKind {
    /// Every kind, in table order.
    pub const ALL: [OpKind; 6] = [
        OpKind::Create,
        OpKind::SetData,
        OpKind::GetData,
        OpKind::Mixed90,
        OpKind::Mixed50,
        OpKind::Connect,
    ];

    /// The operation of request `seq` (from 0) of a session: a mix sends setData as the last request of
    /// every group of 10 (mixed90) or 2 (mixed50) and getData otherwise.
    pub fn op(self, seq: u64) -> Op {
        let write_every = match self {
            OpKind::Connect => unreachable!("connect rows open sessions and send no request"),
            OpKind::Create => return Op::Create,
            OpKind::SetData => return Op::SetData,
            OpKind::GetData => return Op::GetData,
            OpKind::Mixed90 => 10,
            OpKind::Mixed50 => 2,
        };
        if seq % write_every == write_every - 1 {
            Op::SetData
        } else {
            Op::GetData
        }
    }

    /// Whether the rows of this kind work on the pool (everything but create and connect).
    pub fn uses_pool(self) -> bool {
        !matches!(self, OpKind::Create | OpKind::Connect)
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpKind::Create => "create",
            OpKind::SetData => "setData",
            OpKind::GetData => "getData",
            OpKind::Mixed90 => "mixed90",
            OpKind::Mixed50 => "mixed50",
            OpKind::Connect => "connect",
        })
    }
}

impl FromStr for OpKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OpKind::ALL
            .into_iter()
            .find(|k| k.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown workload {s:?} (create, setData, getData, mixed90, mixed50, connect)"
                )
            })
    }
}

/// Sessions × requests in flight per session, written `8x32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// Concurrent sessions, each on its own connection.
    pub sessions: usize,
    /// Requests each session keeps outstanding.
    pub in_flight: usize,
}

impl fmt::Display for Concurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.sessions, self.in_flight)
    }
}

impl FromStr for Concurrency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("bad concurrency {s:?}: expected SESSIONSxIN_FLIGHT, e.g. 8x32");
        let (sessions, in_flight) = s.split_once(['x', '×']).ok_or_else(bad)?;
        let sessions: usize = sessions.trim().parse().map_err(|_| bad())?;
        let in_flight: usize = in_flight.trim().parse().map_err(|_| bad())?;
        if sessions == 0 || in_flight == 0 {
            return Err(bad());
        }
        Ok(Concurrency {
            sessions,
            in_flight,
        })
    }
}

/// The requests of one run: an operation on paths under `parent`.
#[derive(Debug, Clone)]
pub struct Workload {
    kind: OpKind,
    parent: String,
    pool: u64,
    value: Vec<u8>,
}

impl Workload {
    /// Creates of `value` at unique paths under `parent`.
    pub fn create(parent: impl Into<String>, value: Vec<u8>) -> Self {
        Workload {
            kind: OpKind::Create,
            parent: parent.into(),
            pool: 0,
            value,
        }
    }

    /// setData (of `value`), getData or a mix of both over the `pool` nodes that a one-session
    /// [`Workload::create`] run of `pool` requests made under `parent`.
    pub fn on_pool(kind: OpKind, parent: impl Into<String>, pool: u64, value: Vec<u8>) -> Self {
        Workload {
            kind,
            parent: parent.into(),
            pool: pool.max(1),
            value,
        }
    }

    /// The operation.
    pub fn kind(&self) -> OpKind {
        self.kind
    }

    /// The path of request number `seq` (from 0) of session `worker` (from 0).
    pub fn path(&self, worker: usize, seq: u64) -> String {
        if self.kind.uses_pool() {
            let node = (worker as u64 * POOL_STRIDE + seq) % self.pool;
            format!("{}/w0-{node}", self.parent)
        } else {
            format!("{}/w{worker}-{seq}", self.parent)
        }
    }

    /// Appends the frame of request `seq` of session `worker`, with `xid`, to `out`; returns its operation.
    pub fn encode(&self, out: &mut BytesMut, xid: i32, worker: usize, seq: u64) -> Op {
        let path = self.path(worker, seq);
        let op = self.kind.op(seq);
        let code = op.code();
        match op {
            Op::Create => {
                let body = CreateRequest {
                    path,
                    data: Some(self.value.clone()),
                    acl: open_acl(),
                    flags: 0,
                };
                encode_request(out, xid, code, &body);
            }
            Op::SetData => {
                let body = SetDataRequest {
                    path,
                    data: Some(self.value.clone()),
                    version: -1,
                };
                encode_request(out, xid, code, &body);
            }
            Op::GetData => {
                encode_request(out, xid, code, &GetDataRequest { path, watch: false });
            }
        }
        op
    }
}

impl Workload {
    /// Checks the body of a successful reply to `op`: a create names a path under the parent, a setData's
    /// stat and a getData's data have the value's length. A server that answers without doing the work
    /// would otherwise look fast.
    pub fn check_reply(&self, op: Op, body: &[u8]) -> Result<(), String> {
        let size = self.value.len();
        let length = match op {
            Op::Create => {
                let reply = CreateResponse::from_bytes(body).map_err(|e| e.to_string())?;
                return match reply.path.strip_prefix(self.parent.as_str()) {
                    Some(rest) if rest.starts_with('/') => Ok(()),
                    _ => Err(format!("create answered path {:?}", reply.path)),
                };
            }
            Op::SetData => {
                let reply = SetDataResponse::from_bytes(body).map_err(|e| e.to_string())?;
                usize::try_from(reply.stat.data_length).unwrap_or(usize::MAX)
            }
            Op::GetData => {
                let reply = GetDataResponse::from_bytes(body).map_err(|e| e.to_string())?;
                reply.data.map_or(usize::MAX, |d| d.len())
            }
        };
        if length == size {
            Ok(())
        } else {
            Err(format!(
                "{op:?} answered {length} bytes of data, expected {size}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use zk_proto::{RequestHeader, Stat};

    use super::*;

    #[test]
    fn concurrency_parses_and_prints() {
        let c: Concurrency = "8x32".parse().unwrap();
        assert_eq!(
            c,
            Concurrency {
                sessions: 8,
                in_flight: 32
            }
        );
        assert_eq!(c.to_string(), "8×32");
        assert_eq!("16×1".parse::<Concurrency>().unwrap().sessions, 16);
        assert!("0x1".parse::<Concurrency>().is_err());
        assert!("8".parse::<Concurrency>().is_err());
    }

    #[test]
    fn kinds_parse_case_insensitively() {
        assert_eq!("setdata".parse::<OpKind>().unwrap(), OpKind::SetData);
        assert_eq!("Mixed90".parse::<OpKind>().unwrap(), OpKind::Mixed90);
        assert!("delete".parse::<OpKind>().is_err());
    }

    #[test]
    fn mixes_write_every_nth_request_of_a_session() {
        let writes = |kind: OpKind, seqs: std::ops::Range<u64>| {
            seqs.filter(|&seq| kind.op(seq) == Op::SetData)
                .collect::<Vec<_>>()
        };
        assert_eq!(writes(OpKind::Mixed90, 0..30), [9, 19, 29]);
        assert_eq!(writes(OpKind::Mixed50, 0..6), [1, 3, 5]);
        assert_eq!(OpKind::Mixed90.op(0), Op::GetData);
        assert_eq!(OpKind::SetData.op(0), Op::SetData);
        assert!(OpKind::Mixed50.uses_pool() && !OpKind::Create.uses_pool());
    }

    #[test]
    fn a_mixed_request_is_encoded_and_checked_as_its_own_operation() {
        let mixed = Workload::on_pool(OpKind::Mixed50, "/p", 10, vec![1; 100]);
        let mut out = BytesMut::new();
        assert_eq!(mixed.encode(&mut out, 1, 0, 0), Op::GetData);
        assert_eq!(mixed.encode(&mut out, 2, 0, 1), Op::SetData);
        let second = &out[4 + i32::from_be_bytes(out[..4].try_into().unwrap()) as usize..];
        let header = RequestHeader::from_bytes(&second[4..]).unwrap();
        assert_eq!((header.xid, header.op_type), (2, OpCode::SetData.code()));
        let stat = |data_length| {
            SetDataResponse {
                stat: Stat {
                    data_length,
                    ..Stat::default()
                },
            }
            .to_bytes()
        };
        assert_eq!(mixed.check_reply(Op::SetData, &stat(100)), Ok(()));
        assert!(mixed.check_reply(Op::SetData, &stat(3)).is_err());
    }

    #[test]
    fn pool_reads_name_the_nodes_a_one_session_create_made() {
        let populate = Workload::create("/p", Vec::new());
        let made: Vec<String> = (0..10).map(|seq| populate.path(0, seq)).collect();
        let get = Workload::on_pool(OpKind::GetData, "/p", 10, Vec::new());
        for worker in 0..4 {
            for seq in 0..25 {
                assert!(made.contains(&get.path(worker, seq)));
            }
        }
        assert_ne!(get.path(0, 0), get.path(1, 0));
    }

    #[test]
    fn create_request_frame_carries_the_value() {
        let w = Workload::create("/c", vec![7; 100]);
        let mut out = BytesMut::new();
        assert_eq!(w.encode(&mut out, 42, 3, 9), Op::Create);
        let len = i32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
        assert_eq!(len, out.len() - 4);
        let header = RequestHeader::from_bytes(&out[4..]).unwrap();
        assert_eq!((header.xid, header.op_type), (42, 1));
        let body = CreateRequest::from_bytes(&out[12..]).unwrap();
        assert_eq!(body.path, "/c/w3-9");
        assert_eq!(body.data, Some(vec![7; 100]));
    }

    #[test]
    fn replies_are_checked_against_the_workload() {
        let get = Workload::on_pool(OpKind::GetData, "/p", 10, vec![1; 100]);
        let reply = |data: Option<Vec<u8>>| {
            GetDataResponse {
                data,
                stat: Stat::default(),
            }
            .to_bytes()
        };
        assert_eq!(
            get.check_reply(Op::GetData, &reply(Some(vec![0; 100]))),
            Ok(())
        );
        assert!(
            get.check_reply(Op::GetData, &reply(Some(Vec::new())))
                .is_err()
        );
        assert!(get.check_reply(Op::GetData, &reply(None)).is_err());
        assert!(get.check_reply(Op::GetData, &[]).is_err());

        let create = Workload::create("/c", vec![1; 100]);
        let path = |p: &str| CreateResponse { path: p.to_owned() }.to_bytes();
        assert_eq!(create.check_reply(Op::Create, &path("/c/w0-1")), Ok(()));
        assert!(create.check_reply(Op::Create, &path("/cx/w0-1")).is_err());
    }
}
