//! The server's log: what it shows by default, in which format, and how Apache's log settings map
//! onto it.
//!
//! A person reading a member's log should see what happened to the ensemble (LOOKING, LEADING,
//! FOLLOWING, configurations, sessions), not the consensus library's state dumps: the `openraft`
//! crate shows only its errors at INFO (its INFO lines show at DEBUG). `RUST_LOG` replaces
//! the whole filter when set. Otherwise the level comes from Apache's settings where a deployment
//! script gives them: the `zookeeper.root.logger` system property (`-D` in `SERVER_JVMFLAGS` /
//! `JVMFLAGS`) or the `ZOO_LOG4J_PROP` variable, both `LEVEL,APPENDER` as `zkServer.sh` takes them.
//! Colours only on a terminal; `--log-format json` (or `LOG_FORMAT=json`) writes one JSON object
//! a line, as the operator does.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::jvm_flags;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The system property Apache's `log4j.properties` reads the root level from.
pub const ROOT_LOGGER_PROPERTY: &str = "zookeeper.root.logger";
/// The variable `zkServer.sh` turns into that property.
pub const ROOT_LOGGER_ENV: &str = "ZOO_LOG4J_PROP";

/// The filter directives for the server: `RUST_LOG` as given, else the level of Apache's root
/// logger setting (`INFO` when none) with `openraft` quieter: its errors at INFO and WARN (its
/// warnings repeat for every failed call to a member that is down), its INFO lines at DEBUG.
pub fn directives(rust_log: Option<&str>, apache_root_logger: Option<&str>) -> String {
    if let Some(rust_log) = rust_log.filter(|value| !value.trim().is_empty()) {
        return rust_log.to_string();
    }
    let level = apache_root_logger
        .and_then(|setting| setting.split(',').next())
        .map(|level| level.trim().to_ascii_uppercase());
    let (server, openraft) = match level.as_deref() {
        Some("ALL" | "TRACE") => ("trace", "debug"),
        Some("DEBUG") => ("debug", "info"),
        Some("WARN") => ("warn", "error"),
        Some("ERROR" | "FATAL") => ("error", "error"),
        Some("OFF") => ("off", "off"),
        _ => ("info", "error"),
    };
    format!("{server},openraft={openraft}")
}

/// Apache's root logger setting from the process: the system property, else `ZOO_LOG4J_PROP`.
fn apache_root_logger() -> Option<String> {
    jvm_flags::from_env()
        .into_iter()
        .rev()
        .find(|(name, _)| name == ROOT_LOGGER_PROPERTY)
        .map(|(_, value)| value)
        .or_else(|| std::env::var(ROOT_LOGGER_ENV).ok())
}

/// Installs the process-wide subscriber: stderr, the filter of [`directives`], colours only when
/// stderr is a terminal.
pub fn init(format: LogFormat) {
    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let directives = directives(rust_log.as_deref(), apache_root_logger().as_deref());
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_the_server_logs_info_and_openraft_warnings() {
        assert_eq!(directives(None, None), "info,openraft=error");
        assert_eq!(directives(Some(" "), None), "info,openraft=error");
    }

    #[test]
    fn rust_log_replaces_the_whole_filter() {
        assert_eq!(
            directives(Some("debug,openraft=info"), Some("WARN,CONSOLE")),
            "debug,openraft=info"
        );
    }

    #[test]
    fn apaches_root_logger_level_maps_with_openraft_quieter() {
        assert_eq!(
            directives(None, Some("DEBUG,CONSOLE")),
            "debug,openraft=info"
        );
        assert_eq!(
            directives(None, Some("warn, ROLLINGFILE")),
            "warn,openraft=error"
        );
        assert_eq!(
            directives(None, Some("INFO,CONSOLE")),
            "info,openraft=error"
        );
        assert_eq!(directives(None, Some("FATAL")), "error,openraft=error");
        assert_eq!(
            directives(None, Some("TRACE,CONSOLE")),
            "trace,openraft=debug"
        );
        assert_eq!(directives(None, Some("OFF")), "off,openraft=off");
        assert_eq!(
            directives(None, Some("LOUD,CONSOLE")),
            "info,openraft=error"
        );
    }
}
