//! Unit tests of every request type's checks and results, driven through the state machine as the
//! network layer drives it (commands applied in order, reads served locally).

use std::cell::Cell;

use zk_proto::*;

use crate::consensus::StateMachine;
use crate::state::{Command, Outcome, Settings, ZkState};

const SESSION: i64 = 0x100;
const EPOCH: i64 = 1 << 32;

/// A state with one open session; every write gets the next zxid.
struct Harness {
    state: ZkState,
    next: Cell<i64>,
    auth: Vec<Id>,
}

impl Harness {
    fn new() -> Self {
        Self::with(Settings::default())
    }

    fn with(settings: Settings) -> Self {
        let h = Harness {
            state: ZkState::new(settings),
            next: Cell::new(EPOCH),
            auth: vec![Id::new("ip", "127.0.0.1")],
        };
        h.command(Command::CreateSession {
            session_id: SESSION,
            timeout_ms: 4000,
            password: vec![0; 16],
        });
        h
    }

    fn command(&self, c: Command) -> Outcome {
        let zxid = self.next.get() + 1;
        self.next.set(zxid);
        Outcome::decode(&self.state.apply(zxid, &c.encode())).unwrap()
    }

    fn write(&self, op: OpCode, body: &impl Record) -> Outcome {
        self.command(Command::Request {
            session_id: SESSION,
            xid: 0,
            time_ms: 1_000 + self.next.get(),
            auth: self.auth.clone(),
            op_code: op.code(),
            body: body.to_bytes(),
        })
    }

    fn create(&self, path: &str, data: &[u8], mode: CreateMode) -> Result<String, i32> {
        let o = self.write(OpCode::Create, &create_req(path, data, mode));
        if o.err != 0 {
            Err(o.err)
        } else {
            Ok(CreateResponse::from_bytes(&o.body).unwrap().path)
        }
    }

    fn read<T: Record>(&self, op: OpCode, body: &impl Record) -> Result<T, i32> {
        let (err, body) = self.state.read(SESSION, &self.auth, op, &body.to_bytes());
        if err != 0 {
            Err(err)
        } else {
            Ok(T::from_bytes(&body).unwrap())
        }
    }

    fn stat(&self, path: &str) -> Stat {
        self.read::<ExistsResponse>(
            OpCode::Exists,
            &GetDataRequest {
                path: path.into(),
                watch: false,
            },
        )
        .unwrap()
        .stat
    }
}

fn create_req(path: &str, data: &[u8], mode: CreateMode) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        acl: tree_acl(),
        flags: mode.code(),
    }
}

fn tree_acl() -> Vec<Acl> {
    crate::tree::open_acl()
}

fn code(e: ErrorCode) -> i32 {
    e.code()
}

#[test]
fn create_follows_apache() {
    let h = Harness::new();
    assert_eq!(
        h.create("/app", b"", CreateMode::Persistent),
        Ok("/app".into())
    );
    assert_eq!(
        h.create("/app", b"", CreateMode::Persistent),
        Err(code(ErrorCode::NodeExists))
    );
    assert_eq!(
        h.create("/nope/x", b"", CreateMode::Persistent),
        Err(code(ErrorCode::NoNode))
    );
    assert_eq!(
        h.create("/app/", b"", CreateMode::Persistent),
        Err(code(ErrorCode::BadArguments))
    );
    assert_eq!(
        h.create("app", b"", CreateMode::Persistent),
        Err(code(ErrorCode::BadArguments))
    );
    assert_eq!(
        h.create("/", b"", CreateMode::Persistent),
        Err(code(ErrorCode::NodeExists))
    );
    let bad_flags = CreateRequest {
        flags: 9,
        ..create_req("/x", b"", CreateMode::Persistent)
    };
    assert_eq!(
        h.write(OpCode::Create, &bad_flags).err,
        code(ErrorCode::BadArguments)
    );
    let no_acl = CreateRequest {
        acl: vec![],
        ..create_req("/x", b"", CreateMode::Persistent)
    };
    assert_eq!(
        h.write(OpCode::Create, &no_acl).err,
        code(ErrorCode::InvalidAcl)
    );
    h.create("/app/eph", b"", CreateMode::Ephemeral).unwrap();
    assert_eq!(
        h.create("/app/eph/child", b"", CreateMode::Persistent),
        Err(code(ErrorCode::NoChildrenForEphemerals))
    );
    assert_eq!(h.stat("/app/eph").ephemeral_owner, SESSION);
}

#[test]
fn create2_returns_stat_and_moves_parent() {
    let h = Harness::new();
    h.create("/p", b"", CreateMode::Persistent).unwrap();
    let o = h.write(
        OpCode::Create2,
        &create_req("/p/c", b"abc", CreateMode::Persistent),
    );
    let r = Create2Response::from_bytes(&o.body).unwrap();
    assert_eq!(r.path, "/p/c");
    assert_eq!(
        (r.stat.czxid, r.stat.mzxid, r.stat.pzxid),
        (o.zxid, o.zxid, o.zxid)
    );
    assert_eq!(
        (r.stat.data_length, r.stat.version, r.stat.ctime),
        (3, 0, r.stat.mtime)
    );
    let p = h.stat("/p");
    assert_eq!((p.cversion, p.pzxid, p.num_children), (1, o.zxid, 1));
    assert!(p.mzxid < o.zxid);
}

#[test]
fn sequence_suffix_comes_from_parent_cversion() {
    let h = Harness::new();
    h.create("/app", b"", CreateMode::Persistent).unwrap();
    h.create("/app/cfg", b"", CreateMode::Persistent).unwrap();
    h.create("/app/eph", b"", CreateMode::Ephemeral).unwrap();
    assert_eq!(
        h.create("/app/seq-", b"a", CreateMode::PersistentSequential),
        Ok("/app/seq-0000000002".into())
    );
    assert_eq!(
        h.create("/app/seq-", b"b", CreateMode::PersistentSequential),
        Ok("/app/seq-0000000003".into())
    );
    assert_eq!(
        h.create("/app/eseq-", b"c", CreateMode::EphemeralSequential),
        Ok("/app/eseq-0000000004".into())
    );
    h.write(
        OpCode::Delete,
        &DeleteRequest {
            path: "/app/cfg".into(),
            version: -1,
        },
    );
    assert_eq!(
        h.create("/app/", b"", CreateMode::PersistentSequential),
        Ok("/app/0000000005".into())
    );
}

#[test]
fn delete_checks_in_order() {
    let h = Harness::new();
    h.create("/a", b"", CreateMode::Persistent).unwrap();
    h.create("/a/b", b"", CreateMode::Persistent).unwrap();
    let del = |p: &str, v: i32| {
        h.write(
            OpCode::Delete,
            &DeleteRequest {
                path: p.into(),
                version: v,
            },
        )
        .err
    };
    assert_eq!(del("/a", -1), code(ErrorCode::NotEmpty));
    assert_eq!(del("/a/b", 9), code(ErrorCode::BadVersion));
    assert_eq!(del("/a/x", -1), code(ErrorCode::NoNode));
    assert_eq!(del("/zookeeper", -1), code(ErrorCode::BadArguments));
    assert_eq!(del("/zookeeper/config", -1), code(ErrorCode::BadArguments));
    assert_eq!(del("/a/b", 0), 0);
    assert_eq!(del("/a/b", -1), code(ErrorCode::NoNode));
    let a = h.stat("/a");
    assert_eq!((a.cversion, a.num_children), (2, 0));
}

#[test]
fn set_data_versions_and_stat() {
    let h = Harness::new();
    h.create("/a", b"hello", CreateMode::Persistent).unwrap();
    let set = |v: i32| {
        h.write(
            OpCode::SetData,
            &SetDataRequest {
                path: "/a".into(),
                data: Some(b"world".to_vec()),
                version: v,
            },
        )
    };
    assert_eq!(set(5).err, code(ErrorCode::BadVersion));
    let o = set(0);
    let stat = SetDataResponse::from_bytes(&o.body).unwrap().stat;
    assert_eq!((stat.version, stat.mzxid, stat.data_length), (1, o.zxid, 5));
    assert!(stat.czxid < stat.mzxid);
    assert_eq!(set(-1).err, 0);
    let missing = SetDataRequest {
        path: "/b".into(),
        data: None,
        version: -1,
    };
    assert_eq!(
        h.write(OpCode::SetData, &missing).err,
        code(ErrorCode::NoNode)
    );
    let config = SetDataRequest {
        path: "/zookeeper/config".into(),
        data: None,
        version: -1,
    };
    assert_eq!(
        h.write(OpCode::SetData, &config).err,
        code(ErrorCode::NoAuth)
    );
}

#[test]
fn null_data_stays_null() {
    let h = Harness::new();
    let req = CreateRequest {
        data: None,
        ..create_req("/n", b"", CreateMode::Persistent)
    };
    assert_eq!(h.write(OpCode::Create, &req).err, 0);
    let r: GetDataResponse = h
        .read(
            OpCode::GetData,
            &GetDataRequest {
                path: "/n".into(),
                watch: false,
            },
        )
        .unwrap();
    assert_eq!(r.data, None);
}

#[test]
fn acls_are_enforced_per_op() {
    let mut h = Harness::new();
    let digest = Id::new("digest", crate::acl::digest_id("u:p"));
    h.auth.push(digest.clone());
    let req = CreateRequest {
        acl: vec![Acl {
            perms: perms::ALL,
            id: Id::new("auth", ""),
        }],
        ..create_req("/secret", b"s", CreateMode::Persistent)
    };
    assert_eq!(h.write(OpCode::Create, &req).err, 0);
    let acl: GetAclResponse = h
        .read(
            OpCode::GetAcl,
            &GetDataRequest {
                path: "/secret".into(),
                watch: false,
            },
        )
        .unwrap();
    assert_eq!(
        acl.acl,
        vec![Acl {
            perms: perms::ALL,
            id: digest.clone()
        }]
    );
    h.auth.pop();
    let get = GetDataRequest {
        path: "/secret".into(),
        watch: false,
    };
    assert_eq!(
        h.read::<GetDataResponse>(OpCode::GetData, &get),
        Err(code(ErrorCode::NoAuth))
    );
    assert_eq!(
        h.read::<GetAclResponse>(OpCode::GetAcl, &get),
        Err(code(ErrorCode::NoAuth))
    );
    assert_eq!(
        h.create("/secret/x", b"", CreateMode::Persistent),
        Err(code(ErrorCode::NoAuth))
    );
    assert!(
        h.read::<ExistsResponse>(OpCode::Exists, &get).is_ok(),
        "exists checks no ACL"
    );
    let set_acl = SetAclRequest {
        path: "/secret".into(),
        acl: tree_acl(),
        version: -1,
    };
    assert_eq!(
        h.write(OpCode::SetAcl, &set_acl).err,
        code(ErrorCode::NoAuth)
    );
    let auth_acl = SetAclRequest {
        path: "/secret".into(),
        acl: vec![Acl {
            perms: 31,
            id: Id::new("auth", ""),
        }],
        version: -1,
    };
    assert_eq!(
        h.write(OpCode::SetAcl, &auth_acl).err,
        code(ErrorCode::InvalidAcl)
    );
    h.auth.push(crate::acl::super_id());
    assert_eq!(
        h.write(
            OpCode::SetAcl,
            &SetAclRequest {
                version: 5,
                ..set_acl.clone()
            }
        )
        .err,
        code(ErrorCode::BadVersion)
    );
    let o = h.write(OpCode::SetAcl, &set_acl);
    assert_eq!(
        SetAclResponse::from_bytes(&o.body).unwrap().stat.aversion,
        1
    );
}

#[test]
fn get_acl_with_read_only_redacts_digests() {
    let mut h = Harness::new();
    let req = CreateRequest {
        acl: vec![
            Acl {
                perms: perms::READ,
                id: Id::new("world", "anyone"),
            },
            Acl {
                perms: perms::ALL,
                id: Id::new("digest", "u:hash="),
            },
        ],
        ..create_req("/r", b"", CreateMode::Persistent)
    };
    assert_eq!(h.write(OpCode::Create, &req).err, 0);
    let get = GetDataRequest {
        path: "/r".into(),
        watch: false,
    };
    let acl: GetAclResponse = h.read(OpCode::GetAcl, &get).unwrap();
    assert_eq!(acl.acl[1].id, Id::new("digest", "u:x"));
    h.auth = vec![Id::new("digest", "u:hash=")];
    let acl: GetAclResponse = h.read(OpCode::GetAcl, &get).unwrap();
    assert_eq!(acl.acl[1].id, Id::new("digest", "u:hash="));
    let config: GetAclResponse = h
        .read(
            OpCode::GetAcl,
            &GetDataRequest {
                path: "/zookeeper/config".into(),
                watch: false,
            },
        )
        .unwrap();
    assert_eq!(
        config.acl,
        vec![Acl {
            perms: perms::READ,
            id: Id::new("world", "anyone")
        }]
    );
    assert_eq!((config.stat.version, config.stat.aversion), (0, -1));
}

#[test]
fn skip_acl_allows_everything() {
    let h = Harness::with(Settings {
        acl: crate::acl::AclPolicy {
            skip_acl: true,
            ..Default::default()
        },
        ..Settings::default()
    });
    let config = SetDataRequest {
        path: "/zookeeper/config".into(),
        data: None,
        version: -1,
    };
    assert_eq!(h.write(OpCode::SetData, &config).err, 0);
}

#[test]
fn ttl_and_container_creation() {
    let h = Harness::new();
    let ttl = CreateTtlRequest {
        path: "/t".into(),
        data: None,
        acl: tree_acl(),
        flags: 5,
        ttl: 100,
    };
    assert_eq!(
        h.write(OpCode::CreateTtl, &ttl).err,
        code(ErrorCode::Unimplemented)
    );
    let h = Harness::with(Settings {
        extended_types: true,
        ..Settings::default()
    });
    let o = h.write(OpCode::CreateTtl, &ttl);
    assert_eq!(o.err, 0);
    assert_eq!(
        Create2Response::from_bytes(&o.body)
            .unwrap()
            .stat
            .ephemeral_owner,
        0,
        "a TTL node's marker is not shown"
    );
    assert_eq!(
        h.write(
            OpCode::CreateTtl,
            &CreateTtlRequest {
                ttl: 0,
                path: "/t2".into(),
                ..ttl.clone()
            }
        )
        .err,
        code(ErrorCode::BadArguments)
    );
    assert_eq!(
        h.write(
            OpCode::CreateTtl,
            &CreateTtlRequest {
                flags: 0,
                path: "/t3".into(),
                ..ttl
            }
        )
        .err,
        code(ErrorCode::BadArguments)
    );
    let c = h.write(
        OpCode::CreateContainer,
        &create_req("/c", b"", CreateMode::Container),
    );
    assert_eq!(
        Create2Response::from_bytes(&c.body)
            .unwrap()
            .stat
            .ephemeral_owner,
        0,
        "a container's marker is not shown"
    );
}

#[test]
fn check_op_checks_version_and_acl() {
    let h = Harness::new();
    h.create("/a", b"", CreateMode::Persistent).unwrap();
    let check = |p: &str, v: i32| {
        h.write(
            OpCode::Check,
            &DeleteRequest {
                path: p.into(),
                version: v,
            },
        )
        .err
    };
    assert_eq!(check("/a", 0), 0);
    assert_eq!(check("/a", 1), code(ErrorCode::BadVersion));
    assert_eq!(check("/b", -1), code(ErrorCode::NoNode));
}

#[test]
fn multi_rolls_back_with_apache_results() {
    let h = Harness::new();
    h.create("/m", b"", CreateMode::Persistent).unwrap();
    let before = h.stat("/m");
    let ops = vec![
        MultiOp::Create {
            op: OpCode::Create,
            req: create_req("/m/a", b"", CreateMode::Persistent),
        },
        MultiOp::SetData(SetDataRequest {
            path: "/m".into(),
            data: Some(b"x".to_vec()),
            version: -1,
        }),
        MultiOp::Check(DeleteRequest {
            path: "/m".into(),
            version: 7,
        }),
        MultiOp::Delete(DeleteRequest {
            path: "/m/a".into(),
            version: -1,
        }),
    ];
    let o = h.write(OpCode::Multi, &MultiRequest { ops });
    assert_eq!(o.err, 0);
    let r = MultiResponse::from_bytes(&o.body).unwrap().results;
    assert_eq!(
        r,
        vec![
            MultiResult::Error(0),
            MultiResult::Error(0),
            MultiResult::Error(-103),
            MultiResult::Error(-2)
        ]
    );
    assert_eq!(h.stat("/m"), before);
    assert!(
        h.read::<ExistsResponse>(
            OpCode::Exists,
            &GetDataRequest {
                path: "/m/a".into(),
                watch: false
            }
        )
        .is_err()
    );

    let ops = vec![
        MultiOp::Create {
            op: OpCode::Create,
            req: create_req("/m/a", b"", CreateMode::Persistent),
        },
        MultiOp::Create {
            op: OpCode::Create2,
            req: create_req("/m/a/b", b"", CreateMode::Persistent),
        },
        MultiOp::SetData(SetDataRequest {
            path: "/m/a".into(),
            data: Some(b"x".to_vec()),
            version: 0,
        }),
        MultiOp::Check(DeleteRequest {
            path: "/m/a".into(),
            version: 1,
        }),
        MultiOp::Delete(DeleteRequest {
            path: "/m/a/b".into(),
            version: -1,
        }),
    ];
    let o = h.write(OpCode::Multi, &MultiRequest { ops });
    let r = MultiResponse::from_bytes(&o.body).unwrap().results;
    assert_eq!(
        r[0],
        MultiResult::Create(CreateResponse {
            path: "/m/a".into()
        })
    );
    assert!(matches!(&r[1], MultiResult::Create2(c) if c.stat.czxid == o.zxid));
    assert!(
        matches!(&r[2], MultiResult::SetData(s) if s.stat.version == 1 && s.stat.mzxid == o.zxid)
    );
    assert_eq!(r[3..], [MultiResult::Check, MultiResult::Delete]);
    let a = h.stat("/m/a");
    assert_eq!((a.cversion, a.pzxid, a.num_children), (2, o.zxid, 0));
}

#[test]
fn multi_read_fails_each_op_alone() {
    let h = Harness::new();
    h.create("/a", b"data", CreateMode::Persistent).unwrap();
    let ops = vec![
        MultiOp::GetData(GetDataRequest {
            path: "/a".into(),
            watch: false,
        }),
        MultiOp::GetChildren(GetDataRequest {
            path: "/nope".into(),
            watch: false,
        }),
        MultiOp::GetChildren(GetDataRequest {
            path: "/".into(),
            watch: false,
        }),
    ];
    let r: MultiResponse = h.read(OpCode::MultiRead, &MultiRequest { ops }).unwrap();
    assert!(
        matches!(&r.results[0], MultiResult::GetData(d) if d.data.as_deref() == Some(&b"data"[..]))
    );
    assert_eq!(r.results[1], MultiResult::Error(-101));
    assert_eq!(
        r.results[2],
        MultiResult::GetChildren(GetChildrenResponse {
            children: Strings(vec!["a".into(), "zookeeper".into()])
        })
    );
}

#[test]
fn reads_report_children_counts_ephemerals_and_identity() {
    let h = Harness::new();
    h.create("/a", b"", CreateMode::Persistent).unwrap();
    h.create("/a/e1", b"", CreateMode::Ephemeral).unwrap();
    h.create("/a/b", b"", CreateMode::Persistent).unwrap();
    h.create("/a/b/e2", b"", CreateMode::Ephemeral).unwrap();
    let r: GetChildren2Response = h
        .read(
            OpCode::GetChildren2,
            &GetDataRequest {
                path: "/a".into(),
                watch: false,
            },
        )
        .unwrap();
    assert_eq!(r.children.0, vec!["b".to_owned(), "e1".to_owned()]);
    assert_eq!(r.stat.num_children, 2);
    let n: GetAllChildrenNumberResponse = h
        .read(
            OpCode::GetAllChildrenNumber,
            &PathRequest { path: "/a".into() },
        )
        .unwrap();
    assert_eq!(n.total_number, 3);
    let e: GetEphemeralsResponse = h
        .read(
            OpCode::GetEphemerals,
            &PathRequest {
                path: "/a/b".into(),
            },
        )
        .unwrap();
    assert_eq!(e.children.0, vec!["/a/b/e2".to_owned()]);
    let e: GetEphemeralsResponse = h
        .read(OpCode::GetEphemerals, &PathRequest { path: "/".into() })
        .unwrap();
    assert_eq!(e.children.0.len(), 2);
    let mut h = h;
    h.auth
        .push(Id::new("digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="));
    let w: WhoAmIResponse = h.read(OpCode::WhoAmI, &PathRequest::default()).unwrap();
    let ip = ClientInfo {
        auth_scheme: "ip".into(),
        user: "127.0.0.1".into(),
    };
    let bob = ClientInfo {
        auth_scheme: "digest".into(),
        user: "bob".into(),
    };
    // Apache lists identities in its set order, not in the order they were added.
    assert_eq!(w.client_info, vec![bob, ip]);
    assert_eq!(
        h.read::<GetDataResponse>(
            OpCode::GetData,
            &GetDataRequest {
                path: "/x".into(),
                watch: false
            }
        ),
        Err(-101)
    );
}

#[test]
fn watches_are_checked_and_removed() {
    let h = Harness::new();
    h.create("/a", b"", CreateMode::Persistent).unwrap();
    let req = |t: WatcherType| CheckWatchesRequest {
        path: "/a".into(),
        watcher_type: t.code(),
    };
    assert_eq!(
        h.read::<ErrorResponse>(OpCode::CheckWatches, &req(WatcherType::Data)),
        Err(code(ErrorCode::NoWatcher))
    );
    let _: GetDataResponse = h
        .read(
            OpCode::GetData,
            &GetDataRequest {
                path: "/a".into(),
                watch: true,
            },
        )
        .unwrap();
    let (err, _) = h.state.read(
        SESSION,
        &h.auth,
        OpCode::CheckWatches,
        &req(WatcherType::Data).to_bytes(),
    );
    assert_eq!(err, 0);
    let (err, _) = h.state.read(
        SESSION,
        &h.auth,
        OpCode::RemoveWatches,
        &req(WatcherType::Children).to_bytes(),
    );
    assert_eq!(err, code(ErrorCode::NoWatcher));
    let (err, _) = h.state.read(
        SESSION,
        &h.auth,
        OpCode::RemoveWatches,
        &req(WatcherType::Any).to_bytes(),
    );
    assert_eq!(err, 0);
    let r: ErrorResponse = h
        .read(
            OpCode::AddWatch,
            &AddWatchRequest {
                path: "/a".into(),
                mode: 1,
            },
        )
        .unwrap();
    assert_eq!(r.err, 0);
    assert_eq!(h.state.watches().count(), 1);
}

#[test]
fn unknown_session_and_undecodable_body_errors() {
    let h = Harness::new();
    let o = h.command(Command::Request {
        session_id: 0x999,
        xid: 0,
        time_ms: 0,
        auth: vec![],
        op_code: 1,
        body: vec![],
    });
    assert_eq!(o.err, code(ErrorCode::SessionExpired));
    let o = h.write(OpCode::Create, &PathRequest { path: "/x".into() });
    assert_eq!(o.err, code(ErrorCode::MarshallingError));
}
