//! ZooKeeper client-protocol wire format.
