//! A client's bytes as a connection reads them: frames (length-prefixed, jute.maxbuffer bound),
//! the first a ConnectRequest, each later one a request header and body, served by the state
//! machine as the member would (reads directly, writes as the commands it would propose).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_proto::{ConnectRequest, Record, RequestHeader, split_frame};
use zk_server::consensus::StateMachine;
use zk_server::state::{Command, OpClass, ZkState};

const MAX_FRAME: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let state = zk_fuzz::state();
    let mut buf = bytes::BytesMut::from(data);
    let Ok(Some(first)) = split_frame(&mut buf, MAX_FRAME) else {
        return;
    };
    if ConnectRequest::from_bytes(&first).is_err() {
        return;
    }
    let session = 0x1000;
    let mut zxid = 1;
    while let Ok(Some(frame)) = split_frame(&mut buf, MAX_FRAME) {
        let Ok(header) = RequestHeader::from_bytes(&frame) else {
            return;
        };
        let body = &frame[8.min(frame.len())..];
        match ZkState::classify(header.op_type) {
            OpClass::Read => {
                let _ = state.read(session, &[], zk_op(header.op_type), body);
            }
            OpClass::Write => {
                let command = Command::Request {
                    session_id: session,
                    xid: header.xid,
                    time_ms: zxid,
                    auth: Vec::new(),
                    op_code: header.op_type,
                    body: body.to_vec(),
                };
                let _ = state.apply(zxid, &command.encode());
                zxid += 1;
            }
            _ => {}
        }
    }
});

fn zk_op(op: i32) -> zk_proto::OpCode {
    zk_proto::OpCode::from_i32(op).unwrap_or(zk_proto::OpCode::GetData)
}
