//! What the tests that may run against either flavour share: finding our server's binary, Apache
//! ZooKeeper's classpath, and free loopback ports.

use std::net::TcpListener;
use std::path::PathBuf;

/// Our server's binary, if it can be found (`ZK_SERVER_BIN`, or `zk-server` built into the same
/// target directory as the test).
pub fn our_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("ZK_SERVER_BIN") {
        return Some(bin.into());
    }
    // A test runs from <target>/<profile>/deps/; binaries are built into <target>/<profile>/.
    let exe = std::env::current_exe().ok()?;
    let sibling = exe.parent()?.parent()?.join("zk-server");
    sibling.is_file().then_some(sibling)
}

/// The classpath of Debian's Apache ZooKeeper, as `compat/apache_classpath.sh` prints it.
pub fn apache_classpath() -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../compat/apache_classpath.sh");
    let out = std::process::Command::new(&script)
        .output()
        .expect("run compat/apache_classpath.sh");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A client port such that it and every port `offsets` above it are free on loopback right now.
pub fn free_base_port(offsets: &[u16]) -> u16 {
    loop {
        let base = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind an ephemeral port");
        let free = offsets.iter().all(|&offset| {
            base.checked_add(offset)
                .is_some_and(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        });
        if free {
            return base;
        }
    }
}
