//! Resident set size of a process, from the `VmRSS` line of `/proc/<pid>/status`.

/// Resident bytes of process `pid`.
pub fn resident_bytes(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    vm_rss_bytes(&status).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("no VmRSS for pid {pid}"),
        )
    })
}

/// The `VmRSS` of a `/proc/<pid>/status` text, in bytes (the kernel writes it in kB).
pub fn vm_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss_in_kilobytes() {
        let status = "Name:\tjava\nVmHWM:\t  400000 kB\nVmRSS:\t  371712 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(vm_rss_bytes(status), Some(371_712 * 1024));
        assert_eq!(vm_rss_bytes("Name:\tzombie\n"), None);
    }

    #[test]
    fn reads_this_process() {
        assert!(resident_bytes(std::process::id()).unwrap() > 0);
    }
}
