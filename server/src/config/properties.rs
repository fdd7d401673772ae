//! A reader for Java `.properties` text, the format of `zoo.cfg` and its dynamic files.
//!
//! Supports what ZooKeeper configurations use: `#` and `!` comments, `key=value`, `key:value` and
//! `key value` separators, whitespace around keys and values, and lines continued with a trailing
//! backslash. Keys keep their order of appearance; a later duplicate replaces the earlier value in
//! place, as `java.util.Properties` keeps only the last one.

/// Parses properties text into `(key, value)` pairs, in order of first appearance, trimmed.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in logical_lines(text) {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (key, value) = split_key_value(line);
        let (key, value) = (key.trim().to_string(), value.trim().to_string());
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => entries.push((key, value)),
        }
    }
    entries
}

/// Joins physical lines ending in an odd number of backslashes with the next line.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let piece = if current.is_empty() {
            raw
        } else {
            raw.trim_start()
        };
        let trailing = piece.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            current.push_str(&piece[..piece.len() - 1]);
        } else {
            current.push_str(piece);
            lines.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Splits at the first unescaped `=`, `:` or whitespace, as `java.util.Properties` does.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (&line[..i], &line[i + 1..]),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
                return (&line[..i], rest);
            }
            _ => {}
        }
    }
    (line, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
    }

    #[test]
    fn reads_separators_comments_and_whitespace() {
        let got =
            pairs("# comment\n! other\n\n tickTime = 2000\nclientPort:2181\ndataDir /var/zk\n");
        assert_eq!(
            got,
            vec![
                ("tickTime".into(), "2000".into()),
                ("clientPort".into(), "2181".into()),
                ("dataDir".into(), "/var/zk".into()),
            ]
        );
    }

    #[test]
    fn server_lines_keep_colons_in_values() {
        let got = pairs("server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n");
        assert_eq!(got[0].0, "server.1");
        assert_eq!(got[0].1, "127.0.0.1:2888:3888:participant;0.0.0.0:2181");
    }

    #[test]
    fn later_duplicates_replace_in_place() {
        let got = pairs("a=1\nb=2\na=3\n");
        assert_eq!(
            got,
            vec![("a".into(), "3".into()), ("b".into(), "2".into())]
        );
    }

    #[test]
    fn continuation_lines_join() {
        let got = pairs("4lw.commands.whitelist=srvr,\\\n    ruok\n");
        assert_eq!(
            got,
            vec![("4lw.commands.whitelist".into(), "srvr,ruok".into())]
        );
    }
}
