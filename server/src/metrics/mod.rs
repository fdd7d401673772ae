//! Prometheus metrics on `metricsProvider.httpPort` at `/metrics`, served when
//! `metricsProvider.className` names Apache's Prometheus provider: what `mntr` reports, with the
//! names, types and quantiles Apache's provider gives them.
//!
//! Layout:
//! - `apache_types` — which of Apache's metrics are counters and summaries, and which quantiles
//!   each summary shows.
//! - `exposition` — `mntr`'s list in the Prometheus text format.

mod apache_types;
mod exposition;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tracing::info;

pub use exposition::render;

use crate::fourlw::{ServerInfo, metrics, recent_quantiles};
use crate::shutdown::Shutdown;

/// Serves `/metrics` on `listener` until shutdown.
pub async fn serve(
    listener: TcpListener,
    info: Arc<dyn ServerInfo>,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    info!(address = %listener.local_addr()?, "Prometheus metrics served at /metrics");
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(info);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.recv().await })
        .await
}

async fn scrape(State(info): State<Arc<dyn ServerInfo>>) -> impl IntoResponse {
    let body = render(&metrics(info.as_ref()), &recent_quantiles(info.as_ref()));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
