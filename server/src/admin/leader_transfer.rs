//! `leader_transfer`: hands leadership to a synced follower, so that the leader can be restarted
//! without the ensemble waiting out an election timeout (the operator calls it before it restarts
//! a leader). Apache ZooKeeper has no such command; the answer has the shape of Apache's
//! AdminServer answers (JSON with `command` and `error`).
//!
//! `GET` or `POST <commandURL>/leader_transfer[?to=<id>]`, on the leader:
//!
//! | outcome | status | body besides `command`, `error` |
//! |---|---|---|
//! | another member leads now | 200 | `leader_id` (the new leader), `previous_leader_id`, `took_ms` |
//! | `to` is this leader | 200 | the same, `leader_id` = `previous_leader_id`, nothing changed |
//! | `to` is not a server id | 400 | |
//! | `to` is not in the configuration, or is not a voter | 400 | |
//! | this member does not lead | 409 | `leader_id` (the leader it knows of, -1 if none) |
//! | `to` is not synced with the leader, or no voter is (no `to`) | 409 | |
//! | nobody took over in time (an election follows) | 504 | |
//! | the member is shutting down | 503 | |

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use serde_json::{Value, json};

use super::commands::CommandOutput;
use crate::consensus::TransferError;

/// The command's name.
pub const NAME: &str = "leader_transfer";

/// A hand-over under way: resolves to the member that leads afterwards.
pub type Transfer<'a> = Pin<Box<dyn Future<Output = Result<u64, TransferError>> + Send + 'a>>;

/// What `leader_transfer` needs from the running server.
pub trait LeaderTransfer: Send + Sync {
    /// This member's id (`myid`).
    fn my_id(&self) -> u64;
    /// Hands leadership over to `to` (or to the best synced voter) and resolves to the member that
    /// leads afterwards.
    fn transfer_leadership(&self, to: Option<u64>) -> Transfer<'_>;
}

/// Runs the command with the request's query string (`to=<id>`, or nothing).
pub async fn run(control: &dyn LeaderTransfer, query: Option<&str>) -> CommandOutput {
    let to = match target(query.unwrap_or_default()) {
        Ok(to) => to,
        Err(reason) => return answer(400, json!({ "error": reason })),
    };
    let started = Instant::now();
    match control.transfer_leadership(to).await {
        Ok(leader) => answer(
            200,
            json!({
                "error": null,
                "leader_id": leader,
                "previous_leader_id": control.my_id(),
                "took_ms": started.elapsed().as_millis() as u64,
            }),
        ),
        Err(e) => {
            let status = match &e {
                TransferError::UnknownMember(_) | TransferError::NotVoter(_) => 400,
                TransferError::NotLeader { .. }
                | TransferError::NotSynced(_)
                | TransferError::NoSyncedFollower => 409,
                TransferError::TimedOut(_) => 504,
                TransferError::Shutdown => 503,
            };
            let mut body = json!({ "error": e.to_string() });
            if let TransferError::NotLeader { leader } = e {
                body["leader_id"] = json!(leader.map_or(-1, |id| id as i64));
            }
            answer(status, body)
        }
    }
}

/// The target named by the query string: `to=<id>`, or none.
fn target(query: &str) -> Result<Option<u64>, String> {
    let mut to = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("to", id)) => {
                let id = id
                    .parse()
                    .map_err(|_| format!("to={id} is not a server id"))?;
                to = Some(id);
            }
            _ => return Err(format!("unknown parameter {pair} (only to=<id>)")),
        }
    }
    Ok(to)
}

fn answer(status: u16, mut body: Value) -> CommandOutput {
    body["command"] = json!(NAME);
    CommandOutput { status, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member that leads (or not) and hands over to whoever is asked, or refuses.
    struct Fixed(Result<u64, fn() -> TransferError>);

    impl LeaderTransfer for Fixed {
        fn my_id(&self) -> u64 {
            1
        }
        fn transfer_leadership(&self, to: Option<u64>) -> Transfer<'_> {
            let outcome = self.0.map(|best| to.unwrap_or(best)).map_err(|e| e());
            Box::pin(async move { outcome })
        }
    }

    #[tokio::test]
    async fn answers_the_new_leader_or_the_reason() {
        let output = run(&Fixed(Ok(3)), Some("to=2")).await;
        assert_eq!(output.status, 200);
        assert_eq!(output.body["leader_id"], 2);
        assert_eq!(output.body["previous_leader_id"], 1);
        assert_eq!(output.body["command"], NAME);
        assert_eq!(output.body["error"], Value::Null);
        assert_eq!(run(&Fixed(Ok(3)), None).await.body["leader_id"], 3);

        let refused = run(
            &Fixed(Err(|| TransferError::NotLeader { leader: Some(2) })),
            None,
        )
        .await;
        assert_eq!(refused.status, 409);
        assert_eq!(refused.body["leader_id"], 2);
        assert!(
            refused.body["error"]
                .as_str()
                .unwrap()
                .contains("does not lead")
        );
        let unsynced = run(&Fixed(Err(|| TransferError::NotSynced(3))), Some("to=3")).await;
        assert_eq!(unsynced.status, 409);
        let unknown = run(
            &Fixed(Err(|| TransferError::UnknownMember(9))),
            Some("to=9"),
        )
        .await;
        assert_eq!(unknown.status, 400);
        assert_eq!(run(&Fixed(Ok(3)), Some("to=x")).await.status, 400);
        assert_eq!(run(&Fixed(Ok(3)), Some("from=2")).await.status, 400);
    }
}
