//! Unit tests of the state machine: sessions and their ephemerals, snapshots, the config node, watch
//! delivery from apply, expiry of containers and TTL nodes, and determinism.

use tokio::sync::mpsc::unbounded_channel;
use zk_proto::*;

use super::*;
use crate::consensus::Member;

const S1: i64 = 0x101;
const S2: i64 = 0x102;

fn open(state: &ZkState, zxid: i64, session: i64) {
    let c = Command::CreateSession {
        session_id: session,
        timeout_ms: 5000,
        password: vec![7; 16],
    };
    state.apply(zxid, &c.encode());
}

fn request(state: &ZkState, zxid: i64, session: i64, op: OpCode, body: &impl Record) -> Outcome {
    let c = Command::Request {
        session_id: session,
        xid: 0,
        time_ms: zxid * 10,
        auth: vec![],
        op_code: op.code(),
        body: body.to_bytes(),
    };
    Outcome::decode(&state.apply(zxid, &c.encode())).unwrap()
}

fn create(path: &str, mode: CreateMode) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: Some(b"d".to_vec()),
        acl: crate::tree::open_acl(),
        flags: mode.code(),
    }
}

fn exists(state: &ZkState, path: &str) -> bool {
    state
        .read(
            S1,
            &[],
            OpCode::Exists,
            &GetDataRequest {
                path: path.into(),
                watch: false,
            }
            .to_bytes(),
        )
        .0
        == 0
}

#[test]
fn classify_covers_the_protocol() {
    assert_eq!(ZkState::classify(4), OpClass::Read);
    assert_eq!(ZkState::classify(101), OpClass::Read);
    assert_eq!(ZkState::classify(14), OpClass::Write);
    assert_eq!(ZkState::classify(16), OpClass::Write);
    assert_eq!(ZkState::classify(-11), OpClass::Session);
    assert_eq!(ZkState::classify(9), OpClass::Special);
    assert_eq!(ZkState::classify(102), OpClass::Special);
    assert_eq!(ZkState::classify(55), OpClass::Unknown);
}

#[test]
fn closing_a_session_deletes_its_ephemerals_and_fires_watches() {
    let state = ZkState::new(Settings::default());
    open(&state, 1, S1);
    open(&state, 2, S2);
    request(
        &state,
        3,
        S1,
        OpCode::Create,
        &create("/e", CreateMode::Ephemeral),
    );
    request(
        &state,
        4,
        S2,
        OpCode::Create,
        &create("/keep", CreateMode::Ephemeral),
    );
    let (tx, mut rx) = unbounded_channel();
    state.watches().register_session(S2, tx);
    state.read(
        S2,
        &[],
        OpCode::Exists,
        &GetDataRequest {
            path: "/e".into(),
            watch: true,
        }
        .to_bytes(),
    );
    assert_eq!(state.stats().ephemerals_count, 2);
    let out = Outcome::decode(
        &state.apply(
            5,
            &Command::CloseSession {
                session_id: S1,
                time_ms: 50,
            }
            .encode(),
        ),
    )
    .unwrap();
    assert_eq!((out.zxid, out.err), (5, 0));
    assert!(!exists(&state, "/e"));
    assert!(exists(&state, "/keep"));
    assert!(state.session(S1).is_none());
    assert_eq!(state.session(S2).unwrap().password, vec![7; 16]);
    let frame = rx.try_recv().unwrap();
    let mut r = Reader::new(&frame[4..]);
    assert_eq!(
        ReplyHeader::read(&mut r).unwrap(),
        ReplyHeader {
            xid: -1,
            zxid: 5,
            err: 0
        }
    );
    assert_eq!(
        WatcherEvent::read(&mut r).unwrap(),
        WatcherEvent {
            event_type: 2,
            state: 3,
            path: "/e".into()
        }
    );
    let root = GetDataRequest {
        path: "/".into(),
        watch: false,
    }
    .to_bytes();
    let stat = ExistsResponse::from_bytes(&state.read(S2, &[], OpCode::Exists, &root).1)
        .unwrap()
        .stat;
    assert_eq!((stat.cversion, stat.pzxid), (2, 5));
}

#[test]
fn snapshot_restores_tree_sessions_and_zxid() {
    let state = ZkState::new(Settings::default());
    open(&state, 1, S1);
    request(
        &state,
        2,
        S1,
        OpCode::Create,
        &create("/a", CreateMode::Persistent),
    );
    request(
        &state,
        3,
        S1,
        OpCode::Create,
        &create("/a/e", CreateMode::Ephemeral),
    );
    request(
        &state,
        4,
        S1,
        OpCode::SetData,
        &SetDataRequest {
            path: "/a".into(),
            data: None,
            version: 0,
        },
    );
    state.apply_membership(
        5,
        &[Member {
            id: 1,
            spec: "127.0.0.1:2888:3888:participant;0.0.0.0:2181".into(),
            voter: true,
        }],
    );
    let snap = state.snapshot();
    let copy = ZkState::new(Settings::default());
    copy.restore(&snap).unwrap();
    assert_eq!(copy.snapshot(), snap);
    assert_eq!(copy.stats(), state.stats());
    assert_eq!(copy.ephemerals_dump(), vec![(S1, vec!["/a/e".to_owned()])]);
    assert_eq!(copy.session(S1), state.session(S1));
    let get = GetDataRequest {
        path: "/a".into(),
        watch: false,
    }
    .to_bytes();
    assert_eq!(
        copy.read(S1, &[], OpCode::GetData, &get),
        state.read(S1, &[], OpCode::GetData, &get)
    );
    assert!(copy.restore(b"garbage").is_err());
    assert!(copy.restore(&snap[..snap.len() - 3]).is_err());
}

#[test]
fn a_large_state_is_encoded_in_pieces_that_restore_it_whole() {
    let state = ZkState::new(Settings::default());
    open(&state, 1, S1);
    for i in 0..2_000 {
        let mut node = create(&format!("/n{i:05}"), CreateMode::Persistent);
        node.data = Some(vec![i as u8; 100]);
        assert_eq!(request(&state, 2 + i, S1, OpCode::Create, &node).err, 0);
    }
    /// Keeps each piece handed to it apart.
    struct Pieces(Vec<Vec<u8>>);
    impl std::io::Write for Pieces {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut pieces = Pieces(Vec::new());
    state.freeze()(&mut pieces).unwrap();
    assert!(pieces.0.len() > 2, "{} pieces", pieces.0.len());
    let whole = pieces.0.concat();
    assert_eq!(whole, state.snapshot());
    let copy = ZkState::new(Settings::default());
    copy.restore(&whole).unwrap();
    assert_eq!(copy.snapshot(), whole);
    assert_eq!(copy.stats(), state.stats());
}

#[test]
fn applies_go_on_while_a_frozen_snapshot_is_encoded() {
    let state = ZkState::new(Settings::default());
    open(&state, 1, S1);
    for (zxid, path) in [(2, "/a"), (3, "/b")] {
        request(
            &state,
            zxid,
            S1,
            OpCode::Create,
            &create(path, CreateMode::Persistent),
        );
    }
    let at_freeze = state.snapshot();
    let encoder = state.freeze();
    // The encoder holds no lock: these applies would wait forever if it did.
    let set = SetDataRequest {
        path: "/a".into(),
        data: Some(b"changed".to_vec()),
        version: 0,
    };
    assert_eq!(request(&state, 4, S1, OpCode::SetData, &set).err, 0);
    let delete = DeleteRequest {
        path: "/b".into(),
        version: -1,
    };
    assert_eq!(request(&state, 5, S1, OpCode::Delete, &delete).err, 0);
    let set_acl = SetAclRequest {
        path: "/a".into(),
        acl: vec![Acl {
            perms: perms::READ,
            id: Id::new("world", "anyone"),
        }],
        version: -1,
    };
    assert_eq!(request(&state, 6, S1, OpCode::SetAcl, &set_acl).err, 0);
    request(
        &state,
        7,
        S1,
        OpCode::Create,
        &create("/c", CreateMode::Ephemeral),
    );
    open(&state, 8, S2);
    let mut encoded = Vec::new();
    encoder(&mut encoded).unwrap();
    assert_eq!(encoded, at_freeze, "the copy is the state as it was frozen");
    assert_ne!(
        state.snapshot(),
        at_freeze,
        "the applies changed the live state"
    );
    let copy = ZkState::new(Settings::default());
    copy.restore(&encoded).unwrap();
    assert!(exists(&copy, "/b") && !exists(&copy, "/c"));
    assert!(!exists(&state, "/b") && exists(&state, "/c"));
    assert_eq!(copy.stats().last_zxid, 3);
    assert_eq!(copy.session(S2), None);
}

#[test]
fn membership_writes_the_config_node() {
    let state = ZkState::new(Settings {
        distributed: true,
        ..Settings::default()
    });
    open(&state, 1, S1);
    request(
        &state,
        2,
        S1,
        OpCode::Create,
        &create("/t", CreateMode::Persistent),
    );
    let members = [
        Member {
            id: 1,
            spec: "127.0.0.1:2889:3889:participant;0.0.0.0:2182".into(),
            voter: true,
        },
        Member {
            id: 0,
            spec: "127.0.0.1:2888:3888:participant".into(),
            voter: true,
        },
    ];
    state.apply_membership(0x1_0000_0002, &members);
    let (err, body) = state.read(
        S1,
        &[],
        OpCode::GetData,
        &GetDataRequest {
            path: "/zookeeper/config".into(),
            watch: false,
        }
        .to_bytes(),
    );
    assert_eq!(err, 0);
    let r = GetDataResponse::from_bytes(&body).unwrap();
    // Lines keep the members' order: the configuration's, which the consensus layer gives.
    let text = "server.1=127.0.0.1:2889:3889:participant;0.0.0.0:2182\nserver.0=127.0.0.1:2888:3888:participant\nversion=100000002";
    assert_eq!(r.data.as_deref(), Some(text.as_bytes()));
    assert_eq!(
        (
            r.stat.czxid,
            r.stat.mzxid,
            r.stat.mtime,
            r.stat.version,
            r.stat.aversion
        ),
        (0, 0x1_0000_0002, 20, -1, -1)
    );
    assert_eq!(r.stat.data_length, 112);
    assert_eq!(state.last_zxid(), 0x1_0000_0002);
}

#[test]
fn expired_containers_and_ttls_are_deleted_on_apply() {
    let state = ZkState::new(Settings {
        extended_types: true,
        ..Settings::default()
    });
    open(&state, 1, S1);
    request(
        &state,
        2,
        S1,
        OpCode::CreateContainer,
        &create("/c", CreateMode::Container),
    );
    request(
        &state,
        3,
        S1,
        OpCode::Create,
        &create("/c/x", CreateMode::Persistent),
    );
    request(
        &state,
        4,
        S1,
        OpCode::Delete,
        &DeleteRequest {
            path: "/c/x".into(),
            version: -1,
        },
    );
    let ttl = CreateTtlRequest {
        path: "/t".into(),
        data: None,
        acl: crate::tree::open_acl(),
        flags: 5,
        ttl: 100,
    };
    request(&state, 5, S1, OpCode::CreateTtl, &ttl);
    assert_eq!(state.expired_nodes(60), vec!["/c".to_owned()]);
    assert_eq!(
        state.expired_nodes(151),
        vec!["/c".to_owned(), "/t".to_owned()]
    );
    // The TTL node was touched after the leader looked: apply checks again and keeps it.
    request(
        &state,
        6,
        S1,
        OpCode::SetData,
        &SetDataRequest {
            path: "/t".into(),
            data: None,
            version: -1,
        },
    );
    state.apply(
        7,
        &Command::DeleteExpired {
            time_ms: 151,
            paths: vec!["/c".into(), "/t".into()],
        }
        .encode(),
    );
    assert!(!exists(&state, "/c"));
    assert!(exists(&state, "/t"));
}

#[test]
fn apply_is_deterministic() {
    let run = || {
        let state = ZkState::new(Settings::default());
        open(&state, 1, S1);
        request(
            &state,
            2,
            S1,
            OpCode::Create,
            &create("/s-", CreateMode::PersistentSequential),
        );
        request(
            &state,
            3,
            S1,
            OpCode::Create,
            &create("/s-", CreateMode::EphemeralSequential),
        );
        state.apply(4, b"\xffgarbage");
        state.snapshot()
    };
    assert_eq!(run(), run());
}

#[test]
fn a_watch_event_is_queued_before_the_write_returns() {
    let state = ZkState::new(Settings::default());
    open(&state, 1, S1);
    let (tx, mut rx) = unbounded_channel();
    state.watches().register_session(S1, tx);
    state.read(
        S1,
        &[],
        OpCode::GetChildren,
        &GetDataRequest {
            path: "/".into(),
            watch: true,
        }
        .to_bytes(),
    );
    let out = request(
        &state,
        2,
        S1,
        OpCode::Create,
        &create("/n", CreateMode::Persistent),
    );
    assert_eq!(out.err, 0);
    assert!(
        rx.try_recv().is_ok(),
        "the event is already queued when apply returns"
    );
}

#[test]
fn a_standalone_server_keeps_the_config_node_empty() {
    let state = ZkState::new(Settings::default());
    let members = [Member {
        id: 0,
        spec: "127.0.0.1:2888:3888:participant".into(),
        voter: true,
    }];
    state.apply_membership(0x1_0000_0000, &members);
    let get = GetDataRequest {
        path: "/zookeeper/config".into(),
        watch: false,
    }
    .to_bytes();
    let r = GetDataResponse::from_bytes(&state.read(S1, &[], OpCode::GetData, &get).1).unwrap();
    assert_eq!((r.data, r.stat.mzxid), (Some(vec![]), 0));
    assert_eq!(state.last_zxid(), 0x1_0000_0000);
}

/// The config node's text, read as a client would.
fn config_text(state: &ZkState, watch: bool) -> String {
    let request = GetDataRequest {
        path: "/zookeeper/config".into(),
        watch,
    };
    let (_, body) = state.read(S1, &[], OpCode::GetData, &request.to_bytes());
    let data = GetDataResponse::from_bytes(&body).unwrap().data;
    String::from_utf8(data.unwrap_or_default()).unwrap()
}

#[test]
fn config_lists_voters_and_observers_and_fires_its_watch_on_change() {
    let state = ZkState::new(Settings {
        distributed: true,
        ..Settings::default()
    });
    open(&state, 1, S1);
    let leader = Member {
        id: 0,
        spec: "127.0.0.1:2888:3888:participant".into(),
        voter: true,
    };
    // The founding membership gets the first epoch's version.
    state.apply_membership(0, std::slice::from_ref(&leader));
    let founded = "server.0=127.0.0.1:2888:3888:participant\nversion=100000000";
    assert_eq!(config_text(&state, true), founded);
    let (tx, mut rx) = unbounded_channel();
    state.watches().register_session(S1, tx);

    // A joiner syncing as a learner is not listed: nothing changes, no event.
    let mut joiner = Member {
        id: 1,
        spec: "127.0.0.1:2889:3889:participant;0.0.0.0:2182".into(),
        voter: false,
    };
    state.apply_membership(0x1_0000_0003, &[leader.clone(), joiner.clone()]);
    assert_eq!(config_text(&state, false), founded);
    assert!(rx.try_recv().is_err());

    // Added as an observer: listed, new version, NodeDataChanged.
    joiner.spec = "127.0.0.1:2889:3889:observer;0.0.0.0:2182".into();
    state.apply_membership(0x1_0000_0005, &[leader, joiner]);
    assert_eq!(
        config_text(&state, false),
        "server.0=127.0.0.1:2888:3888:participant\n\
         server.1=127.0.0.1:2889:3889:observer;0.0.0.0:2182\nversion=100000005"
    );
    assert!(rx.try_recv().is_ok());
}
