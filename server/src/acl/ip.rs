//! The ip scheme: an address, optionally with `/bits` (IPv4 or IPv6).

use std::net::IpAddr;

fn parse(expr: &str) -> Option<(Vec<u8>, usize)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let bytes = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    let max = bytes.len() * 8;
    let bits = match bits {
        Some(b) => b.parse::<usize>().ok().filter(|b| *b <= max)?,
        None => max,
    };
    Some((bytes, bits))
}

/// Whether `expr` is a valid ip ACL id (`10.0.0.1`, `10.0.0.0/8`, `::1`).
pub fn is_valid_ip(expr: &str) -> bool {
    parse(expr).is_some()
}

/// Whether the client address `addr` falls in the ACL id `expr`.
pub fn ip_matches(addr: &str, expr: &str) -> bool {
    let (Some((a, _)), Some((e, bits))) = (parse(addr), parse(expr)) else {
        return false;
    };
    if a.len() != e.len() {
        return false;
    }
    (0..bits).all(|i| {
        let mask = 0x80u8 >> (i % 8);
        a[i / 8] & mask == e[i / 8] & mask
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match() {
        assert!(ip_matches("10.1.2.3", "10.0.0.0/8"));
        assert!(!ip_matches("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(!ip_matches("127.0.0.2", "127.0.0.1"));
        assert!(ip_matches("::1", "::1/128"));
        assert!(!ip_matches("127.0.0.1", "::1"));
    }

    #[test]
    fn validity() {
        assert!(is_valid_ip("10.0.0.0/8"));
        assert!(!is_valid_ip("10.0.0.0/33"));
        assert!(!is_valid_ip("10.0.0"));
        assert!(!is_valid_ip("host"));
    }
}
