//! Output formats checked against text recorded from Apache ZooKeeper 3.8 (the seed scenario), with this
//! server's version line.

use std::path::Path;
use std::sync::Mutex;

use super::*;
use crate::config::{ServerConfig, load_with_properties};
use crate::quantiles::Percentiles;
use crate::session::ExpiryBucket;
use crate::summary::{QuantileFigures, SummaryFigures};

/// Fixed figures standing for a running server.
struct Fixed {
    config: ServerConfig,
    mode: Mode,
    serving: bool,
    synchronizing: bool,
    read_only: bool,
    stats: Mutex<StatsSnapshot>,
    connections: Vec<ConnectionInfo>,
}

impl ServerInfo for Fixed {
    fn config(&self) -> &ServerConfig {
        &self.config
    }
    fn mode(&self) -> Mode {
        self.mode
    }
    fn is_serving(&self) -> bool {
        self.serving && !self.synchronizing
    }
    fn synchronizing(&self) -> bool {
        self.synchronizing
    }
    fn is_read_only(&self) -> bool {
        self.read_only
    }
    fn client_port(&self) -> u16 {
        2181
    }
    fn stats(&self) -> StatsSnapshot {
        *self.stats.lock().unwrap()
    }
    fn reset_stats(&self) {
        *self.stats.lock().unwrap() = StatsSnapshot::default();
    }
    fn connections(&self) -> Vec<ConnectionInfo> {
        self.connections.clone()
    }
    fn reset_connection_stats(&self) {}
    fn last_zxid(&self) -> i64 {
        0x1_0000_0003
    }
    fn data_summary(&self) -> DataSummary {
        DataSummary {
            znode_count: 5,
            approximate_data_size: 102,
            ..DataSummary::default()
        }
    }
    fn quorum_summary(&self) -> QuorumSummary {
        QuorumSummary {
            proposal_sizes: (48, 48, 185),
            quorum_size: 1,
            ..QuorumSummary::default()
        }
    }
    fn write_path(&self) -> WritePathSummary {
        WritePathSummary {
            log_batch_sizes: QuantileFigures {
                summary: SummaryFigures {
                    count: 3,
                    sum: 70,
                    min: 1,
                    max: 64,
                },
                recent: Percentiles::default(),
            },
            fsync_ms: QuantileFigures {
                summary: SummaryFigures {
                    count: 3,
                    sum: 4,
                    min: 1,
                    max: 2,
                },
                recent: Percentiles::default(),
            },
            commit_count: 70,
        }
    }
    fn watches_by_path(&self) -> Vec<(String, Vec<i64>)> {
        vec![("/app".into(), vec![0x193ca20004, 0x193ca20005])]
    }
    fn watches_by_session(&self) -> Vec<(i64, Vec<String>)> {
        vec![(0x193ca20004, vec!["/app".into(), "/b".into()])]
    }
    fn ephemerals(&self) -> Vec<(i64, Vec<String>)> {
        vec![(0x193ca20006, vec!["/app/eph".into()])]
    }
    fn session_buckets(&self) -> Vec<ExpiryBucket> {
        vec![ExpiryBucket {
            expires_at_ms: 1_795_595_010_000,
            sessions: vec![0x193ca20006],
        }]
    }
    fn membership_text(&self) -> String {
        self.config
            .membership
            .config_text()
            .replace("version=0", "version=100000000")
    }
    fn uptime_ms(&self) -> u64 {
        7571
    }
    fn leader_id(&self) -> Option<u64> {
        Some(0)
    }
}

fn seed_config(dir: &Path, whitelist: &str) -> ServerConfig {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/myid"), "0\n").unwrap();
    let cfg = dir.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "initLimit=10\nsyncLimit=5\nskipACL=yes\n4lw.commands.whitelist={whitelist}\nclientPort=2181\n\
             tickTime=2000\ndataDir={0}/data\ndataLogDir={0}/datalog\nstandaloneEnabled=false\n\
             reconfigEnabled=true\nadmin.enableServer=false\nserver.0=127.0.0.1:2888:3888\n",
            dir.display()
        ),
    )
    .unwrap();
    load_with_properties(&cfg, Vec::new()).unwrap()
}

fn fixed(dir: &Path, whitelist: &str) -> Fixed {
    Fixed {
        config: seed_config(dir, whitelist),
        mode: Mode::Leader,
        serving: true,
        synchronizing: false,
        read_only: false,
        stats: Mutex::new(StatsSnapshot {
            min_latency_ms: 0,
            avg_latency_ms: 3.833333,
            max_latency_ms: 11,
            packets_received: 14,
            packets_sent: 15,
            alive_connections: 1,
            update_latency: QuantileFigures {
                summary: SummaryFigures {
                    count: 2,
                    sum: 13,
                    min: 2,
                    max: 11,
                },
                recent: Percentiles {
                    p50: Some(2),
                    p90: Some(11),
                    p95: Some(11),
                    p99: Some(11),
                    p999: Some(11),
                },
            },
            ..StatsSnapshot::default()
        }),
        connections: vec![ConnectionInfo {
            remote: "127.0.0.1:51760".parse().unwrap(),
            reading: false,
            outstanding: 0,
            received: 1,
            sent: 0,
            session: None,
        }],
    }
}

fn version_line() -> String {
    format!("Zookeeper version: {}\n", full_version())
}

#[test]
fn srvr_and_stat_match_apache() {
    let dir = tempfile::tempdir().unwrap();
    let info = fixed(dir.path(), "*");
    let body = "Latency min/avg/max: 0/3.8333/11\nReceived: 14\nSent: 15\nConnections: 1\nOutstanding: 0\n\
                Zxid: 0x100000003\nMode: leader\nNode count: 5\nProposal sizes last/min/max: 48/48/185\n";
    assert_eq!(execute("srvr", &info), format!("{}{body}", version_line()));
    assert_eq!(
        execute("stat", &info),
        format!(
            "{}Clients:\n /127.0.0.1:51760[0](queued=0,recved=1,sent=0)\n\n{body}",
            version_line()
        )
    );
}

#[test]
fn followers_print_no_proposal_sizes_and_idle_latency_is_zero_point_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut info = fixed(dir.path(), "*");
    info.mode = Mode::Follower;
    *info.stats.lock().unwrap() = StatsSnapshot::default();
    let out = execute("srvr", &info);
    assert!(out.contains("Latency min/avg/max: 0/0.0/0\n"), "{out}");
    assert!(out.ends_with("Mode: follower\nNode count: 5\n"), "{out}");
}

#[test]
fn conf_matches_apache_for_the_seed_leader() {
    let dir = tempfile::tempdir().unwrap();
    let info = fixed(dir.path(), "*");
    let d = std::path::absolute(dir.path()).unwrap();
    let expected = format!(
        "clientPort=2181\nsecureClientPort=-1\ndataDir={0}/data\ndataDirSize=2\ndataLogDir={0}/datalog\n\
         dataLogSize=0\ntickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n\
         clientPortListenBacklog=-1\nserverId=0\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\n\
         quorumPort=2888\npeerType=0\nmembership: \nserver.0=127.0.0.1:2888:3888:participant\nversion=100000000",
        d.display()
    );
    assert_eq!(execute("conf", &info), expected);
}

#[test]
fn whitelist_refusal_ruok_isro_and_not_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut info = fixed(dir.path(), "ruok,isro");
    assert_eq!(
        execute("stat", &info),
        "stat is not executed because it is not in the whitelist.\n"
    );
    assert_eq!(execute("ruok", &info), "imok");
    assert_eq!(execute("isro", &info), "rw");
    info.serving = false;
    assert_eq!(execute("srvr", &info), NOT_SERVING);
    assert_eq!(execute("isro", &info), "null");
}

#[test]
fn a_member_refusing_writes_answers_isro_ro_even_when_not_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut info = fixed(dir.path(), "isro,srvr");
    info.read_only = true;
    assert_eq!(execute("isro", &info), "ro");
    assert!(execute("srvr", &info).starts_with("Zookeeper version: "));
    assert!(execute("srvr", &info).contains("READ-ONLY mode"));
    // A follower whose volume is full falls behind and is soon cut off: it still says why.
    info.serving = false;
    assert_eq!(execute("isro", &info), "ro");
    assert_eq!(execute("srvr", &info), NOT_SERVING);
}

#[test]
fn watch_and_dump_formats() {
    let dir = tempfile::tempdir().unwrap();
    let info = fixed(dir.path(), "*");
    assert_eq!(
        execute("wchs", &info),
        "0 connections watching 0 paths\nTotal watches:0\n"
    );
    assert_eq!(
        execute("wchp", &info),
        "/app\n\t0x193ca20004\n\t0x193ca20005\n\n"
    );
    assert_eq!(execute("wchc", &info), "0x193ca20004\n\t/app\n\t/b\n\n");
    let dump = execute("dump", &info);
    assert!(
        dump.starts_with(
            "SessionTracker dump:\nSession Sets (1)/(1):\n1 expire at Wed Nov 25 08:23:30 UTC 2026:\n\t0x193ca20006\n\
             ephemeral nodes dump:\nSessions with Ephemerals (1):\n0x193ca20006:\n\t/app/eph\nConnections dump:\n\
             Connections Sets (1)/(1):\n"
        ),
        "{dump}"
    );
    assert!(
        dump.ends_with("\tip: /127.0.0.1:51760 sessionId: 0x0\n"),
        "{dump}"
    );
}

#[test]
fn cons_prints_session_details() {
    let dir = tempfile::tempdir().unwrap();
    let mut info = fixed(dir.path(), "*");
    info.connections[0].reading = true;
    info.connections[0].session = Some(ConnectionSession {
        id: 0x193ca20004,
        last_operation: "PING".into(),
        established_ms: 1_795_595_010_000,
        timeout_ms: 30000,
        last_cxid: 3,
        last_zxid: 0x1_0000_0002,
        last_response_ms: 1_795_595_011_000,
        last_latency_ms: 1,
        min_latency_ms: 0,
        avg_latency_ms: 1,
        max_latency_ms: 4,
    });
    assert_eq!(
        execute("cons", &info),
        " /127.0.0.1:51760[1](queued=0,recved=1,sent=0,sid=0x193ca20004,lop=PING,est=1795595010000,to=30000,\
         lcxid=0x3,lzxid=0x100000002,lresp=1795595011000,llat=1,minlat=0,avglat=1,maxlat=4)\n\n"
    );
}

#[test]
fn mntr_has_apaches_keys_and_tab_separated_values() {
    let dir = tempfile::tempdir().unwrap();
    let info = fixed(dir.path(), "*");
    let out = execute("mntr", &info);
    let keys: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    let reference = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../reference/mntr-leader-apache-3.8.txt"
    ));
    let apache: Vec<&str> = reference
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    for key in &keys {
        assert!(apache.contains(key), "{key} is not an Apache mntr key");
    }
    // Every plain gauge and counter of Apache's leader, in Apache's order; of its summary sets
    // (min/max/avg/count/sum of internal timings) only those this server measures.
    let summary = [
        "zk_avg_", "zk_min_", "zk_max_", "zk_cnt_", "zk_sum_", "zk_p50_", "zk_p95_", "zk_p99_",
        "zk_p999_",
    ];
    let expected: Vec<&str> = apache
        .iter()
        .copied()
        .filter(|k| !summary.iter().any(|p| k.starts_with(p)) || keys.contains(k))
        .collect();
    assert_eq!(keys, expected);
    assert!(out.contains("zk_server_state\tleader\n"));
    assert!(out.contains("zk_peer_state\tleading - broadcast\n"));
    assert!(out.contains("zk_avg_latency\t3.8333\n"));
    assert!(out.contains("zk_znode_count\t5\n"));
    assert!(out.contains("zk_max_proposal_size\t185\n"));
    assert!(out.contains("zk_commit_count\t70\n"));
    assert!(out.contains(
        "zk_avg_fsynctime\t1.3333\nzk_min_fsynctime\t1\nzk_max_fsynctime\t2\nzk_cnt_fsynctime\t3\n\
         zk_sum_fsynctime\t4\n"
    ));
    assert!(out.contains(
        "zk_avg_sync_processor_batch_size\t23.3333\nzk_min_sync_processor_batch_size\t1\n\
         zk_max_sync_processor_batch_size\t64\nzk_cnt_sync_processor_batch_size\t3\n\
         zk_sum_sync_processor_batch_size\t70\n"
    ));
    assert!(out.contains(
        "zk_avg_updatelatency\t6.5\nzk_min_updatelatency\t2\nzk_max_updatelatency\t11\n\
         zk_cnt_updatelatency\t2\nzk_sum_updatelatency\t13\nzk_p50_updatelatency\t2\n\
         zk_p95_updatelatency\t11\nzk_p99_updatelatency\t11\nzk_p999_updatelatency\t11\n"
    ));
    // No read recorded: Apache prints an empty percentile counter's quantiles as 0.
    assert!(out.ends_with(
        "zk_cnt_readlatency\t0\nzk_sum_readlatency\t0\nzk_p50_readlatency\t0\n\
         zk_p95_readlatency\t0\nzk_p99_readlatency\t0\nzk_p999_readlatency\t0\n"
    ));
    assert!(out.starts_with(&format!("zk_version\t{}\n", full_version())));
}

#[test]
fn a_syncing_follower_reports_its_phase_in_mntr_and_is_not_serving_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let mut info = fixed(dir.path(), "*");
    info.mode = Mode::Follower;
    info.synchronizing = true;
    let out = execute("mntr", &info);
    assert!(out.contains("zk_server_state\tfollower\n"), "{out}");
    assert!(
        out.contains("zk_peer_state\tfollowing - synchronization\n"),
        "{out}"
    );
    // Apache's member answers these only once it has synced with its leader.
    assert_eq!(execute("srvr", &info), NOT_SERVING);
    assert_eq!(execute("stat", &info), NOT_SERVING);
    assert_eq!(execute("isro", &info), "null");
    assert_eq!(execute("ruok", &info), "imok");

    info.synchronizing = false;
    assert!(execute("mntr", &info).contains("zk_peer_state\tfollowing - broadcast\n"));
    assert!(execute("srvr", &info).contains("Mode: follower\n"));
    info.mode = Mode::Observer;
    assert!(execute("mntr", &info).contains("zk_peer_state\tobserving - broadcast\n"));
}

#[test]
fn a_read_only_member_prints_no_peer_state_as_apache() {
    let dir = tempfile::tempdir().unwrap();
    let mut info = fixed(dir.path(), "*");
    info.mode = Mode::ReadOnly;
    let out = execute("mntr", &info);
    assert!(out.contains("zk_server_state\tread-only\n"), "{out}");
    assert!(!out.contains("zk_peer_state"), "{out}");
}

#[test]
fn srst_resets_counters() {
    let dir = tempfile::tempdir().unwrap();
    let info = fixed(dir.path(), "*");
    assert_eq!(execute("srst", &info), "Server stats reset.\n");
    assert!(execute("srvr", &info).contains("Received: 0\n"));
    assert_eq!(execute("crst", &info), "Connection stats reset.\n");
}

#[test]
fn four_letter_words_are_recognised_from_the_first_bytes() {
    assert_eq!(command_of(*b"ruok"), Some("ruok"));
    assert_eq!(command_of(*b"mntr"), Some("mntr"));
    assert_eq!(command_of(*b"xyzw"), None);
    assert_eq!(command_of([0, 0, 0, 45]), None);
}
