//! Znode path rules: validation as Apache's `PathUtils.validatePath`, parent and name splitting, and the
//! sequence suffix format.

use zk_proto::ErrorCode;

/// Checks `path` as Apache does: absolute, no empty, `.` or `..` segments, no trailing slash, no control or
/// reserved characters. Returns BadArguments otherwise.
pub fn validate(path: &str) -> Result<(), ErrorCode> {
    let bad = Err(ErrorCode::BadArguments);
    if !path.starts_with('/') {
        return bad;
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return bad;
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return bad;
        }
    }
    if path.chars().any(is_forbidden) {
        return bad;
    }
    Ok(())
}

/// Characters Apache refuses in a path.
fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{f000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
}

/// The parent of `path` (`/` for top-level nodes), or `None` for the root or a path without a slash.
pub fn parent(path: &str) -> Option<&str> {
    let idx = path.rfind('/')?;
    if path == "/" {
        return None;
    }
    Some(if idx == 0 { "/" } else { &path[..idx] })
}

/// The last segment of `path`.
pub fn name(path: &str) -> &str {
    path.rfind('/').map_or(path, |idx| &path[idx + 1..])
}

/// `parent` joined with `name`.
pub fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The sequence suffix for a parent cversion: Java's `%010d` (sign included in the width).
pub fn sequence_suffix(cversion: i32) -> String {
    format!("{cversion:010}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_like_apache() {
        for ok in ["/", "/a", "/a/b", "/a.b", "/..a", "/zookeeper/config", "/ü"] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//a",
            "/a//b",
            "/.",
            "/a/..",
            "/a\u{0}b",
            "/a\u{1}",
            "/\u{fff5}",
        ] {
            assert_eq!(validate(bad), Err(ErrorCode::BadArguments), "{bad:?}");
        }
    }

    #[test]
    fn splits_parent_and_name() {
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/"), None);
        assert_eq!(name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn formats_sequence_as_java() {
        assert_eq!(sequence_suffix(0), "0000000000");
        assert_eq!(sequence_suffix(42), "0000000042");
        assert_eq!(sequence_suffix(-5), "-000000005");
        assert_eq!(sequence_suffix(i32::MAX), "2147483647");
        assert_eq!(sequence_suffix(i32::MIN), "-2147483648");
    }
}
