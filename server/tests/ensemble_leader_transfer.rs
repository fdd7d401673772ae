//! Leadership handed over through the AdminServer's `leader_transfer` on a three-member ensemble in
//! this process, while clients write through the old leader and through another follower: the
//! named follower leads at once, no write fails, writes go on, the old leader follows; the longest
//! pause between acknowledged writes is printed. Refusals: on a
//! follower, for an unknown member, and the no-op of naming the leader itself.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TestServer, four_letter_word, http_get, start_ensemble};
use zk_server::consensus::Role;
use zookeeper_client::{Acls, Client, CreateMode};

const SETTINGS: &str =
    "admin.enableServer=true\nadmin.serverPort=0\n4lw.commands.whitelist=*\nskipACL=yes\n";

/// `leader_transfer` with `query` on `member`'s AdminServer: status line and JSON body.
async fn transfer(member: &TestServer, query: &str) -> (String, serde_json::Value) {
    let port = member.server.admin_address().unwrap().port();
    let admin = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let (status, body) = http_get(admin, &format!("/commands/leader_transfer{query}")).await;
    (status, serde_json::from_str(&body).unwrap())
}

fn leader_of(members: &[TestServer]) -> usize {
    members
        .iter()
        .position(|m| m.server.context().role() == Role::Leader)
        .expect("a leader")
}

/// Waits until `member`'s `mntr` reports `state` as its `zk_peer_state`.
async fn wait_peer_state(member: &TestServer, state: &str) {
    let line = format!("zk_peer_state\t{state}\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mntr = four_letter_word(member.addr(), "mntr").await;
        if mntr.contains(&line) {
            return;
        }
        assert!(Instant::now() < deadline, "never {state}: {mntr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one writer saw: when each write was acknowledged, and how many failed (and were sent
/// again).
struct Writes {
    acked: Vec<Instant>,
    failed: usize,
    last_value: u64,
}

impl Writes {
    /// The longest time between two acknowledgements, or between `from` and the first one after it.
    fn longest_pause_after(&self, from: Instant) -> Duration {
        let mut previous = from;
        let mut longest = Duration::ZERO;
        for at in self.acked.iter().filter(|at| **at > from) {
            longest = longest.max(at.duration_since(previous));
            previous = *at;
        }
        longest
    }
}

/// Sets `path` to 1, 2, 3, … one write at a time through `member` until `stop`, recording in
/// `writes`; a failed write is sent again (the value is the same, so a write that failed after it
/// applied changes nothing).
async fn write(
    member: String,
    path: &'static str,
    writes: Arc<Mutex<Writes>>,
    stop: Arc<AtomicBool>,
) {
    let client = Client::connect(&member).await.unwrap();
    let mut value = 1u64;
    while !stop.load(Ordering::Relaxed) {
        let written = client.set_data(path, &value.to_be_bytes(), None).await;
        let mut writes = writes.lock().unwrap();
        match written {
            Ok(_) => {
                writes.acked.push(Instant::now());
                writes.last_value = value;
                value += 1;
            }
            Err(_) => writes.failed += 1,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_moves_to_the_named_follower_while_clients_write() {
    let members = start_ensemble(3, SETTINGS).await;
    let old = leader_of(&members);
    let target = (old + 1) % 3;
    let bystander = (old + 2) % 3;
    let target_id = target as u64 + 1;
    wait_peer_state(&members[old], "leading - broadcast").await;
    wait_peer_state(&members[target], "following - broadcast").await;

    let setup = Client::connect(&members[old].connect_string())
        .await
        .unwrap();
    for path in ["/via-leader", "/via-follower"] {
        let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
        setup.create(path, b"0", &options).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers = [(old, "/via-leader"), (bystander, "/via-follower")].map(|(member, path)| {
        let writes = Arc::new(Mutex::new(Writes {
            acked: Vec::new(),
            failed: 0,
            last_value: 0,
        }));
        let task = tokio::spawn(write(
            members[member].connect_string(),
            path,
            writes.clone(),
            stop.clone(),
        ));
        (path, writes, task)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let (status, answer) = transfer(&members[old], &format!("?to={target_id}")).await;
    let answered = started.elapsed();
    assert!(status.contains("200"), "{status} {answer}");
    assert_eq!(answer["leader_id"], target_id);
    assert_eq!(answer["previous_leader_id"], old as u64 + 1);
    assert_eq!(answer["error"], serde_json::Value::Null);
    assert_eq!(members[target].server.context().role(), Role::Leader);
    wait_peer_state(&members[old], "following - broadcast").await;
    assert_eq!(members[old].server.context().role(), Role::Follower);

    // Writes go on through both members after the hand-over.
    let deadline = Instant::now() + Duration::from_secs(20);
    for (path, writes, _) in &writers {
        while writes
            .lock()
            .unwrap()
            .acked
            .iter()
            .filter(|at| **at > started)
            .count()
            < 20
        {
            assert!(Instant::now() < deadline, "writes to {path} did not go on");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut report = Vec::new();
    for (path, writes, task) in writers {
        task.await.unwrap();
        let (pause, failed, last_value) = {
            let writes = writes.lock().unwrap();
            (
                writes.longest_pause_after(started),
                writes.failed,
                writes.last_value,
            )
        };
        assert!(
            pause < Duration::from_secs(10),
            "writes to {path} stopped for {pause:?}"
        );
        report.push(format!(
            "{path}: longest pause {pause:.1?}, {failed} writes failed and were sent again"
        ));
        for member in &members {
            let client = Client::connect(&member.connect_string()).await.unwrap();
            client.sync(path).await.unwrap();
            let (data, _) = client.get_data(path).await.unwrap();
            assert_eq!(data, last_value.to_be_bytes(), "{path} on a member");
        }
    }
    println!(
        "leader_transfer answered after {answered:.1?} (took_ms {}); {}",
        answer["took_ms"],
        report.join("; ")
    );
    for member in members {
        member.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_the_best_synced_follower() {
    let members = start_ensemble(3, SETTINGS).await;
    let leader = leader_of(&members);
    let follower = (leader + 1) % 3;

    let (status, answer) = transfer(&members[follower], "").await;
    assert!(status.contains("409"), "{status} {answer}");
    assert_eq!(answer["leader_id"], leader as u64 + 1);

    let (status, answer) = transfer(&members[leader], "?to=9").await;
    assert!(status.contains("400"), "{status} {answer}");
    assert_eq!(answer["error"], "member 9 is not in the configuration");
    let (status, _) = transfer(&members[leader], "?to=two").await;
    assert!(status.contains("400"), "{status}");

    let (status, answer) = transfer(&members[leader], &format!("?to={}", leader + 1)).await;
    assert!(status.contains("200"), "{status} {answer}");
    assert_eq!(
        answer["leader_id"],
        leader as u64 + 1,
        "naming the leader changes nothing"
    );
    assert_eq!(members[leader].server.context().role(), Role::Leader);

    let (status, answer) = transfer(&members[leader], "").await;
    assert!(status.contains("200"), "{status} {answer}");
    let new_leader = answer["leader_id"].as_u64().unwrap();
    assert_ne!(new_leader, leader as u64 + 1);
    assert_eq!(
        members[new_leader as usize - 1].server.context().role(),
        Role::Leader
    );
    for member in members {
        member.server.shutdown().await;
    }
}
