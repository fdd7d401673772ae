//! `snapshot` (alias `snap`): Apache ZooKeeper 3.9's AdminServer command that sends a snapshot of
//! the member's tree, here in Apache's snapshot format, so that a backup can be restored into
//! either server (`zk-server import`, or Apache started on it) and read by Apache's tools.
//!
//! `GET <commandURL>/snapshot[?streaming=false]`, with an `Authorization` header as Apache's:
//! `digest <user>:<password>` or `ip`, whose identities need every permission on `/` (its ACL).
//! Checks in Apache's order:
//!
//! | case | status | body |
//! |---|---|---|
//! | no `Authorization` header | 401 | JSON, `error`: `Auth info is missing for the command` |
//! | unknown scheme, or malformed | 401 | JSON, `error`: `Not authenticated` |
//! | the identities lack a permission on `/` | 403 | JSON, `error`: `Not authorized` |
//! | `zookeeper.admin.snapshot.enabled=false` | 503 | JSON, `error`: null |
//! | a snapshot taken less than the interval ago | 429 | JSON, `error`: null |
//! | the snapshot could not be taken | 500 | JSON, `error`: null |
//! | taken | 200 | the snapshot (`application/octet-stream`), or with `streaming=false` JSON |
//!
//! A taken snapshot's answer carries the headers `last_zxid` (`0x` and the zxid in hex) and
//! `snapshot_size` (bytes). Apache's rate limiter reads `zookeeper.admin.rateLimiterIntervalInMS`
//! (default 300000) for this command in microseconds, so one snapshot per 300 ms by default; the
//! same interval applies here. Unlike Apache's, which copies its member's tree as it is, the
//! member first catches up with everything the ensemble had committed when the request came (a
//! `sync`), so the snapshot holds every write acknowledged before it was asked for.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use zk_proto::{Acl, Id, perms};

use crate::acl::{AclPolicy, authenticate_digest, ip_id};
use crate::config::AdminConfig;

/// The command's names: primary first.
pub const NAMES: [&str; 2] = ["snapshot", "snap"];

/// A snapshot being taken: resolves to its last zxid and the bytes of Apache's snapshot file.
pub type Taking<'a> = Pin<Box<dyn Future<Output = Result<(i64, Vec<u8>), String>> + Send + 'a>>;

/// What `snapshot` needs from the running server.
pub trait SnapshotSource: Send + Sync {
    /// The ACL of `/`, which decides who may take a snapshot.
    fn root_acl(&self) -> Vec<Acl>;
    /// Catches up with the ensemble's commits, then copies the tree at one applied zxid.
    fn take_snapshot(&self) -> Taking<'_>;
}

/// Who may ask, and how often.
pub struct SnapshotAccess {
    settings: AdminConfig,
    policy: AclPolicy,
    super_digest: Option<String>,
    last: Mutex<Option<Instant>>,
}

impl SnapshotAccess {
    /// The rules of `settings`, with the server's ACL policy and super digest.
    pub fn new(settings: AdminConfig, policy: AclPolicy, super_digest: Option<String>) -> Self {
        SnapshotAccess {
            settings,
            policy,
            super_digest,
            last: Mutex::new(None),
        }
    }

    /// Apache's interval: `rateLimiterIntervalInMS` read as microseconds.
    fn interval(&self) -> Duration {
        Duration::from_micros(self.settings.rate_limiter_interval)
    }

    /// One snapshot per interval, the first at once.
    fn allow(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match *last {
            Some(at) if now.duration_since(at) < self.interval() => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    /// The identities the `Authorization` header grants a client at `peer`, as Apache's
    /// providers: `digest user:password`, or `ip` (the client's address).
    fn authenticate(&self, authorization: &str, peer: Option<IpAddr>) -> Option<Vec<Id>> {
        let mut parts = authorization.split(' ');
        let scheme = parts.next()?;
        let credentials = parts.next();
        if parts.next().is_some() {
            return None;
        }
        match (scheme, credentials) {
            ("digest", Some(credentials)) if credentials.contains(':') => Some(
                authenticate_digest(credentials.as_bytes(), self.super_digest.as_deref()),
            ),
            ("ip", _) => peer.map(|address| vec![ip_id(address)]),
            _ => None,
        }
    }
}

/// Runs the command for a request with `authorization` (the header) from `peer`, `streaming`
/// as its query says.
pub async fn run(
    access: &SnapshotAccess,
    source: &dyn SnapshotSource,
    authorization: Option<&str>,
    peer: Option<IpAddr>,
    streaming: bool,
) -> Response {
    let Some(authorization) = authorization else {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!("Auth info is missing for the command"),
        );
    };
    let Some(ids) = access.authenticate(authorization, peer) else {
        return answer(StatusCode::UNAUTHORIZED, json!("Not authenticated"));
    };
    let acl = source.root_acl();
    // Apache checks each permission bit on its own.
    let every_bit = (0..5).map(|b| 1 << b).filter(|bit| perms::ALL & bit != 0);
    if every_bit
        .into_iter()
        .any(|bit| access.policy.check(&acl, bit, &ids).is_err())
    {
        return answer(StatusCode::FORBIDDEN, json!("Not authorized"));
    }
    if !access.settings.snapshot_enabled {
        tracing::warn!("snapshot command is disabled");
        return answer(StatusCode::SERVICE_UNAVAILABLE, Value::Null);
    }
    if !access.allow() {
        tracing::warn!("snapshot request was rate limited");
        return answer(StatusCode::TOO_MANY_REQUESTS, Value::Null);
    }
    let started = Instant::now();
    let (zxid, bytes) = match source.take_snapshot().await {
        Ok(taken) => taken,
        Err(reason) => {
            tracing::warn!(%reason, "the snapshot command could not take a snapshot");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, Value::Null);
        }
    };
    tracing::info!(
        zxid = format_args!("{zxid:#x}"),
        bytes = bytes.len(),
        took_ms = started.elapsed().as_millis() as u64,
        streaming,
        "snapshot taken for the snapshot command"
    );
    let size = bytes.len();
    let mut response = if streaming {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            bytes,
        )
            .into_response()
    } else {
        answer(StatusCode::OK, Value::Null)
    };
    let headers = response.headers_mut();
    headers.insert(
        "last_zxid",
        HeaderValue::from_str(&format!("0x{zxid:x}")).expect("hex is a header value"),
    );
    headers.insert("snapshot_size", HeaderValue::from(size));
    response
}

/// Apache's JSON answer: the command's primary name and the error (or null).
fn answer(status: StatusCode, error: Value) -> Response {
    let body = json!({ "command": NAMES[0], "error": error });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(&body).unwrap_or_default(),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
