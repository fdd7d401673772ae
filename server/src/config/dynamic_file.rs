//! Dynamic configuration files, as Apache writes them: the membership of each committed version in
//! `<static cfg>.dynamic.<hex version>` (server lines only), and the static file rewritten to point at the
//! newest one with `dynamicConfigFile=`. Older dynamic files are kept.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::membership::{Membership, parse_hex_version};
use super::properties;

/// `<static cfg>.dynamic.<hex version>`.
pub fn dynamic_file_path(static_path: &Path, version: i64) -> PathBuf {
    let mut name = static_path.as_os_str().to_owned();
    name.push(format!(".dynamic.{:x}", version));
    PathBuf::from(name)
}

/// The version a dynamic file's name ends with (`zoo.cfg.dynamic.100000000` → 0x100000000), if any.
pub fn version_from_file_name(path: &Path) -> Option<i64> {
    let name = path.file_name()?.to_str()?;
    let (_, suffix) = name.rsplit_once('.')?;
    parse_hex_version(suffix)
}

/// Reads a dynamic file: only `server.N` lines are allowed; the version comes from the file name.
pub fn read_dynamic_file(path: &Path) -> Result<Membership, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.into(),
        source,
    })?;
    let entries = properties::parse(&text);
    for (key, _) in &entries {
        if key == "version" {
            return Err(ConfigError::Invalid(format!(
                "{}: dynamic file shouldn't have version inside",
                path.display()
            )));
        }
        if !key.starts_with("server.") {
            return Err(ConfigError::Invalid(format!(
                "{}: Unrecognised parameter: {key}",
                path.display()
            )));
        }
    }
    let mut membership = Membership::from_entries(&entries)?;
    membership.version = version_from_file_name(path).unwrap_or(0);
    Ok(membership)
}

/// Copies the static file to `<static cfg>.bak` (Apache does so before it first moves the server lines out).
pub fn backup_static_config(static_path: &Path) -> Result<(), ConfigError> {
    let mut backup = static_path.as_os_str().to_owned();
    backup.push(".bak");
    let text = std::fs::read(static_path).map_err(|source| ConfigError::Io {
        path: static_path.into(),
        source,
    })?;
    write_atomically(Path::new(&backup), &text)
}

/// Writes `membership` to `<static cfg>.dynamic.<hex version>` and rewrites the static file: its server
/// lines, `dynamicConfigFile` and `peerType` are dropped, `clientPort`/`clientPortAddress` too when
/// `erase_client_address` (this member's server line carries its client address), and
/// `dynamicConfigFile=<absolute path of the new file>` is appended. Returns the new dynamic file's path.
pub fn write_dynamic_config(
    static_path: &Path,
    membership: &Membership,
    erase_client_address: bool,
) -> Result<PathBuf, ConfigError> {
    let dynamic_path = dynamic_file_path(static_path, membership.version);
    write_atomically(&dynamic_path, membership.dynamic_file_text().as_bytes())?;
    let absolute = std::path::absolute(&dynamic_path).map_err(|source| ConfigError::Io {
        path: dynamic_path.clone(),
        source,
    })?;
    let text = std::fs::read_to_string(static_path).map_err(|source| ConfigError::Io {
        path: static_path.into(),
        source,
    })?;
    let mut out = String::new();
    for (key, value) in properties::parse(&text) {
        let dropped = key.starts_with("server.")
            || key.starts_with("group")
            || key.starts_with("weight")
            || key.starts_with("dynamicConfigFile")
            || key.starts_with("peerType")
            || (erase_client_address && key.starts_with("clientPort"));
        if !dropped {
            out.push_str(&format!("{key}={value}\n"));
        }
    }
    out.push_str(&format!("dynamicConfigFile={}\n", absolute.display()));
    write_atomically(static_path, out.as_bytes())?;
    Ok(dynamic_path)
}

/// Writes through a temporary file in the same directory, synced, then renamed over `path`; the
/// directory is synced last, so the rename itself survives a crash.
fn write_atomically(path: &Path, content: &[u8]) -> Result<(), ConfigError> {
    let io_error = |source| ConfigError::Io {
        path: path.into(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut file = std::fs::File::create(&tmp).map_err(io_error)?;
    file.write_all(content).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    std::fs::rename(&tmp, path).map_err(io_error)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| ConfigError::Io {
            path: dir.into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_hex_versions() {
        let p = dynamic_file_path(Path::new("zk1/zoo.cfg"), 0x1_0000_0002);
        assert_eq!(p, PathBuf::from("zk1/zoo.cfg.dynamic.100000002"));
        assert_eq!(version_from_file_name(&p), Some(0x1_0000_0002));
        assert_eq!(version_from_file_name(Path::new("zoo.cfg.dynamic")), None);
    }

    #[test]
    fn writes_dynamic_file_and_rewrites_static_file_as_apache() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            "tickTime=2000\nclientPort=2181\nserver.0=127.0.0.1:2888:3888\nserver.1=127.0.0.1:2889:3889\n",
        )
        .unwrap();
        let entries = vec![
            ("server.0".to_string(), "127.0.0.1:2888:3888".to_string()),
            (
                "server.1".to_string(),
                "127.0.0.1:2889:3889:participant;2182".to_string(),
            ),
        ];
        let mut m = Membership::from_entries(&entries).unwrap();
        m.version = 0x1_0000_0002;
        let written = write_dynamic_config(&cfg, &m, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(&written).unwrap(),
            "server.0=127.0.0.1:2888:3888:participant\nserver.1=127.0.0.1:2889:3889:participant;0.0.0.0:2182"
        );
        let abs = std::path::absolute(&written).unwrap();
        assert_eq!(
            std::fs::read_to_string(&cfg).unwrap(),
            format!(
                "tickTime=2000\nclientPort=2181\ndynamicConfigFile={}\n",
                abs.display()
            )
        );
        let back = read_dynamic_file(&written).unwrap();
        assert_eq!(back, m);

        m.version = 0x1_0000_0005;
        write_dynamic_config(&cfg, &m, true).unwrap();
        let rewritten = std::fs::read_to_string(&cfg).unwrap();
        assert!(!rewritten.contains("clientPort"), "{rewritten}");
        assert!(
            rewritten.ends_with("zoo.cfg.dynamic.100000005\n"),
            "{rewritten}"
        );
        assert!(written.exists(), "older dynamic files are kept");
    }

    #[test]
    fn dynamic_files_refuse_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zoo.cfg.dynamic.1");
        std::fs::write(&file, "server.1=h:1:2\nversion=1\n").unwrap();
        assert!(
            read_dynamic_file(&file)
                .unwrap_err()
                .to_string()
                .contains("shouldn't have version")
        );
        std::fs::write(&file, "server.1=h:1:2\ntickTime=1\n").unwrap();
        assert!(
            read_dynamic_file(&file)
                .unwrap_err()
                .to_string()
                .contains("Unrecognised parameter: tickTime")
        );
    }
}
