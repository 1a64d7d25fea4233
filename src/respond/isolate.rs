//! Isolating a tenant on the real Docker Engine, and restoring it: every container's networks are
//! journaled before they are touched, then disconnected, and the container is attached to an
//! internal quarantine network where it can be inspected but reach nothing. Both are idempotent,
//! and both finish what an interrupted run left behind.

use std::collections::HashMap;

use bollard::models::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use bollard::query_parameters::{InspectContainerOptions, InspectNetworkOptions, ListContainersOptionsBuilder};
use bollard::Docker;
use serde::Serialize;

use crate::config::DockerConfig;
use crate::sources::docker::attachments;
use crate::store::journal::{self, Attachment, Before, Step};
use crate::store::tenants::status;
use crate::store::writer::{StoreWriter, Tables};

/// What happened to one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerOutcome {
    pub container: String,
    pub ok: bool,
    pub detail: String,
}

/// What happened to a tenant's containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub tenant: String,
    pub containers: Vec<ContainerOutcome>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.containers.iter().filter(|c| !c.ok).count()
    }

    /// The tenant's status after this report.
    pub fn status_after(&self, isolating: bool) -> &'static str {
        match (self.failed(), isolating) {
            (0, true) => status::ISOLATED,
            (0, false) => status::ACTIVE,
            _ => status::PARTIAL,
        }
    }
}

fn store_err(e: impl std::fmt::Display) -> String {
    format!("the store refused the journal entry ({e}); nothing was changed on this container")
}

async fn journal_call<T: Send + 'static>(
    writer: &StoreWriter,
    f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, String> {
    writer.call(move |conn| (f(conn), Tables::TENANTS)).await.map_err(store_err)?.map_err(store_err)
}

/// The tenant's containers, as the engine knows them now: (id, name).
async fn containers_of(docker: &Docker, config: &DockerConfig, tenant: &str) -> Result<Vec<(String, String)>, String> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{}={tenant}", config.label)])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let list = docker.list_containers(Some(options)).await.map_err(|e| format!("cannot list containers: {e}"))?;
    let mut out: Vec<(String, String)> = list
        .into_iter()
        .filter_map(|c| {
            let name = c.names.and_then(|n| n.first().cloned()).unwrap_or_default().trim_start_matches('/').to_string();
            c.id.map(|id| (id, name))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Creates the quarantine network if it is missing; refuses one that is not internal.
async fn ensure_quarantine(docker: &Docker, name: &str) -> Result<(), String> {
    match docker.inspect_network(name, None::<InspectNetworkOptions>).await {
        Ok(n) if n.internal == Some(true) => Ok(()),
        Ok(_) => Err(format!("network {name} exists but is not internal; refusing to use it as quarantine")),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
            let request = NetworkCreateRequest {
                name: name.to_string(),
                driver: Some("bridge".into()),
                internal: Some(true),
                // Containers in quarantine cannot reach each other either.
                options: Some(HashMap::from([("com.docker.network.bridge.enable_icc".into(), "false".into())])),
                labels: Some(HashMap::from([("rampart.quarantine".into(), "true".into())])),
                ..Default::default()
            };
            docker
                .create_network(request)
                .await
                .map(|_| ())
                .map_err(|e| format!("cannot create quarantine network {name}: {e}"))
        }
        Err(e) => Err(format!("cannot inspect network {name}: {e}")),
    }
}

/// For the crash-recovery test: with `RAMPART_FAULT=isolate-after-disconnect` the process aborts
/// right after the first network is disconnected, as a kill -9 would.
fn fault(point: &str) {
    if crate::fault::at(point) {
        eprintln!("{}={point}: aborting as a crash would", crate::fault::ENV);
        std::process::abort();
    }
}

/// Isolates every container of `tenant`, continuing any isolation that was interrupted.
pub async fn isolate(
    docker: &Docker,
    writer: &StoreWriter,
    config: &DockerConfig,
    tenant: &str,
    pause: bool,
) -> Result<Report, String> {
    let containers = containers_of(docker, config, tenant).await?;
    if containers.is_empty() {
        return Err(format!("no container carries the label {}={tenant}; nothing to isolate", config.label));
    }
    ensure_quarantine(docker, &config.quarantine_network).await?;
    let mut report = Report { tenant: tenant.to_string(), containers: Vec::new() };
    for (id, name) in containers {
        let outcome = match isolate_one(docker, writer, config, tenant, &id, pause).await {
            Ok(detail) => ContainerOutcome { container: name, ok: true, detail },
            Err(detail) => ContainerOutcome { container: name, ok: false, detail },
        };
        report.containers.push(outcome);
    }
    Ok(report)
}

async fn isolate_one(
    docker: &Docker,
    writer: &StoreWriter,
    config: &DockerConfig,
    tenant: &str,
    id: &str,
    pause: bool,
) -> Result<String, String> {
    let quarantine = &config.quarantine_network;
    let inspect = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(|e| format!("cannot inspect: {e}"))?;
    let now: Vec<Attachment> = attachments(&inspect);
    let paused = inspect.state.as_ref().and_then(|s| s.paused).unwrap_or(false);
    let running = inspect.state.as_ref().and_then(|s| s.running).unwrap_or(false);
    // The journal is written before anything changes; an entry left by an interrupted run is
    // reused, because the container no longer shows the networks it had.
    let (container, t) = (id.to_string(), tenant.to_string());
    let existing = journal_call(writer, move |conn| journal::active(conn, &container)).await?;
    let (entry_id, before) = match existing {
        Some(e) if e.step == Step::Isolate => (e.id, e.before),
        Some(e) => {
            return Err(format!(
                "a restore of this container is in progress (journal entry {}); run restore first",
                e.id
            ))
        }
        None => {
            let before = Before {
                name: inspect.name.clone().unwrap_or_default().trim_start_matches('/').to_string(),
                networks: now.iter().filter(|a| a.name != *quarantine).cloned().collect(),
                paused,
            };
            let (container, b) = (id.to_string(), before.clone());
            let entry = journal_call(writer, move |conn| journal::begin_isolate(conn, &t, &container, &b)).await?;
            (entry, before)
        }
    };
    let mut disconnected = 0;
    for net in &before.networks {
        if now.iter().any(|a| a.name == net.name) {
            let request = NetworkDisconnectRequest { container: id.to_string(), force: Some(true) };
            docker
                .disconnect_network(&net.name, request)
                .await
                .map_err(|e| format!("cannot disconnect {}: {e}", net.name))?;
            disconnected += 1;
            fault("isolate-after-disconnect");
        }
    }
    if !now.iter().any(|a| a.name == *quarantine) {
        let request = NetworkConnectRequest { container: id.to_string(), endpoint_config: None };
        docker.connect_network(quarantine, request).await.map_err(|e| format!("cannot attach {quarantine}: {e}"))?;
    }
    let mut paused_now = false;
    if pause && running && !paused {
        docker.pause_container(id).await.map_err(|e| format!("isolated, but cannot pause: {e}"))?;
        paused_now = true;
    }
    journal_call(writer, move |conn| journal::set(conn, entry_id, Step::Isolate, true)).await?;
    Ok(format!(
        "{disconnected} of {} networks disconnected, on {quarantine}{}",
        before.networks.len(),
        if paused_now { ", paused" } else { "" }
    ))
}

/// Restores every journaled container of `tenant` to the networks it had.
pub async fn restore(
    docker: &Docker,
    writer: &StoreWriter,
    config: &DockerConfig,
    tenant: &str,
) -> Result<Report, String> {
    let t = tenant.to_string();
    let entries = journal_call(writer, move |conn| journal::active_of(conn, &t)).await?;
    if entries.is_empty() {
        return Err(format!("{tenant} has no isolation to undo (nothing in the journal)"));
    }
    let mut report = Report { tenant: tenant.to_string(), containers: Vec::new() };
    for entry in entries {
        let name = entry.before.name.clone();
        let outcome = match restore_one(docker, writer, config, &entry).await {
            Ok(detail) => ContainerOutcome { container: name, ok: true, detail },
            Err(detail) => ContainerOutcome { container: name, ok: false, detail },
        };
        report.containers.push(outcome);
    }
    Ok(report)
}

async fn restore_one(
    docker: &Docker,
    writer: &StoreWriter,
    config: &DockerConfig,
    entry: &journal::Entry,
) -> Result<String, String> {
    let id = entry.container.clone();
    let entry_id = entry.id;
    journal_call(writer, move |conn| journal::set(conn, entry_id, Step::Restore, false)).await?;
    let inspect = match docker.inspect_container(&id, None::<InspectContainerOptions>).await {
        Ok(i) => i,
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
            journal_call(writer, move |conn| journal::set(conn, entry_id, Step::Restore, true)).await?;
            return Ok("the container no longer exists; its journal entry is closed".into());
        }
        Err(e) => return Err(format!("cannot inspect: {e}")),
    };
    let paused = inspect.state.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if paused && !entry.before.paused {
        docker.unpause_container(&id).await.map_err(|e| format!("cannot unpause: {e}"))?;
    }
    let now = attachments(&inspect);
    let mut notes = Vec::new();
    for net in &entry.before.networks {
        if now.iter().any(|a| a.name == net.name) {
            continue;
        }
        let endpoint = |ip: Option<String>| EndpointSettings {
            aliases: Some(net.aliases.clone()).filter(|a| !a.is_empty()),
            ipam_config: ip.map(|ip| EndpointIpamConfig { ipv4_address: Some(ip), ..Default::default() }),
            ..Default::default()
        };
        let with_ip = NetworkConnectRequest { container: id.clone(), endpoint_config: Some(endpoint(net.ip.clone())) };
        if let Err(e) = docker.connect_network(&net.name, with_ip).await {
            // Networks without a configured subnet cannot pin an address: reconnect without it.
            let plain = NetworkConnectRequest { container: id.clone(), endpoint_config: Some(endpoint(None)) };
            docker
                .connect_network(&net.name, plain)
                .await
                .map_err(|e2| format!("cannot reconnect {}: {e2} (with its old address: {e})", net.name))?;
            notes.push(format!("{} got a new address", net.name));
        }
    }
    let quarantine = &config.quarantine_network;
    if now.iter().any(|a| a.name == *quarantine) {
        let request = NetworkDisconnectRequest { container: id.clone(), force: Some(true) };
        docker.disconnect_network(quarantine, request).await.map_err(|e| format!("cannot leave {quarantine}: {e}"))?;
    }
    journal_call(writer, move |conn| journal::set(conn, entry_id, Step::Restore, true)).await?;
    let mut detail = format!("{} networks reconnected", entry.before.networks.len());
    for n in notes {
        detail.push_str("; ");
        detail.push_str(&n);
    }
    Ok(detail)
}
