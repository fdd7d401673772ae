//! Property tests: every record survives an encode/decode round trip, and decoding arbitrary bytes returns
//! a value or an error, never a panic.

use bytes::BytesMut;
use proptest::prelude::*;
use zk_proto::frame::{FrameError, peek_length};
use zk_proto::*;

fn opt_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(prop::collection::vec(any::<u8>(), 0..64))
}

fn stat() -> impl Strategy<Value = Stat> {
    (any::<[i64; 5]>(), any::<[i32; 5]>()).prop_map(|(l, i)| Stat {
        czxid: l[0],
        mzxid: l[1],
        ctime: l[2],
        mtime: l[3],
        version: i[0],
        cversion: i[1],
        aversion: i[2],
        ephemeral_owner: l[4],
        data_length: i[3],
        num_children: i[4],
        pzxid: l[0] ^ l[1],
    })
}

fn acls() -> impl Strategy<Value = Vec<Acl>> {
    prop::collection::vec(
        (any::<i32>(), ".{0,8}", ".{0,16}").prop_map(|(perms, s, i)| Acl {
            perms,
            id: Id::new(s, i),
        }),
        0..4,
    )
}

fn strings() -> impl Strategy<Value = Strings> {
    prop::collection::vec(".{0,12}", 0..5).prop_map(Strings)
}

fn create() -> impl Strategy<Value = CreateRequest> {
    (".{0,20}", opt_bytes(), acls(), 0..7i32).prop_map(|(path, data, acl, flags)| CreateRequest {
        path,
        data,
        acl,
        flags,
    })
}

fn multi_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        (
            create(),
            prop::sample::select(vec![
                OpCode::Create,
                OpCode::Create2,
                OpCode::CreateContainer
            ])
        )
            .prop_map(|(req, op)| MultiOp::Create { op, req }),
        (create(), any::<i64>()).prop_map(|(c, ttl)| MultiOp::CreateTtl(CreateTtlRequest {
            path: c.path,
            data: c.data,
            acl: c.acl,
            flags: c.flags,
            ttl
        })),
        (".{0,20}", any::<i32>())
            .prop_map(|(path, version)| MultiOp::Delete(DeleteRequest { path, version })),
        (".{0,20}", any::<i32>())
            .prop_map(|(path, version)| MultiOp::Check(DeleteRequest { path, version })),
        (".{0,20}", opt_bytes(), any::<i32>()).prop_map(|(path, data, version)| MultiOp::SetData(
            SetDataRequest {
                path,
                data,
                version
            }
        )),
        (".{0,20}", any::<bool>())
            .prop_map(|(path, watch)| MultiOp::GetData(GetDataRequest { path, watch })),
        (".{0,20}", any::<bool>())
            .prop_map(|(path, watch)| MultiOp::GetChildren(GetDataRequest { path, watch })),
    ]
}

fn multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        ".{0,20}".prop_map(|path| MultiResult::Create(CreateResponse { path })),
        (".{0,20}", stat())
            .prop_map(|(path, stat)| MultiResult::Create2(Create2Response { path, stat })),
        Just(MultiResult::Delete),
        Just(MultiResult::Check),
        stat().prop_map(|stat| MultiResult::SetData(ExistsResponse { stat })),
        strings().prop_map(|children| MultiResult::GetChildren(GetChildrenResponse { children })),
        (opt_bytes(), stat())
            .prop_map(|(data, stat)| MultiResult::GetData(GetDataResponse { data, stat })),
        any::<i32>().prop_map(MultiResult::Error),
    ]
}

fn round_trip<T: Record + PartialEq + std::fmt::Debug>(v: &T) {
    let bytes = v.to_bytes();
    assert_eq!(&T::from_bytes(&bytes).unwrap(), v);
}

proptest! {
    #[test]
    fn stat_round_trips(s in stat()) {
        round_trip(&s);
    }

    #[test]
    fn create_round_trips(c in create()) {
        round_trip(&c);
    }

    #[test]
    fn connect_round_trips(
        zxid in any::<i64>(), timeout in any::<i32>(), sid in any::<i64>(),
        passwd in prop::collection::vec(any::<u8>(), 0..16), ro in prop::option::of(any::<bool>()),
    ) {
        let req = ConnectRequest { protocol_version: 0, last_zxid_seen: zxid, timeout, session_id: sid,
            passwd: passwd.clone(), read_only: ro };
        round_trip(&req);
        let resp = ConnectResponse { protocol_version: 0, timeout, session_id: sid, passwd, read_only: ro };
        round_trip(&resp);
    }

    #[test]
    fn multi_round_trips(ops in prop::collection::vec(multi_op(), 0..6),
                         results in prop::collection::vec(multi_result(), 0..6)) {
        round_trip(&MultiRequest { ops });
        round_trip(&MultiResponse { results });
    }

    #[test]
    fn watches_round_trip(z in any::<i64>(), a in strings(), b in strings(), c in strings(),
                          d in strings(), e in strings()) {
        round_trip(&SetWatches2 { relative_zxid: z, data_watches: a.clone(), exist_watches: b.clone(),
            child_watches: c.clone(), persistent_watches: d, persistent_recursive_watches: e });
        round_trip(&SetWatches { relative_zxid: z, data_watches: a, exist_watches: b, child_watches: c });
    }

    #[test]
    fn reconfig_round_trips(j in prop::option::of(".{0,30}"), l in prop::option::of(".{0,5}"),
                            n in prop::option::of(".{0,30}"), v in any::<i64>()) {
        round_trip(&ReconfigRequest { joining_servers: j, leaving_servers: l, new_members: n, cur_config_id: v });
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = ConnectRequest::from_bytes(&bytes);
        let _ = RequestHeader::from_bytes(&bytes);
        let _ = CreateRequest::from_bytes(&bytes);
        let _ = CreateTtlRequest::from_bytes(&bytes);
        let _ = SetAclRequest::from_bytes(&bytes);
        let _ = MultiRequest::from_bytes(&bytes);
        let _ = MultiResponse::from_bytes(&bytes);
        let _ = SetWatches2::from_bytes(&bytes);
        let _ = ReconfigRequest::from_bytes(&bytes);
        let _ = GetAclResponse::from_bytes(&bytes);
        let _ = WhoAmIResponse::from_bytes(&bytes);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = split_frame(&mut buf, 64) {}
    }
}

#[test]
fn null_and_empty_buffers_differ() {
    let null = GetDataResponse {
        data: None,
        stat: Stat::default(),
    }
    .to_bytes();
    let empty = GetDataResponse {
        data: Some(vec![]),
        stat: Stat::default(),
    }
    .to_bytes();
    assert_eq!(&null[..4], &(-1i32).to_be_bytes());
    assert_eq!(&empty[..4], &0i32.to_be_bytes());
}

#[test]
fn old_client_connect_has_no_read_only_byte() {
    let req = ConnectRequest {
        passwd: vec![0; 16],
        ..Default::default()
    };
    assert_eq!(req.to_bytes().len(), 4 + 8 + 4 + 8 + 4 + 16);
    assert_eq!(
        ConnectRequest::from_bytes(&req.to_bytes())
            .unwrap()
            .read_only,
        None
    );
    let new = ConnectRequest {
        read_only: Some(false),
        ..req
    };
    assert_eq!(new.to_bytes().len(), 45);
}

#[test]
fn multi_framing_matches_apache() {
    let req = MultiRequest {
        ops: vec![MultiOp::Delete(DeleteRequest {
            path: "/a".into(),
            version: -1,
        })],
    };
    let bytes = req.to_bytes();
    // {type 2, done false, err -1} + {"/a", -1} + {-1, true, -1}
    let mut expected = vec![
        0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, b'/', b'a', 0xff, 0xff, 0xff, 0xff,
    ];
    expected.extend([0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(bytes, expected);
}

#[test]
fn frames_split_only_when_whole() {
    let mut buf = BytesMut::from(&[0u8, 0, 0, 3, 1, 2][..]);
    assert_eq!(split_frame(&mut buf, 10), Ok(None));
    assert_eq!(buf.len(), 6);
    buf.extend_from_slice(&[3, 0, 0]);
    assert_eq!(
        split_frame(&mut buf, 10).unwrap().unwrap().as_ref(),
        &[1, 2, 3]
    );
    assert_eq!(split_frame(&mut buf, 10), Ok(None));
    assert_eq!(
        peek_length(&[0, 0, 0, 11], 10),
        Err(FrameError::TooLarge { len: 11, max: 10 })
    );
    assert_eq!(
        peek_length(&[0xff, 0xff, 0xff, 0xfe], 10),
        Err(FrameError::Malformed(-2))
    );
}

#[test]
fn unknown_multi_op_is_an_error() {
    let bytes = [0, 0, 0, 99, 0, 0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        MultiRequest::from_bytes(&bytes),
        Err(DecodeError::InvalidValue { .. })
    ));
}

#[test]
fn huge_counts_are_refused_without_allocating() {
    let bytes = [0x7f, 0xff, 0xff, 0xff];
    assert!(matches!(
        Reader::new(&bytes).strings(),
        Err(DecodeError::UnexpectedEof { .. })
    ));
}
