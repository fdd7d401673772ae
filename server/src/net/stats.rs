//! Request counters: server-wide (Apache's `ServerStats`) and per connection (for `cons` and `stat`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::fourlw::StatsSnapshot;
use crate::summary::{QuantileSummary, Summary};

/// Sizes of a stream of buffers, such as the proposals this member made or the responses sent to
/// clients (Apache's `BufferStats`: last/min/max, -1 before any), with their count.
#[derive(Debug)]
pub struct BufferSizes {
    sizes: Mutex<(i64, i64, i64)>,
    count: AtomicU64,
}

impl Default for BufferSizes {
    fn default() -> BufferSizes {
        BufferSizes {
            sizes: Mutex::new((-1, -1, -1)),
            count: AtomicU64::new(0),
        }
    }
}

impl BufferSizes {
    /// Records one buffer of `bytes`.
    pub fn record(&self, bytes: usize) {
        let bytes = bytes as i64;
        let mut sizes = self.sizes.lock().unwrap_or_else(|e| e.into_inner());
        let (_, min, max) = *sizes;
        *sizes = (
            bytes,
            if min < 0 { bytes } else { min.min(bytes) },
            max.max(bytes),
        );
        self.count.fetch_add(1, Relaxed);
    }

    /// (last, min, max).
    pub fn sizes(&self) -> (i64, i64, i64) {
        *self.sizes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Buffers recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn reset(&self) {
        *self.sizes.lock().unwrap_or_else(|e| e.into_inner()) = (-1, -1, -1);
    }
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Request latencies.
    pub latency: Summary,
    /// Latencies of the requests that read (Apache's `readlatency`).
    pub read_latency: QuantileSummary,
    /// Latencies of the requests that go through the log (Apache's `updatelatency`).
    pub update_latency: QuantileSummary,
    /// Packets received from clients.
    pub packets_received: AtomicU64,
    /// Packets sent to clients.
    pub packets_sent: AtomicU64,
    /// Requests received and not yet answered.
    pub outstanding: AtomicU64,
    /// Bytes received from clients.
    pub bytes_received: AtomicU64,
    /// Failed `addauth`s.
    pub auth_failed: AtomicU64,
    /// Connections refused by `maxClientCnxns`.
    pub connections_rejected: AtomicU64,
    /// Frames refused for `jute.maxbuffer`.
    pub large_requests_rejected: AtomicU64,
    /// Open client connections.
    pub alive_connections: AtomicU64,
    /// Sizes of the proposals made here.
    pub proposals: BufferSizes,
    /// Sizes of the responses and notifications sent to clients, without the length prefix.
    pub client_responses: BufferSizes,
    /// Bytes of the responses and notifications sent to clients.
    pub response_bytes: AtomicU64,
    /// Bytes of the watch notifications sent to clients.
    pub watch_bytes: AtomicU64,
    /// Connect requests received.
    pub connection_requests: AtomicU64,
    /// Plain (non-TLS) client connections accepted from this host's loopback addresses.
    pub non_mtls_local_connections: AtomicU64,
    /// Plain (non-TLS) client connections accepted from other hosts.
    pub non_mtls_remote_connections: AtomicU64,
}

impl ServerStats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Records one frame sent to a client (length prefix included): its size, and whether it is a
    /// watch notification (xid -1).
    pub fn record_sent(&self, frame: &[u8]) {
        let size = frame.len().saturating_sub(4);
        self.client_responses.record(size);
        self.response_bytes.fetch_add(size as u64, Relaxed);
        if frame.get(4..8) == Some(&(-1i32).to_be_bytes()[..]) {
            self.watch_bytes.fetch_add(size as u64, Relaxed);
        }
    }

    /// The counters as the reports want them.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            min_latency_ms: self.latency.min(),
            avg_latency_ms: self.latency.avg(),
            max_latency_ms: self.latency.max(),
            packets_received: self.packets_received.load(Relaxed),
            packets_sent: self.packets_sent.load(Relaxed),
            outstanding_requests: self.outstanding.load(Relaxed),
            alive_connections: self.alive_connections.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
            auth_failed: self.auth_failed.load(Relaxed),
            connections_rejected: self.connections_rejected.load(Relaxed),
            large_requests_rejected: self.large_requests_rejected.load(Relaxed),
            client_response_sizes: self.client_responses.sizes(),
            response_bytes: self.response_bytes.load(Relaxed),
            watch_bytes: self.watch_bytes.load(Relaxed),
            connection_requests: self.connection_requests.load(Relaxed),
            non_mtls_local_connections: self.non_mtls_local_connections.load(Relaxed),
            non_mtls_remote_connections: self.non_mtls_remote_connections.load(Relaxed),
            read_latency: self.read_latency.figures(),
            update_latency: self.update_latency.figures(),
        }
    }

    /// `srst`: latency, packet, proposal-size and response-size counters back to zero.
    pub fn reset(&self) {
        self.latency.reset();
        self.read_latency.reset();
        self.update_latency.reset();
        self.proposals.reset();
        self.client_responses.reset();
        self.packets_received.store(0, Relaxed);
        self.packets_sent.store(0, Relaxed);
    }
}

/// Counters of one connection.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Request latencies.
    pub latency: Summary,
    /// Packets received.
    pub received: AtomicU64,
    /// Packets sent.
    pub sent: AtomicU64,
    /// Requests in flight.
    pub outstanding: AtomicU64,
    /// Last client xid (as u64 bits; `u64::MAX` before any).
    pub last_cxid: Mutex<i64>,
    /// Last zxid sent.
    pub last_zxid: AtomicU64,
    /// When the last response was sent (ms since the epoch).
    pub last_response_ms: AtomicU64,
    /// Short name of the last operation.
    pub last_operation: Mutex<&'static str>,
}

impl ConnectionStats {
    /// Fresh counters.
    pub fn new() -> ConnectionStats {
        ConnectionStats {
            last_cxid: Mutex::new(-1),
            last_operation: Mutex::new("NA"),
            ..Default::default()
        }
    }

    /// `crst`: every counter back to its initial value.
    pub fn reset(&self) {
        self.latency.reset();
        self.received.store(0, Relaxed);
        self.sent.store(0, Relaxed);
        *self.last_cxid.lock().unwrap_or_else(|e| e.into_inner()) = -1;
        self.last_zxid.store(0, Relaxed);
        self.last_response_ms.store(0, Relaxed);
        *self
            .last_operation
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = "NA";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_sizes_last_min_max() {
        let p = BufferSizes::default();
        assert_eq!(p.sizes(), (-1, -1, -1));
        p.record(48);
        p.record(185);
        p.record(36);
        assert_eq!((p.sizes(), p.count()), ((36, 36, 185), 3));
        p.reset();
        assert_eq!(p.sizes(), (-1, -1, -1));
    }

    #[test]
    fn sent_frames_count_responses_and_notifications() {
        let stats = ServerStats::default();
        let mut reply = 20i32.to_be_bytes().to_vec();
        reply.extend_from_slice(&7i32.to_be_bytes());
        reply.extend_from_slice(&[0; 16]);
        let mut event = 30i32.to_be_bytes().to_vec();
        event.extend_from_slice(&(-1i32).to_be_bytes());
        event.extend_from_slice(&[0; 26]);
        stats.record_sent(&reply);
        stats.record_sent(&event);
        let s = stats.snapshot();
        assert_eq!(s.client_response_sizes, (30, 20, 30));
        assert_eq!((s.response_bytes, s.watch_bytes), (50, 30));
    }
}
