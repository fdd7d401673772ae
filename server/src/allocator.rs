//! The process's memory allocator: jemalloc, tuned for a small resident size rather than peak
//! allocation speed. Measured with `zk-bench --memory-znodes 100000` (docs/performance.md): the
//! system allocator spread 100,000 znodes' small allocations over several per-thread arenas and
//! kept freed request and reply buffers resident between them.
//!
//! The options are baked into the binary (jemalloc reads `malloc_conf` at start; the
//! `_RJEM_MALLOC_CONF` environment variable still overrides them):
//! - `narenas:1`: one arena for all threads, so memory freed by one thread is reused by the others;
//! - `background_thread:true`, `dirty_decay_ms:1000`, `muzzy_decay_ms:0`: freed pages go back to
//!   the system within about a second, also while the server is idle.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (see the module doc), read by jemalloc under its prefixed name.
#[used]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 70] =
    b"narenas:1,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";
