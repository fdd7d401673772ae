//! `maxClientCnxns`: at most N concurrent connections per client IP (0 = unlimited).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts open connections per IP.
#[derive(Debug)]
pub struct ConnectionLimiter {
    max_per_ip: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// One admitted connection; dropping it frees its slot.
#[derive(Debug)]
pub struct ConnectionPermit {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl ConnectionLimiter {
    /// A limiter allowing `max_per_ip` connections per IP (0 = unlimited).
    pub fn new(max_per_ip: u32) -> ConnectionLimiter {
        ConnectionLimiter {
            max_per_ip,
            open: Arc::default(),
        }
    }

    /// Admits a connection from `ip`, or `None` when that IP is at its limit.
    pub fn admit(&self, ip: IpAddr) -> Option<ConnectionPermit> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if self.max_per_ip != 0 && *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(ConnectionPermit {
            ip,
            open: self.open.clone(),
        })
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_ip_and_frees_on_drop() {
        let limiter = ConnectionLimiter::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limiter.admit(a).unwrap();
        let _second = limiter.admit(a).unwrap();
        assert!(limiter.admit(a).is_none());
        assert!(limiter.admit(b).is_some(), "other IPs are counted apart");
        drop(first);
        assert!(limiter.admit(a).is_some());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = ConnectionLimiter::new(0);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let permits: Vec<_> = (0..100).map(|_| limiter.admit(ip).unwrap()).collect();
        assert_eq!(permits.len(), 100);
    }
}
