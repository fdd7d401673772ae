//! A side-by-side load generator: the same workload, in one run, against Apache ZooKeeper and against
//! `zk-server`, reported as a Markdown table of ratios (ours ÷ Apache).
//!
//! Layout, from the wire up:
//! - [`session`]: one client session over TCP or TLS (connect handshake, request and reply frames);
//!   [`tls`]: the run's certificates and the TLS settings of both flavours (`--tls`);
//! - [`workload`]: which operation, how many sessions and requests in flight, which paths;
//! - [`driver`]: the pipelined loop of one session and the [`driver::RowClock`] that ends warm-up and rows;
//! - [`runner`]: a run over many sessions, merged into [`stats::RowStats`]; populating nodes;
//! - [`stats`]: percentiles and throughput;
//! - [`zoocfg`], [`launch`], [`fourlw`], [`rss`]: the servers under test — their config, processes,
//!   readiness probe and resident memory;
//! - [`suite`]: one flavour's whole part of a run; [`report`]: the tables;
//! - [`writers`]: sessions writing through a change to the ensemble, and the write gap they saw;
//!   [`wait`]: polling until something happens;
//! - [`reconfig`]: the reconfiguration benchmark (membership changes timed, not load);
//! - [`failover`]: the failover benchmark (writes paused by killing the leader).

pub mod driver;
pub mod failover;
pub mod fourlw;
pub mod launch;
pub mod reconfig;
pub mod report;
pub mod rss;
pub mod runner;
pub mod session;
pub mod stats;
pub mod suite;
pub mod tls;
pub mod wait;
pub mod workload;
pub mod writers;
pub mod zoocfg;
