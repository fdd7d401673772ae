//! The four-letter-word whitelist (`4lw.commands.whitelist`), with Apache's semantics.

use std::collections::BTreeSet;

/// Every four-letter word this server knows.
pub const ALL_COMMANDS: [&str; 15] = [
    "conf", "cons", "crst", "dirs", "dump", "envi", "ruok", "srst", "srvr", "stat", "wchc", "wchp",
    "wchs", "mntr", "isro",
];

/// Which four-letter words may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FourLetterWhitelist {
    enabled: BTreeSet<String>,
}

impl FourLetterWhitelist {
    /// Builds the whitelist from the property value (comma separated, `*` = every command; absent = none),
    /// then adds `srvr` (always enabled: `zkServer.sh status` needs it) and `isro` when read-only mode is on.
    pub fn new(value: Option<&str>, read_only_mode: bool) -> FourLetterWhitelist {
        let mut enabled = BTreeSet::new();
        for word in value.unwrap_or("").split(',').map(str::trim) {
            if word == "*" {
                enabled.extend(ALL_COMMANDS.iter().map(|c| c.to_string()));
                break;
            }
            if !word.is_empty() {
                enabled.insert(word.to_string());
            }
        }
        if read_only_mode {
            enabled.insert("isro".to_string());
        }
        enabled.insert("srvr".to_string());
        FourLetterWhitelist { enabled }
    }

    /// True when `command` may run.
    pub fn allows(&self, command: &str) -> bool {
        self.enabled.contains(command)
    }
}

impl Default for FourLetterWhitelist {
    /// Apache's default: `srvr` only.
    fn default() -> FourLetterWhitelist {
        FourLetterWhitelist::new(None, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_srvr_only() {
        let w = FourLetterWhitelist::default();
        assert!(w.allows("srvr"));
        assert!(!w.allows("ruok"));
        assert!(!w.allows("stat"));
    }

    #[test]
    fn star_enables_all_and_lists_are_trimmed() {
        let w = FourLetterWhitelist::new(Some("*"), false);
        assert!(ALL_COMMANDS.iter().all(|c| w.allows(c)));
        let w = FourLetterWhitelist::new(Some(" ruok , mntr,"), false);
        assert!(w.allows("ruok") && w.allows("mntr") && w.allows("srvr"));
        assert!(!w.allows("conf"));
    }

    #[test]
    fn read_only_mode_enables_isro() {
        assert!(FourLetterWhitelist::new(Some("ruok"), true).allows("isro"));
        assert!(!FourLetterWhitelist::new(Some("ruok"), false).allows("isro"));
    }
}
