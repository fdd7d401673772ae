//! The version string reported by `srvr`, `stat`, `envi` and `mntr`.
//!
//! It starts with the ZooKeeper protocol version this server implements, so tools that gate features on
//! the server version (they read the part before the first `-`) treat it as ZooKeeper 3.9, then names this
//! server and its own version, then Apache's `, built on <date>` suffix.

/// The ZooKeeper release whose client protocol this server speaks.
pub const ZOOKEEPER_COMPATIBLE_VERSION: &str = "3.9.3";

/// `3.9.3-zkrs-<crate version>, built on <build date>`.
pub fn full_version() -> String {
    format!(
        "{ZOOKEEPER_COMPATIBLE_VERSION}-zkrs-{}, built on {}",
        env!("CARGO_PKG_VERSION"),
        env!("ZKRS_BUILD_DATE")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_a_zookeeper_3_9_version() {
        let v = full_version();
        let numeric: Vec<u32> = v
            .split('-')
            .next()
            .unwrap()
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(numeric, vec![3, 9, 3]);
        assert!(v.contains("zkrs"));
        assert!(v.contains(", built on "));
    }
}
