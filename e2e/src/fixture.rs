//! The znodes a migration must carry besides plain ones: znodes under a digest ACL (some with their ACL set
//! again), data set again (versions), persistent-sequential znodes, and ephemerals (one plain, one sequential) of
//! a session that stays open across the migration.

use std::time::Duration;

use zookeeper_client::{Acl, Acls, AuthId, Client, CreateMode, Permission};

use crate::zookeeper::connect;
use crate::{Error, Result};

/// The digest credential (`user:password`) that owns the ACL'd znodes; reading them all needs it.
pub const CREDENTIAL: &[u8] = b"migrate:secret";

/// ACL'd znodes `acl-<i>`, and persistent-sequential znodes under `seq`.
const COUNT: usize = 60;

/// The open session and its ephemerals.
pub struct LiveSession {
    /// The session's client.
    pub client: Client,
    /// Its plain ephemeral and its ephemeral-sequential znode.
    pub ephemerals: Vec<String>,
}

impl LiveSession {
    /// Checks, through the session itself (retrying while it reconnects, for up to `timeout`), that it is
    /// the same session and still owns its ephemerals.
    pub async fn check(&self, timeout: Duration) -> Result<()> {
        let owner = self.client.session_id().0;
        let start = std::time::Instant::now();
        for path in &self.ephemerals {
            let stat = loop {
                match self.client.check_stat(path).await {
                    Ok(stat) => break stat,
                    Err(
                        zookeeper_client::Error::ConnectionLoss
                        | zookeeper_client::Error::Custom(_),
                    ) if start.elapsed() < timeout => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => {
                        return Err(Error::Unexpected(format!(
                            "the live session {owner:#x} on {path}: {e}"
                        )));
                    }
                }
            };
            match stat {
                Some(stat) if stat.ephemeral_owner == owner => {}
                other => {
                    return Err(Error::Unexpected(format!(
                        "ephemeral {path} of the live session {owner:#x}: {other:?}"
                    )));
                }
            }
        }
        Ok(())
    }
}

fn zk_err(what: String) -> impl FnOnce(zookeeper_client::Error) -> Error {
    move |source| Error::Unexpected(format!("{what}: {source}"))
}

/// Writes the fixture under `root` (which must exist) through `address`, and opens the live session, with
/// `session_timeout`, holding `<root>/live` and `<root>/live-<sequence>`.
pub async fn write(address: &str, root: &str, session_timeout: Duration) -> Result<LiveSession> {
    let client = connect(address).await?;
    client
        .auth("digest", CREDENTIAL)
        .await
        .map_err(zk_err(format!("{address}: digest auth")))?;
    // The authenticated identity gets everything, anyone may read; every fourth znode only the identity.
    let shared = [
        Acl::new(Permission::ALL, AuthId::authed()),
        Acl::new(Permission::READ, AuthId::anyone()),
    ];
    for i in 0..COUNT {
        let path = format!("{root}/acl-{i}");
        let acls = if i % 4 == 0 {
            Acls::creator_all()
        } else {
            Acls::new(&shared)
        };
        let options = CreateMode::Persistent.with_acls(acls);
        client
            .create(&path, format!("acl {i}").as_bytes(), &options)
            .await
            .map_err(zk_err(format!("create {path}")))?;
        if i % 3 == 0 {
            for round in 0..2 {
                client
                    .set_data(&path, format!("acl {i} set {round}").as_bytes(), None)
                    .await
                    .map_err(zk_err(format!("set {path}")))?;
            }
        }
        if i % 5 == 0 {
            client
                .set_acl(&path, &shared[..1], None)
                .await
                .map_err(zk_err(format!("setACL {path}")))?;
        }
    }
    let seq = format!("{root}/seq");
    let open = CreateMode::Persistent.with_acls(Acls::anyone_all());
    client
        .create(&seq, b"", &open)
        .await
        .map_err(zk_err(format!("create {seq}")))?;
    let sequential = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    for i in 0..COUNT {
        client
            .create(&format!("{seq}/n-"), i.to_string().as_bytes(), &sequential)
            .await
            .map_err(zk_err(format!("create under {seq}")))?;
    }
    drop(client);

    let live = Client::connector()
        .with_session_timeout(session_timeout)
        .with_connection_timeout(Duration::from_secs(5))
        .connect(address)
        .await
        .map_err(zk_err(format!("{address}: connect the live session")))?;
    let plain = format!("{root}/live");
    live.create(
        &plain,
        b"live",
        &CreateMode::Ephemeral.with_acls(Acls::anyone_all()),
    )
    .await
    .map_err(zk_err(format!("create {plain}")))?;
    let (_, sequence) = live
        .create(
            &format!("{root}/live-"),
            b"live sequential",
            &CreateMode::EphemeralSequential.with_acls(Acls::anyone_all()),
        )
        .await
        .map_err(zk_err(format!("create {root}/live-")))?;
    Ok(LiveSession {
        client: live,
        ephemerals: vec![plain, format!("{root}/live-{sequence}")],
    })
}
