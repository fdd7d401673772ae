//! The AdminServer's HTTP listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tracing::info;

use super::commands::{CommandOutput, not_serving, primary_names, run_command};
use super::leader_transfer::{self, LeaderTransfer};
use super::snapshot::{self, SnapshotAccess, SnapshotSource};
use crate::acl::AclPolicy;
use crate::fourlw::ServerInfo;
use crate::shutdown::Shutdown;

/// The running server as the AdminServer's commands reach it: reports, `leader_transfer`'s
/// target, and the source of `snapshot`.
#[derive(Clone)]
pub struct AdminTargets {
    /// What the reporting commands read.
    pub info: Arc<dyn ServerInfo>,
    /// What `leader_transfer` acts on.
    pub control: Arc<dyn LeaderTransfer>,
    /// What `snapshot` copies.
    pub snapshots: Arc<dyn SnapshotSource>,
}

/// What the handlers share: the command URL, the running server and who may take snapshots.
#[derive(Clone)]
struct Admin {
    base: String,
    targets: AdminTargets,
    access: Arc<SnapshotAccess>,
}

/// The routes: `<command_url>` (the list), `<command_url>/leader_transfer` (GET or POST),
/// `<command_url>/snapshot` (and `snap`) and `<command_url>/<name>`.
pub fn router(command_url: &str, targets: AdminTargets) -> Router {
    let base = format!("/{}", command_url.trim_matches('/'));
    let config = targets.info.config();
    let access = Arc::new(SnapshotAccess::new(
        config.admin.clone(),
        AclPolicy::from_config(config),
        config.super_digest.clone(),
    ));
    let mut router = Router::new().route(&base, get(list)).route(
        &format!("{base}/{}", leader_transfer::NAME),
        get(transfer).post(transfer),
    );
    for name in snapshot::NAMES {
        router = router.route(&format!("{base}/{name}"), get(take_snapshot));
    }
    router
        .route(&format!("{base}/{{name}}"), get(command))
        .with_state(Admin {
            base,
            targets,
            access,
        })
}

/// Serves the AdminServer on `listener` until shutdown.
pub async fn serve(
    listener: TcpListener,
    command_url: String,
    targets: AdminTargets,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    info!(address = %listener.local_addr()?, command_url = %command_url, "AdminServer started");
    axum::serve(
        listener,
        router(&command_url, targets).into_make_service_with_connect_info::<SocketAddr>(),
    )
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
    json_response(run_command(&name, admin.targets.info.as_ref()))
}

async fn transfer(State(admin): State<Admin>, RawQuery(query): RawQuery) -> Response {
    json_response(leader_transfer::run(admin.targets.control.as_ref(), query.as_deref()).await)
}

/// `snapshot`: the client's address (for the `ip` scheme), its `Authorization` header and
/// `streaming` (true unless the query says `streaming=false`, as Apache parses it).
async fn take_snapshot(State(admin): State<Admin>, request: Request) -> Response {
    if !admin.targets.info.is_serving() {
        return json_response(not_serving(snapshot::NAMES[0]));
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let streaming = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .all(|pair| match pair.split_once('=') {
            Some(("streaming", value)) => value.eq_ignore_ascii_case("true"),
            _ => true,
        });
    snapshot::run(
        &admin.access,
        admin.targets.snapshots.as_ref(),
        authorization,
        peer,
        streaming,
    )
    .await
}

fn json_response(output: CommandOutput) -> Response {
    let status = StatusCode::from_u16(output.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string_pretty(&output.body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
