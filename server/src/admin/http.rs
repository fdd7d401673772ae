//! The AdminServer's HTTP listener.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tracing::info;

use super::commands::{CommandOutput, primary_names, run_command};
use super::leader_transfer::{self, LeaderTransfer};
use crate::fourlw::ServerInfo;
use crate::shutdown::Shutdown;

/// What the handlers share: the command URL and the running server, seen as reports and as the
/// target of `leader_transfer`.
#[derive(Clone)]
struct Admin {
    base: String,
    info: Arc<dyn ServerInfo>,
    control: Arc<dyn LeaderTransfer>,
}

/// The routes: `<command_url>` (the list), `<command_url>/leader_transfer` (GET or POST) and
/// `<command_url>/<name>`.
pub fn router(
    command_url: &str,
    info: Arc<dyn ServerInfo>,
    control: Arc<dyn LeaderTransfer>,
) -> Router {
    let base = format!("/{}", command_url.trim_matches('/'));
    Router::new()
        .route(&base, get(list))
        .route(
            &format!("{base}/{}", leader_transfer::NAME),
            get(transfer).post(transfer),
        )
        .route(&format!("{base}/{{name}}"), get(command))
        .with_state(Admin {
            base,
            info,
            control,
        })
}

/// Serves the AdminServer on `listener` until shutdown.
pub async fn serve(
    listener: TcpListener,
    command_url: String,
    info: Arc<dyn ServerInfo>,
    control: Arc<dyn LeaderTransfer>,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    info!(address = %listener.local_addr()?, command_url = %command_url, "AdminServer started");
    axum::serve(listener, router(&command_url, info, control))
        .with_graceful_shutdown(async move { shutdown.recv().await })
        .await
}

async fn list(State(admin): State<Admin>) -> Response {
    let links: Vec<String> = primary_names()
        .into_iter()
        .map(|name| format!("<a href=\"{}/{name}\">{name}</a>", admin.base))
        .collect();
    let body = format!(
        "<html><body>\n<h1>Commands</h1>\n{}\n</body></html>\n",
        links.join("<br/>\n")
    );
    ([(header::CONTENT_TYPE, "text/html")], body).into_response()
}

async fn command(State(admin): State<Admin>, Path(name): Path<String>) -> Response {
    json_response(run_command(&name, admin.info.as_ref()))
}

async fn transfer(State(admin): State<Admin>, RawQuery(query): RawQuery) -> Response {
    json_response(leader_transfer::run(admin.control.as_ref(), query.as_deref()).await)
}

fn json_response(output: CommandOutput) -> Response {
    let status = StatusCode::from_u16(output.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string_pretty(&output.body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
