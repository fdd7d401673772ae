//! The AdminServer's HTTP listener.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tracing::info;

use super::commands::{primary_names, run_command};
use crate::fourlw::ServerInfo;
use crate::shutdown::Shutdown;

type Info = Arc<dyn ServerInfo>;

/// The routes: `<command_url>` (the list) and `<command_url>/<name>`.
pub fn router(command_url: &str, info: Info) -> Router {
    let base = format!("/{}", command_url.trim_matches('/'));
    Router::new()
        .route(&base, get(list))
        .route(&format!("{base}/{{name}}"), get(command))
        .with_state((base, info))
}

/// Serves the AdminServer on `listener` until shutdown.
pub async fn serve(
    listener: TcpListener,
    command_url: String,
    info: Info,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    info!(address = %listener.local_addr()?, command_url = %command_url, "AdminServer started");
    axum::serve(listener, router(&command_url, info))
        .with_graceful_shutdown(async move { shutdown.recv().await })
        .await
}

async fn list(State((base, _)): State<(String, Info)>) -> Response {
    let links: Vec<String> = primary_names()
        .into_iter()
        .map(|name| format!("<a href=\"{base}/{name}\">{name}</a>"))
        .collect();
    let body = format!(
        "<html><body>\n<h1>Commands</h1>\n{}\n</body></html>\n",
        links.join("<br/>\n")
    );
    ([(header::CONTENT_TYPE, "text/html")], body).into_response()
}

async fn command(State((_, info)): State<(String, Info)>, Path(name): Path<String>) -> Response {
    let output = run_command(&name, info.as_ref());
    let status = StatusCode::from_u16(output.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string_pretty(&output.body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
