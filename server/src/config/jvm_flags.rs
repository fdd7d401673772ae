//! Java system properties given as `-Dname=value` in `SERVER_JVMFLAGS` / `JVMFLAGS`, so deployment
//! scripts written for Apache ZooKeeper keep working (e.g. `-Dzookeeper.skipACL=yes`).

/// The environment variables read, in increasing precedence (`zkServer.sh` puts `SERVER_JVMFLAGS` after
/// `JVMFLAGS` on the java command line, and the last `-D` wins).
pub const ENV_VARS: [&str; 2] = ["JVMFLAGS", "SERVER_JVMFLAGS"];

/// Extracts `-Dname=value` properties from shell-style flags; other flags are ignored. Single and double
/// quotes group words, as the shell would have done.
pub fn parse(flags: &str) -> Vec<(String, String)> {
    words(flags)
        .into_iter()
        .filter_map(|word| {
            let definition = word.strip_prefix("-D")?;
            let (name, value) = definition.split_once('=').unwrap_or((definition, ""));
            (!name.is_empty()).then(|| (name.to_string(), value.to_string()))
        })
        .collect()
}

/// Reads the system properties from the process environment.
pub fn from_env() -> Vec<(String, String)> {
    ENV_VARS
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .flat_map(|flags| parse(&flags))
        .collect()
}

/// Splits at unquoted whitespace, removing quotes.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_definitions_and_ignores_other_flags() {
        let got = parse(
            "-Xmx512m -Dzookeeper.skipACL=yes -Djute.maxbuffer=4194304 \
             \"-Dzookeeper.DigestAuthenticationProvider.superDigest=super:abc=\" -server -Dflag",
        );
        assert_eq!(
            got,
            vec![
                ("zookeeper.skipACL".into(), "yes".into()),
                ("jute.maxbuffer".into(), "4194304".into()),
                (
                    "zookeeper.DigestAuthenticationProvider.superDigest".into(),
                    "super:abc=".into()
                ),
                ("flag".into(), "".into()),
            ]
        );
    }

    #[test]
    fn quotes_keep_spaces() {
        let got = parse("-Dzookeeper.4lw.commands.whitelist='srvr, ruok'");
        assert_eq!(
            got,
            vec![(
                "zookeeper.4lw.commands.whitelist".into(),
                "srvr, ruok".into()
            )]
        );
    }
}
