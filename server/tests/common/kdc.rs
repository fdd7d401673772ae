//! A real MIT Kerberos KDC (Debian's krb5-kdc) for one test: its own realm, database, krb5.conf
//! and kdc.conf in a scratch directory, listening on a free loopback port; principals are created
//! and exported to keytabs with kadmin.local, and tickets fetched with kinit. A KDC that does not
//! start fails the test with its log.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The test realm.
pub const REALM: &str = "EXAMPLE.COM";

/// A running krb5kdc, stopped on drop.
pub struct Kdc {
    /// The scratch directory.
    pub dir: tempfile::TempDir,
    /// The configuration clients and servers use.
    pub krb5_conf: PathBuf,
    kdc_conf: PathBuf,
    process: Option<Child>,
}

impl Kdc {
    /// Creates the realm and starts the KDC.
    pub fn start() -> Kdc {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let port = super::free_port();
        let krb5_conf = root.join("krb5.conf");
        let kdc_conf = root.join("kdc.conf");
        let log = root.join("kdc.log");
        // No DNS and no reverse lookups: service names are taken as written; TCP only.
        std::fs::write(
            &krb5_conf,
            format!(
                "[libdefaults]\n  default_realm = {REALM}\n  dns_lookup_kdc = false\n  \
                 dns_lookup_realm = false\n  dns_canonicalize_hostname = false\n  rdns = false\n  \
                 udp_preference_limit = 1\n[realms]\n  {REALM} = {{\n    kdc = 127.0.0.1:{port}\n  }}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            &kdc_conf,
            format!(
                "[kdcdefaults]\n  kdc_ports = {port}\n  kdc_tcp_ports = {port}\n[realms]\n  {REALM} = {{\n    \
                 database_name = {root}/principal\n    key_stash_file = {root}/stash\n    \
                 acl_file = {root}/kadm5.acl\n    \
                 supported_enctypes = aes256-cts:normal aes128-cts:normal\n  }}\n\
                 [logging]\n  kdc = FILE:{log}\n",
                root = root.display(),
                log = log.display(),
            ),
        )
        .unwrap();
        let mut kdc = Kdc {
            process: None,
            dir,
            krb5_conf,
            kdc_conf,
        };
        kdc.run(&[
            "kdb5_util",
            "create",
            "-s",
            "-r",
            REALM,
            "-P",
            "master-password",
        ]);
        let process = kdc
            .command("krb5kdc")
            .args(["-n", "-r", REALM])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run krb5kdc (scripts/deps.sh installs it): {e}"));
        let process = kdc.process.insert(process);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("commencing operation") {
                return kdc;
            }
            let exited = process.try_wait().unwrap().is_some();
            assert!(
                !exited && Instant::now() < deadline,
                "the KDC did not start on port {port}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("KRB5_CONFIG", &self.krb5_conf)
            .env("KRB5_KDC_PROFILE", &self.kdc_conf);
        command
    }

    fn run(&self, args: &[&str]) {
        let out = self
            .command(args[0])
            .args(&args[1..])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {} (scripts/deps.sh installs it): {e}", args[0])
            });
        assert!(
            out.status.success(),
            "{} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Creates `principal` with a random key and adds its keys to the keytab `file` of the
    /// scratch directory; returns the keytab's path.
    pub fn keytab(&self, principal: &str, file: &str) -> PathBuf {
        let path = self.dir.path().join(file);
        let query = |q: String| self.run(&["kadmin.local", "-r", REALM, "-q", &q]);
        query(format!("addprinc -randkey {principal}"));
        query(format!("ktadd -k {} {principal}", path.display()));
        path
    }

    /// Fetches a ticket-granting ticket for `principal` from `keytab` into the credential cache
    /// (collection) `ccache`.
    pub fn kinit(&self, principal: &str, keytab: &Path, ccache: &str) {
        let keytab = keytab.display().to_string();
        let out = self
            .command("kinit")
            .env("KRB5CCNAME", ccache)
            .args(["-k", "-t", &keytab, principal])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kinit {principal}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        if let Some(process) = &mut self.process {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}
