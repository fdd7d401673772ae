//! Writing an output directory all at once: an import's or an export's files appear at the output
//! only when every one of them is written.
//!
//! An output that does not exist yet is filled as a new directory beside it and renamed into
//! place. An output that exists (empty, or holding only `myid`) is filled from a staging
//! directory inside it, [`STAGING`], whose entries are moved up at the end: such an output may be
//! a mount point (a Kubernetes volume's `subPath`) under a read-only root file system, which can
//! be neither replaced by a rename nor given a sibling.

use std::path::{Path, PathBuf};

use super::ApacheDataError;

/// The staging directory inside an existing output. One left by an interrupted run is removed by
/// the next, and does not make the output count as holding data.
pub const STAGING: &str = ".import-partial";

/// The one entry an output may already hold; it is kept.
const MYID: &str = "myid";

/// Creates `out` (absent, or an empty directory, or one holding only `myid`, which is kept) with
/// what `fill` writes into the directory it is given. On an error nothing is left at `out` beyond
/// what was there.
pub fn publish(
    out: &Path,
    fill: impl FnOnce(&Path) -> Result<(), ApacheDataError>,
) -> Result<(), ApacheDataError> {
    match std::fs::read_dir(out) {
        Ok(entries) => {
            for entry in entries {
                let name = entry.map_err(|e| ApacheDataError::io(out, e))?.file_name();
                if name != MYID && name != STAGING {
                    return Err(ApacheDataError::Invalid(format!(
                        "{} is not empty: the output must be a new directory",
                        out.display()
                    )));
                }
            }
            fill_inside(out, fill)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fill_beside(out, fill),
        Err(e) => Err(ApacheDataError::io(out, e)),
    }
}

/// Fills the existing directory `out` through [`STAGING`], then moves the staged entries up.
fn fill_inside(
    out: &Path,
    fill: impl FnOnce(&Path) -> Result<(), ApacheDataError>,
) -> Result<(), ApacheDataError> {
    let staging = out.join(STAGING);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).map_err(|e| ApacheDataError::io(&staging, e))?;
    let filled = fill(&staging).and_then(|()| move_up(&staging, out));
    match filled {
        Ok(()) => std::fs::remove_dir(&staging).map_err(|e| ApacheDataError::io(&staging, e)),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// Moves every entry of `staging` into `out`; on an error, the ones moved already go back.
fn move_up(staging: &Path, out: &Path) -> Result<(), ApacheDataError> {
    let mut moved: Vec<PathBuf> = Vec::new();
    let entries = std::fs::read_dir(staging).map_err(|e| ApacheDataError::io(staging, e))?;
    for entry in entries {
        let name = entry
            .map_err(|e| ApacheDataError::io(staging, e))?
            .file_name();
        let target = out.join(&name);
        if let Err(e) = std::fs::rename(staging.join(&name), &target) {
            for done in moved {
                let _ = std::fs::remove_dir_all(&done).or_else(|_| std::fs::remove_file(&done));
            }
            return Err(ApacheDataError::io(&target, e));
        }
        moved.push(target);
    }
    Ok(())
}

/// Fills a new directory beside the absent `out` and renames it into place.
fn fill_beside(
    out: &Path,
    fill: impl FnOnce(&Path) -> Result<(), ApacheDataError>,
) -> Result<(), ApacheDataError> {
    let name = out
        .file_name()
        .ok_or_else(|| ApacheDataError::Invalid(format!("{} names no directory", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| ApacheDataError::io(&parent, e))?;
    let tmp = parent.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| ApacheDataError::io(&tmp, e))?;
    let filled = fill(&tmp)
        .and_then(|()| std::fs::rename(&tmp, out).map_err(|e| ApacheDataError::io(out, e)));
    if filled.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str) -> Result<(), ApacheDataError> {
        std::fs::create_dir(dir.join(name)).map_err(|e| ApacheDataError::io(dir, e))?;
        std::fs::write(dir.join(name).join("file"), name).map_err(|e| ApacheDataError::io(dir, e))
    }

    /// A temporary directory holding the output `data`, which holds `myid`.
    fn output_with_myid() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("data");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join(MYID), "1\n").unwrap();
        (dir, out)
    }

    #[test]
    fn an_existing_output_is_filled_from_inside_and_keeps_myid() {
        let (dir, out) = output_with_myid();
        publish(&out, |staging| {
            // Never beside the output: its parent may be a read-only root file system.
            assert!(staging.starts_with(&out), "{}", staging.display());
            write(staging, "raft-snapshot")?;
            write(staging, "raft-log")
        })
        .unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["myid", "raft-log", "raft-snapshot"]);
        assert_eq!(
            std::fs::read_to_string(out.join("raft-log/file")).unwrap(),
            "raft-log"
        );
        let beside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(beside.len(), 1);
    }

    #[test]
    fn a_failed_fill_leaves_an_existing_output_as_it_was() {
        let (_dir, out) = output_with_myid();
        let err = publish(&out, |staging| {
            write(staging, "raft-snapshot")?;
            Err(ApacheDataError::Invalid("broken".into()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        let names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [MYID]);
    }

    #[test]
    fn an_interrupted_run_s_staging_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("data");
        std::fs::create_dir_all(out.join(STAGING).join("raft-snapshot")).unwrap();
        publish(&out, |staging| {
            assert!(std::fs::read_dir(staging).unwrap().next().is_none());
            write(staging, "raft-log")
        })
        .unwrap();
        assert!(out.join("raft-log/file").is_file());
        assert!(!out.join(STAGING).exists());
        assert!(!out.join("raft-snapshot").exists());
    }

    #[test]
    fn an_absent_output_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new");
        publish(&out, |staging| {
            assert!(!out.exists());
            write(staging, "version-2")
        })
        .unwrap();
        assert!(out.join("version-2/file").is_file());

        let failed = dir.path().join("failed");
        assert!(publish(&failed, |_| Err(ApacheDataError::Invalid("x".into()))).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["new"]);
    }
}
