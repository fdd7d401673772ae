//! Kubernetes operator for elastic ZooKeeper ensembles.
