//! A ZooKeeper-compatible server.
