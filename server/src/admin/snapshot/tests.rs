use std::net::{IpAddr, Ipv4Addr};

use axum::body::to_bytes;
use zk_proto::{Acl, Id, perms};

use super::*;
use crate::acl::digest_id;

/// A member whose root has `acl` and whose snapshot is `taken` (or fails).
struct Fixed {
    acl: Vec<Acl>,
    taken: Result<(i64, Vec<u8>), String>,
}

impl SnapshotSource for Fixed {
    fn root_acl(&self) -> Vec<Acl> {
        self.acl.clone()
    }
    fn take_snapshot(&self) -> Taking<'_> {
        let taken = self.taken.clone();
        Box::pin(async move { taken })
    }
}

fn settings(enabled: bool, interval_ms: u64) -> AdminConfig {
    AdminConfig {
        enabled: true,
        address: "127.0.0.1".into(),
        port: 0,
        command_url: "/commands".into(),
        snapshot_enabled: enabled,
        rate_limiter_interval: interval_ms,
    }
}

fn open() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id::new("world", "anyone"),
    }]
}

fn access(enabled: bool, interval_ms: u64) -> SnapshotAccess {
    SnapshotAccess::new(settings(enabled, interval_ms), AclPolicy::default(), None)
}

const LOCAL: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));

async fn body(response: Response) -> Vec<u8> {
    to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn streams_the_snapshot_with_its_zxid_and_size() {
    let member = Fixed {
        acl: open(),
        taken: Ok((0x1_0000_002a, b"ZKSN...".to_vec())),
    };
    let response = run(&access(true, 0), &member, Some("ip"), LOCAL, true).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["last_zxid"], "0x10000002a");
    assert_eq!(response.headers()["snapshot_size"], "7");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert_eq!(body(response).await, b"ZKSN...");

    let json = run(&access(true, 0), &member, Some("ip"), LOCAL, false).await;
    assert_eq!(json.status(), StatusCode::OK);
    assert_eq!(json.headers()["last_zxid"], "0x10000002a");
    let value: Value = serde_json::from_slice(&body(json).await).unwrap();
    assert_eq!(value, json!({ "command": "snapshot", "error": null }));
}

#[tokio::test]
async fn needs_credentials_with_every_permission_on_the_root() {
    let member = |acl| Fixed {
        acl,
        taken: Ok((1, vec![1])),
    };
    let rules = access(true, 0);
    let missing = run(&rules, &member(open()), None, LOCAL, true).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let value: Value = serde_json::from_slice(&body(missing).await).unwrap();
    assert_eq!(value["error"], "Auth info is missing for the command");
    for header in ["sasl x", "digest", "digest nocolon", "ip a b"] {
        let response = run(&rules, &member(open()), Some(header), LOCAL, true).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
    let alice = Id::new("digest", digest_id("alice:secret"));
    let locked = vec![Acl {
        perms: perms::ALL,
        id: alice.clone(),
    }];
    assert_eq!(
        run(&rules, &member(locked.clone()), Some("ip"), LOCAL, true)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        run(
            &rules,
            &member(locked),
            Some("digest alice:secret"),
            LOCAL,
            true
        )
        .await
        .status(),
        StatusCode::OK
    );
    // Every bit is needed: read and write alone do not do.
    let partial = vec![Acl {
        perms: perms::READ | perms::WRITE,
        id: alice,
    }];
    assert_eq!(
        run(
            &rules,
            &member(partial),
            Some("digest alice:secret"),
            LOCAL,
            true
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn disabled_limited_and_failed_snapshots_say_so() {
    let member = Fixed {
        acl: open(),
        taken: Ok((1, vec![1])),
    };
    let disabled = run(&access(false, 0), &member, Some("ip"), LOCAL, true).await;
    assert_eq!(disabled.status(), StatusCode::SERVICE_UNAVAILABLE);

    // 60,000,000 "ms" read as microseconds as Apache's snapshot command does: one minute.
    let limited = access(true, 60_000_000);
    assert_eq!(
        run(&limited, &member, Some("ip"), LOCAL, true)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        run(&limited, &member, Some("ip"), LOCAL, true)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    let failing = Fixed {
        acl: open(),
        taken: Err("no quorum".into()),
    };
    let failed = run(&access(true, 0), &failing, Some("ip"), LOCAL, true).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
