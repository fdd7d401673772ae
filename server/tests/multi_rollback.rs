//! Property test of the state machine: a multi that fails leaves the whole state (tree, stats, ACLs,
//! ephemerals, data size) exactly as it was, and reports Apache's per-operation results.

use proptest::prelude::*;
use zk_proto::{
    CreateRequest, DeleteRequest, MultiOp, MultiRequest, MultiResponse, MultiResult, OpCode,
    Record, SetDataRequest,
};
use zk_server::consensus::StateMachine;
use zk_server::state::{Command, Outcome, Settings, ZkState};

const SESSION: i64 = 0x42;
/// Bytes before the tree in a snapshot: magic, format version, last zxid, last time.
const SNAPSHOT_HEADER: usize = 4 + 4 + 8 + 8;

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["/a", "/b", "/a/x", "/a/y", "/b/z"]).prop_map(str::to_owned)
}

fn op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        (path(), 0..4i32).prop_map(|(path, flags)| MultiOp::Create {
            op: OpCode::Create,
            req: CreateRequest {
                path,
                data: Some(b"v".to_vec()),
                acl: zk_server::tree::open_acl(),
                flags
            },
        }),
        (path(), -1..2i32)
            .prop_map(|(path, version)| MultiOp::Delete(DeleteRequest { path, version })),
        (path(), -1..2i32)
            .prop_map(|(path, version)| MultiOp::Check(DeleteRequest { path, version })),
        (path(), -1..2i32).prop_map(|(path, version)| MultiOp::SetData(SetDataRequest {
            path,
            data: Some(b"longer value".to_vec()),
            version
        })),
    ]
}

fn apply(state: &ZkState, zxid: i64, command: Command) -> Outcome {
    Outcome::decode(&state.apply(zxid, &command.encode())).unwrap()
}

proptest! {
    #[test]
    fn failed_multis_change_nothing(batches in prop::collection::vec(prop::collection::vec(op(), 1..6), 1..8)) {
        let state = ZkState::new(Settings::default());
        apply(&state, 1, Command::CreateSession { session_id: SESSION, timeout_ms: 4000, password: vec![0; 16] });
        for (i, ops) in batches.into_iter().enumerate() {
            let count = ops.len();
            let before = state.snapshot();
            let before_stats = state.stats();
            let outcome = apply(&state, 2 + i as i64, Command::Request {
                session_id: SESSION,
                xid: 0,
                time_ms: 1000 + i as i64,
                auth: vec![],
                op_code: OpCode::Multi.code(),
                body: MultiRequest { ops }.to_bytes(),
            });
            prop_assert_eq!(outcome.err, 0);
            let results = MultiResponse::from_bytes(&outcome.body).unwrap().results;
            prop_assert_eq!(results.len(), count);
            let failed = results.iter().position(|r| matches!(r, MultiResult::Error(e) if *e != 0));
            if let Some(index) = failed {
                let after = state.snapshot();
                prop_assert_eq!(&before[SNAPSHOT_HEADER..], &after[SNAPSHOT_HEADER..]);
                prop_assert_eq!(state.stats().approximate_data_size, before_stats.approximate_data_size);
                prop_assert_eq!(state.stats().ephemerals_count, before_stats.ephemerals_count);
                for (j, r) in results.iter().enumerate() {
                    let expected = match j.cmp(&index) {
                        std::cmp::Ordering::Less => 0,
                        std::cmp::Ordering::Equal => continue,
                        std::cmp::Ordering::Greater => -2,
                    };
                    prop_assert_eq!(r, &MultiResult::Error(expected));
                }
            } else {
                prop_assert!(results.iter().all(|r| !matches!(r, MultiResult::Error(_))));
            }
        }
    }
}
