use std::path::Path;

use super::*;

/// Writes `zoo.cfg` (with `{dir}` replaced by the temporary directory) and optionally `myid`.
fn setup(cfg: &str, my_id: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    if let Some(id) = my_id {
        std::fs::write(data.join("myid"), id).unwrap();
    }
    let path = dir.path().join("zoo.cfg");
    std::fs::write(
        &path,
        cfg.replace("{dir}", &dir.path().display().to_string()),
    )
    .unwrap();
    (dir, path)
}

fn load_ok(cfg: &str, my_id: Option<&str>, flags: &[(&str, &str)]) -> ServerConfig {
    let (_dir, path) = setup(cfg, my_id);
    let flags = flags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_with_properties(&path, flags).unwrap()
}

fn load_err(cfg: &str, my_id: Option<&str>) -> String {
    let (_dir, path) = setup(cfg, my_id);
    load_with_properties(&path, Vec::new())
        .unwrap_err()
        .to_string()
}

#[test]
fn standalone_defaults_are_apaches() {
    let c = load_ok("dataDir={dir}/data\nclientPort=2181\n", None, &[]);
    assert_eq!(c.tick_time_ms, 3000);
    assert_eq!(c.min_session_timeout_ms, 6000);
    assert_eq!(c.max_session_timeout_ms, 60000);
    assert_eq!(c.max_client_cnxns, 60);
    assert_eq!(c.jute_max_buffer, 0xfffff);
    assert_eq!(c.data_log_dir, c.data_dir);
    assert_eq!(
        c.client_address,
        Some(HostPort {
            host: "0.0.0.0".into(),
            port: 2181
        })
    );
    assert!(c.standalone_enabled && !c.reconfig_enabled && !c.skip_acl);
    assert!(c.admin.enabled);
    assert_eq!(c.admin.port, 8080);
    assert!(c.four_letter_whitelist.allows("srvr") && !c.four_letter_whitelist.allows("ruok"));
    assert!(!c.is_distributed());
    assert!(!c.quorum_listen_on_all_ips);
    assert_eq!(c.snap_retain_count, 3);
    assert_eq!(c.snap_count, 100_000);
    assert!(c.force_sync);
}

#[test]
fn seed_scenario_config_is_a_one_member_quorum() {
    let c = load_ok(
        "initLimit=10\nsyncLimit=5\nskipACL=yes\n4lw.commands.whitelist=*\nclientPort=2181\ntickTime=2000\n\
         dataDir={dir}/data\ndataLogDir={dir}/datalog\nstandaloneEnabled=false\nreconfigEnabled=true\n\
         admin.enableServer=false\nquorumListenOnAllIPs=true\nserver.0=127.0.0.1:2888:3888\n",
        Some("0\n"),
        &[],
    );
    assert!(c.is_distributed());
    assert!(c.quorum_listen_on_all_ips);
    assert_eq!(c.my_id, Some(0));
    assert!(c.skip_acl && c.reconfig_enabled && !c.admin.enabled);
    assert!(c.four_letter_whitelist.allows("mntr"));
    assert_eq!(c.min_session_timeout_ms, 4000);
    assert_eq!(c.max_session_timeout_ms, 40000);
    assert_eq!(
        c.membership.config_text(),
        "server.0=127.0.0.1:2888:3888:participant\nversion=0"
    );
    assert!(c.data_log_dir.ends_with("datalog"));
}

#[test]
fn own_client_address_comes_from_the_server_line() {
    let c = load_ok(
        "dataDir={dir}/data\ninitLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:2888:3888;127.0.0.1:2191\n\
         server.2=127.0.0.1:2889:3889;2192\n",
        Some("2"),
        &[],
    );
    assert_eq!(
        c.client_address,
        Some(HostPort {
            host: "0.0.0.0".into(),
            port: 2192
        })
    );
    let e = load_err(
        "dataDir={dir}/data\ninitLimit=5\nsyncLimit=2\nclientPort=2000\nserver.1=h:2888:3888;2191\n\
         server.2=h:2889:3889;2192\n",
        Some("1"),
    );
    assert!(e.contains("is different from client address"), "{e}");
}

#[test]
fn system_properties_and_zoo_cfg_fallbacks() {
    let c = load_ok(
        "dataDir={dir}/data\nclientPort=2181\n4lw.commands.whitelist=ruok\njute.maxbuffer=4096\n",
        None,
        &[
            ("zookeeper.skipACL", "yes"),
            (
                "zookeeper.DigestAuthenticationProvider.superDigest",
                "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
            ),
            ("zookeeper.4lw.commands.whitelist", "conf"),
            ("zookeeper.extendedTypesEnabled", "true"),
            ("zookeeper.admin.serverPort", "9090"),
        ],
    );
    assert!(c.skip_acl && c.extended_types_enabled);
    assert_eq!(
        c.super_digest.as_deref(),
        Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
    );
    assert!(
        c.four_letter_whitelist.allows("ruok"),
        "zoo.cfg overrides the flag as in Apache"
    );
    assert!(!c.four_letter_whitelist.allows("conf"));
    assert_eq!(c.jute_max_buffer, 4096);
    assert_eq!(c.admin.port, 9090);
    let c = load_ok(
        "dataDir={dir}/data\nclientPort=2181\nzookeeper.skipACL=yes\n",
        None,
        &[("jute.maxbuffer", "77")],
    );
    assert!(c.skip_acl);
    assert_eq!(c.jute_max_buffer, 77);
}

#[test]
fn force_sync_is_read_from_zoo_cfg_and_from_the_system_property() {
    let base = "dataDir={dir}/data\nclientPort=2181\n";
    assert!(!load_ok(&format!("{base}forceSync=no\n"), None, &[]).force_sync);
    assert!(!load_ok(base, None, &[("zookeeper.forceSync", "no")]).force_sync);
    assert!(load_ok(base, None, &[("zookeeper.forceSync", "yes")]).force_sync);
}

#[test]
fn invalid_values_name_the_key() {
    for (cfg, key) in [
        ("dataDir={dir}/data\nclientPort=abc\n", "clientPort"),
        (
            "dataDir={dir}/data\nclientPort=2181\ntickTime=-5\n",
            "tickTime",
        ),
        (
            "dataDir={dir}/data\nclientPort=2181\nstandaloneEnabled=maybe\n",
            "standaloneEnabled",
        ),
        (
            "dataDir={dir}/data\nclientPort=2181\nskipACL=sure\n",
            "skipACL",
        ),
        (
            "dataDir={dir}/data\nclientPort=2181\nmaxClientCnxns=many\n",
            "maxClientCnxns",
        ),
        (
            "dataDir={dir}/data\nclientPort=2181\njute.maxbuffer=big\n",
            "jute.maxbuffer",
        ),
        (
            "dataDir={dir}/data\nclientPort=2181\nadmin.serverPort=99999\n",
            "admin.serverPort",
        ),
        (
            "dataDir={dir}/data\nclientPort=2181\nstandaloneEnabled=false\nserver.x=h:1:2\n",
            "server.x",
        ),
    ] {
        let e = load_err(cfg, None);
        assert!(e.contains(key), "{cfg:?} gave {e}");
    }
}

#[test]
fn missing_and_contradictory_settings_use_apache_messages() {
    assert_eq!(load_err("clientPort=2181\n", None), "dataDir is not set");
    assert_eq!(
        load_err("dataDir={dir}/data\n", None),
        "clientPort is not set"
    );
    assert_eq!(
        load_err(
            "dataDir={dir}/data\nclientPort=1\nminSessionTimeout=9000\nmaxSessionTimeout=100\n",
            None
        ),
        "minSessionTimeout must not be larger than maxSessionTimeout"
    );
    assert_eq!(
        load_err(
            "dataDir={dir}/data\nclientPort=1\nstandaloneEnabled=false\nserver.0=h:1:2\n",
            Some("0")
        ),
        "initLimit is not set"
    );
    assert_eq!(
        load_err(
            "dataDir={dir}/data\nclientPort=1\ninitLimit=1\nsyncLimit=1\nserver.0=h:1:2\nserver.1=h:3:4\n",
            None
        ),
        "myid file is missing"
    );
    assert_eq!(
        load_err(
            "dataDir={dir}/data\nclientPort=1\nstandaloneEnabled=false\n",
            None
        ),
        "standaloneEnabled = false then number of participants should be >0"
    );
    let e = load_err("dataDir={dir}/data\nclientPort=1\nmyid=x\n", Some("abc"));
    assert!(e.contains("serverid abc is not a number"), "{e}");
}

#[test]
fn dynamic_config_file_holds_the_membership() {
    let (dir, path) = setup(
        "dataDir={dir}/data\ninitLimit=5\nsyncLimit=2\nstandaloneEnabled=false\nreconfigEnabled=true\n\
         dynamicConfigFile={dir}/zoo.cfg.dynamic.100000002\n",
        Some("1"),
    );
    std::fs::write(
        dir.path().join("zoo.cfg.dynamic.100000002"),
        "server.0=127.0.0.1:2888:3888:participant\nserver.1=127.0.0.1:2889:3889:participant;0.0.0.0:2182",
    )
    .unwrap();
    let c = load_with_properties(&path, Vec::new()).unwrap();
    assert_eq!(c.membership.version, 0x1_0000_0002);
    assert_eq!(c.client_address.map(|a| a.port), Some(2182));
    assert_eq!(
        c.membership.config_text(),
        "server.0=127.0.0.1:2888:3888:participant\nserver.1=127.0.0.1:2889:3889:participant;0.0.0.0:2182\n\
         version=100000002"
    );
    assert!(Path::new(&c.dynamic_config_file.unwrap()).exists());

    std::fs::write(
        &path,
        format!(
            "dataDir={}/data\ndynamicConfigFile=x\nserver.1=h:1:2\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let e = load_with_properties(&path, Vec::new())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "parameter: server.1 must be in a separate dynamic config file"
    );
}

#[test]
fn metrics_are_served_only_for_apaches_prometheus_provider() {
    let base = "dataDir={dir}/data\nclientPort=2181\n";
    assert_eq!(load_ok(base, None, &[]).metrics, None);
    let null = format!("{base}metricsProvider.className={NULL_METRICS_PROVIDER}\n");
    assert_eq!(load_ok(&null, None, &[]).metrics, None);
    let prometheus = format!("{base}metricsProvider.className={PROMETHEUS_METRICS_PROVIDER}\n");
    let endpoint = load_ok(&prometheus, None, &[]).metrics.unwrap();
    assert_eq!((endpoint.host.as_str(), endpoint.port), ("0.0.0.0", 7000));
    let placed =
        format!("{prometheus}metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=7001\n");
    let endpoint = load_ok(&placed, None, &[]).metrics.unwrap();
    assert_eq!((endpoint.host.as_str(), endpoint.port), ("127.0.0.1", 7001));
    let other = format!("{base}metricsProvider.className=com.example.Metrics\n");
    assert!(load_err(&other, None).contains("metricsProvider.className"));
}
