//! Four-letter words and AdminServer commands against a running server, and the write path's
//! figures in `mntr` on a standalone server and on a three-member ensemble.

mod common;

use common::{four_letter_word, http_get, start, start_ensemble};
use futures::future::join_all;
use zk_server::consensus::Role;
use zk_server::fourlw::full_version;
use zookeeper_client::{Acls, Client, CreateMode};

/// The value of `key` in a `mntr` reply, as a number.
fn metric(mntr: &str, key: &str) -> f64 {
    mntr.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('\t'))
        .unwrap_or_else(|| panic!("no {key} in {mntr}"))
        .parse()
        .unwrap()
}

/// Creates `count` znodes through `address`, all sent at once.
async fn create_many(address: &str, count: usize) {
    let client = Client::connect(address).await.unwrap();
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let paths: Vec<String> = (0..count).map(|i| format!("/n{i}")).collect();
    for created in join_all(paths.iter().map(|p| client.create(p, b"x", &options))).await {
        created.unwrap();
    }
}

/// Waits (up to 10 s) until the fsync count `mntr` reports stays the same for 300 ms.
async fn settle_fsyncs(addr: std::net::SocketAddr) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = metric(&four_letter_word(addr, "mntr").await, "zk_cnt_fsynctime");
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = metric(&four_letter_word(addr, "mntr").await, "zk_cnt_fsynctime");
        if now == last {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the log never went idle"
        );
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mntr_reports_log_batches_fsyncs_and_commits_of_the_real_write_path() {
    const WRITES: usize = 200;
    let server = start("4lw.commands.whitelist=*\n").await;
    create_many(&server.connect_string(), WRITES).await;
    // A pass counts its batch before its fsync ends (and the session's close is one more pass):
    // compare the two counts once the log is idle.
    settle_fsyncs(server.addr()).await;
    let mntr = four_letter_word(server.addr(), "mntr").await;
    let batches = metric(&mntr, "zk_cnt_sync_processor_batch_size");
    let entries = metric(&mntr, "zk_sum_sync_processor_batch_size");
    assert!(batches >= 1.0 && entries >= WRITES as f64, "{mntr}");
    assert!(
        metric(&mntr, "zk_max_sync_processor_batch_size") >= 1.0,
        "{mntr}"
    );
    assert!(
        metric(&mntr, "zk_cnt_fsynctime") >= batches,
        "one fsync per pass: {mntr}"
    );
    assert_eq!(
        metric(&mntr, "zk_commit_count"),
        0.0,
        "standalone, as Apache"
    );
    assert_eq!(
        four_letter_word(server.addr(), "srst").await,
        "Server stats reset.\n"
    );
    let mntr = four_letter_word(server.addr(), "mntr").await;
    assert_eq!(metric(&mntr, "zk_cnt_fsynctime"), 0.0, "{mntr}");

    let members = start_ensemble(3, "4lw.commands.whitelist=*\nskipACL=yes\n").await;
    let leader = members
        .iter()
        .position(|m| m.server.context().role() == Role::Leader)
        .unwrap();
    let follower = &members[(leader + 1) % 3];
    create_many(&follower.connect_string(), WRITES).await;
    let leader_mntr = four_letter_word(members[leader].addr(), "mntr").await;
    assert!(
        metric(&leader_mntr, "zk_commit_count") >= WRITES as f64,
        "{leader_mntr}"
    );
    let follower_mntr = four_letter_word(follower.addr(), "mntr").await;
    assert_eq!(metric(&follower_mntr, "zk_commit_count"), 0.0);
    for mntr in [&leader_mntr, &follower_mntr] {
        assert!(
            metric(mntr, "zk_sum_sync_processor_batch_size") >= WRITES as f64,
            "{mntr}"
        );
        assert!(metric(mntr, "zk_cnt_fsynctime") >= 1.0, "{mntr}");
    }
    println!(
        "leader: {} entries in {} log writes, fsync {} ms on average",
        metric(&leader_mntr, "zk_sum_sync_processor_batch_size"),
        metric(&leader_mntr, "zk_cnt_sync_processor_batch_size"),
        metric(&leader_mntr, "zk_avg_fsynctime")
    );
    for member in members {
        member.server.shutdown().await;
    }
}

#[tokio::test]
async fn default_whitelist_allows_srvr_only() {
    let server = start("").await;
    let srvr = four_letter_word(server.addr(), "srvr").await;
    assert!(
        srvr.starts_with(&format!("Zookeeper version: {}\n", full_version())),
        "{srvr}"
    );
    assert!(srvr.contains("\nMode: standalone\n"), "{srvr}");
    assert!(srvr.contains("\nNode count: "), "{srvr}");
    assert_eq!(
        four_letter_word(server.addr(), "ruok").await,
        "ruok is not executed because it is not in the whitelist.\n"
    );
}

#[tokio::test]
async fn whitelisted_words_answer_in_apaches_formats() {
    let server = start("4lw.commands.whitelist=*\n").await;
    let addr = server.addr();
    assert_eq!(four_letter_word(addr, "ruok").await, "imok");
    assert_eq!(four_letter_word(addr, "isro").await, "rw");
    let stat = four_letter_word(addr, "stat").await;
    assert!(stat.contains("Clients:\n /127.0.0.1:"), "{stat}");
    assert!(stat.contains("[0](queued=0,recved=1,sent=0)\n\n"), "{stat}");
    let conf = four_letter_word(addr, "conf").await;
    assert!(
        conf.starts_with(&format!(
            "clientPort={}\nsecureClientPort=-1\n",
            addr.port()
        )),
        "{conf}"
    );
    assert!(conf.contains(
        "\ntickTime=200\nmaxClientCnxns=60\nminSessionTimeout=400\nmaxSessionTimeout=4000\n"
    ));
    let mntr = four_letter_word(addr, "mntr").await;
    assert!(mntr.contains("zk_server_state\tstandalone\n"), "{mntr}");
    assert!(mntr.contains("zk_num_alive_connections\t1\n"), "{mntr}");
    assert!(four_letter_word(addr, "envi").await.starts_with(&format!(
        "Environment:\nzookeeper.version={}\n",
        full_version()
    )));
    assert_eq!(
        four_letter_word(addr, "wchs").await,
        "0 connections watching 0 paths\nTotal watches:0\n"
    );
    assert!(
        four_letter_word(addr, "dump")
            .await
            .starts_with("SessionTracker dump:\nSession Sets (")
    );
    assert!(
        four_letter_word(addr, "dirs")
            .await
            .starts_with("datadir_size: ")
    );
    assert_eq!(
        four_letter_word(addr, "srst").await,
        "Server stats reset.\n"
    );
    assert_eq!(
        four_letter_word(addr, "crst").await,
        "Connection stats reset.\n"
    );
    let cons = four_letter_word(addr, "cons").await;
    assert!(
        cons.starts_with(" /127.0.0.1:") && cons.ends_with(")\n\n"),
        "{cons}"
    );
}

#[tokio::test]
async fn admin_server_answers_json() {
    let server = start("admin.enableServer=true\n").await;
    let admin = server.server.admin_address().expect("the AdminServer runs");
    let (status, body) = http_get(admin, "/commands/ruok").await;
    assert!(status.contains("200"), "{status}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["command"], "ruok");
    assert!(json["error"].is_null());

    let (_, body) = http_get(admin, "/commands/srvr").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["command"], "server_stats");
    assert_eq!(json["server_stats"]["server_state"], "standalone");
    assert_eq!(json["version"], full_version());

    let (_, body) = http_get(admin, "/commands/monitor").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["server_state"], "standalone");
    assert!(json["znode_count"].as_i64().unwrap() >= 4);

    let (_, body) = http_get(admin, "/commands/conf").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["tick_time"], 200);
    assert_eq!(json["client_port"], server.addr().port());

    let (status, body) = http_get(admin, "/commands/nope").await;
    assert!(status.contains("404"), "{status}");
    assert!(body.contains("Command not found: nope"));

    let (status, body) = http_get(admin, "/commands").await;
    assert!(status.contains("200"));
    assert!(body.contains("/commands/monitor"));
    assert!(body.contains("/commands/leader_transfer"));

    // Alone, the server has nobody to hand leadership to.
    let (status, body) = http_get(admin, "/commands/leader_transfer").await;
    assert!(status.contains("409"), "{status}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["command"], "leader_transfer");
    assert_eq!(json["error"], "no other voter is synced with the leader");
}
