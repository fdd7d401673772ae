//! `crdgen`: prints the `ZkEnsemble` CustomResourceDefinition as YAML (the source of `crds/zkensemble.yaml`).

use zk_operator::types::crd_yaml;

fn main() {
    print!("{}", crd_yaml());
}
