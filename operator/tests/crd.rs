//! The committed CRD files are what the Rust types generate now, and the chart ships the same file.

use std::path::PathBuf;

use zk_operator::types::crd_yaml;
use zk_operator::validate::{RESERVED_KEYS, RESERVED_PREFIXES};

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

#[test]
fn committed_crd_is_current() {
    assert!(
        repo_file("crds/zkensemble.yaml") == crd_yaml(),
        "crds/zkensemble.yaml is stale: run `cargo run -p zk-operator --bin crdgen > crds/zkensemble.yaml` \
         and copy it to charts/zk-operator/crds/"
    );
}

#[test]
fn chart_ships_the_same_crd() {
    assert!(
        repo_file("charts/zk-operator/crds/zkensemble.yaml") == repo_file("crds/zkensemble.yaml"),
        "charts/zk-operator/crds/zkensemble.yaml differs from crds/zkensemble.yaml: copy it over"
    );
}

#[test]
fn the_schema_rule_rejects_every_reserved_key() {
    let crd = crd_yaml();
    let rule = crd
        .lines()
        .find(|l| l.contains("rule: self.all(k"))
        .expect("extraConfig rule");
    for key in RESERVED_KEYS {
        assert!(
            rule.contains(&format!("'{key}'")),
            "{key} not in the CEL rule"
        );
    }
    for prefix in RESERVED_PREFIXES {
        assert!(
            rule.contains(&format!("k.startsWith('{prefix}')")),
            "{prefix} not in the CEL rule"
        );
    }
}

#[test]
fn scale_subresource_and_printer_columns() {
    let crd: serde_yaml::Value = serde_yaml::from_str(&crd_yaml()).unwrap();
    let version = &crd["spec"]["versions"][0];
    assert_eq!(crd["spec"]["group"], "zookeeper.zkops.dev");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["shortNames"][0], "zke");
    assert_eq!(version["name"], "v1alpha1");
    let scale = &version["subresources"]["scale"];
    assert_eq!(scale["specReplicasPath"], ".spec.replicas");
    assert_eq!(scale["statusReplicasPath"], ".status.replicas");
    assert_eq!(scale["labelSelectorPath"], ".status.selector");
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["Replicas", "Ready", "Observers", "Leader", "Config", "Age"]
    );
    let replicas =
        &version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["replicas"];
    assert_eq!(replicas["minimum"].as_f64(), Some(1.0));
    assert_eq!(replicas["default"].as_i64(), Some(3));
}

#[test]
fn flavour_defaults_to_native_and_cannot_change() {
    let crd: serde_yaml::Value = serde_yaml::from_str(&crd_yaml()).unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let flavour = &spec["properties"]["flavour"];
    assert_eq!(flavour["default"], "Native");
    let rules = flavour["x-kubernetes-validations"].as_sequence().unwrap();
    assert!(
        rules.iter().any(|r| r["rule"] == "self == oldSelf"
            && r["message"].as_str().unwrap().contains("immutable")),
        "{rules:?}"
    );
    assert!(
        spec["properties"]["image"].get("default").is_none(),
        "the image default is the operator's, so an operator upgrade can move it"
    );
}

#[test]
fn tls_quorum_and_the_plain_port_are_chosen_at_creation() {
    let crd: serde_yaml::Value = serde_yaml::from_str(&crd_yaml()).unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let rules: Vec<&str> = spec["x-kubernetes-validations"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    for field in ["self.tls.quorum", "self.tls.plainClientPort"] {
        assert!(
            rules
                .iter()
                .any(|r| r.contains(field) && r.contains("oldSelf")),
            "{field}: {rules:?}"
        );
    }
    let tls = &spec["properties"]["tls"];
    assert_eq!(tls["properties"]["plainClientPort"]["default"], true);
    assert_eq!(tls["properties"]["clientAuth"]["default"], "need");
    assert!(
        tls["x-kubernetes-validations"][0]["rule"]
            .as_str()
            .unwrap()
            .contains("plainClientPort"),
        "{tls:?}"
    );
}
