//! Isolating a tenant on the real Docker Engine, and restoring it with every container's own
//! addresses: networks are journaled before they are touched, then disconnected — or, where the
//! engine could not give the address back (no configured subnet), kept and cut at the link — so an
//! isolated container has no working link left, not even to the host: no network is attached in
//! their place and no firewall rule is needed. Both are idempotent and finish what an interrupted
//! run left behind.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use bollard::models::{
    ContainerInspectResponse, ContainerUpdateBody, EndpointIpamConfig, EndpointSettings, NetworkConnectRequest,
    NetworkDisconnectRequest, RestartPolicy as EngineRestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{InspectContainerOptions, InspectNetworkOptions, ListContainersOptionsBuilder};
use bollard::Docker;
use serde::Serialize;

use crate::config::DockerConfig;
use crate::respond::link::{self, HostEnd};
use crate::sources::docker::{attachments, host as docker_host};
use crate::store::journal::{self, Attachment, Before, RestartPolicy, Step};
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

/// Whether the container is on the quarantine network earlier versions attached isolated
/// containers to: one by that name that is internal (they refused any other). A network of that
/// name that is not internal is journaled and cut like any other.
async fn on_old_quarantine(docker: &Docker, config: &DockerConfig, now: &[Attachment]) -> bool {
    let name = &config.quarantine_network;
    now.iter().any(|a| a.name == *name)
        && matches!(docker.inspect_network(name, None::<InspectNetworkOptions>).await, Ok(n) if n.internal == Some(true))
}

/// For the crash-recovery tests: with `RAMPART_FAULT=isolate-after-disconnect` (or
/// `isolate-after-cut`) the process aborts right after the first network is disconnected (or cut
/// in place), as a kill -9 would.
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

/// How the engine words its refusal of a chosen address on a network whose IPAM has no
/// configured subnet (Docker Engine 20.10 to 28).
const NO_CONFIGURED_SUBNET: &str = "user configured subnets";

/// Whether the engine would refuse to give a container a chosen address on `network`, because its
/// IPAM has no configured subnet (the usual compose network): a container disconnected from such a
/// network could not be given its address back. Asked without changing anything: the container is
/// attached there already, so a request that passes the address check is refused as a duplicate.
async fn refuses_chosen_address(docker: &Docker, id: &str, network: &str, ip: &str) -> bool {
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig { ipv4_address: Some(ip.to_string()), ..Default::default() }),
        ..Default::default()
    };
    let request = NetworkConnectRequest { container: id.to_string(), endpoint_config: Some(endpoint) };
    match docker.connect_network(network, request).await {
        Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
            message.contains(NO_CONFIGURED_SUBNET)
        }
        _ => false,
    }
}

/// The Linux bridge behind a bridge network.
async fn bridge_of(docker: &Docker, network: &str) -> Result<String, String> {
    let n = docker
        .inspect_network(network, None::<InspectNetworkOptions>)
        .await
        .map_err(|e| format!("cannot inspect network {network}: {e}"))?;
    let driver = n.driver.clone().unwrap_or_default();
    if driver != "bridge" {
        return Err(format!("its driver is {driver}, not bridge"));
    }
    if let Some(name) = n.options.as_ref().and_then(|o| o.get("com.docker.network.bridge.name")) {
        return Ok(name.clone());
    }
    n.id.as_deref().and_then(|id| id.get(..12)).map(|p| format!("br-{p}")).ok_or_else(|| "it has no id".into())
}

/// The host end of the container's link to `network`, where it can be cut in place.
async fn host_end(
    docker: &Docker,
    config: &DockerConfig,
    inspect: &ContainerInspectResponse,
    network: &str,
) -> Result<HostEnd, String> {
    let engine = docker_host(config);
    if !engine.starts_with("unix://") {
        return Err(format!("the engine at {engine} is not on this host"));
    }
    let pid = inspect.state.as_ref().and_then(|s| s.pid).unwrap_or(0);
    let endpoint = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .and_then(|n| n.get(network))
        .ok_or_else(|| format!("the container is not attached to {network}"))?;
    let mac = endpoint.mac_address.as_deref().filter(|m| !m.is_empty()).ok_or("the engine shows no MAC address")?;
    let ip = endpoint.ip_address.as_deref().filter(|i| !i.is_empty()).ok_or("the container has no address there")?;
    let bridge = bridge_of(docker, network).await?;
    link::host_end(pid, mac, ip, &bridge).await
}

async fn set_restart_policy(docker: &Docker, id: &str, policy: &RestartPolicy) -> Result<(), String> {
    let name = policy.name.parse::<RestartPolicyNameEnum>().unwrap_or(RestartPolicyNameEnum::NO);
    let body = ContainerUpdateBody {
        restart_policy: Some(EngineRestartPolicy { name: Some(name), maximum_retry_count: policy.maximum_retry_count }),
        ..Default::default()
    };
    docker
        .update_container(id, body)
        .await
        .map_err(|e| format!("cannot set its restart policy to {}: {e}", policy.name))
}

fn restart_policy_of(inspect: &ContainerInspectResponse) -> RestartPolicy {
    let policy = inspect.host_config.as_ref().and_then(|h| h.restart_policy.as_ref());
    RestartPolicy {
        name: policy.and_then(|p| p.name).map(|n| n.to_string()).unwrap_or_default(),
        maximum_retry_count: policy.and_then(|p| p.maximum_retry_count).filter(|n| *n > 0),
    }
}

/// What isolation will do to the container's networks, decided before anything changes: hold
/// (keep attached, cut at the link) those where the engine would not give its address back, when
/// the link can be cut on this host; disconnect the rest. Returns the journal's record and notes
/// for the report on networks that had to be disconnected although their address may not return.
async fn plan(
    docker: &Docker,
    config: &DockerConfig,
    inspect: &ContainerInspectResponse,
    id: &str,
    now: &[Attachment],
    on_quarantine: bool,
) -> (Before, Vec<String>) {
    let quarantine = &config.quarantine_network;
    let networks: Vec<Attachment> = now.iter().filter(|a| !(on_quarantine && a.name == *quarantine)).cloned().collect();
    let state = inspect.state.as_ref();
    let running = state.and_then(|s| s.running).unwrap_or(false);
    let (mut held, mut notes) = (Vec::new(), Vec::new());
    for net in networks.iter().filter(|_| running) {
        let Some(ip) = net.ip.as_deref() else { continue };
        if !refuses_chosen_address(docker, id, &net.name, ip).await {
            continue;
        }
        match host_end(docker, config, inspect, &net.name).await {
            Ok(_) => held.push(net.name.clone()),
            Err(why) => notes.push(format!(
                "{}: disconnected although the engine may not give {ip} back on restore (no configured subnet), \
                 because the link cannot be cut in place: {why}",
                net.name
            )),
        }
    }
    let policy = restart_policy_of(inspect);
    let restart_policy = (!held.is_empty() && !matches!(policy.name.as_str(), "" | "no")).then_some(policy);
    let before = Before {
        name: inspect.name.clone().unwrap_or_default().trim_start_matches('/').to_string(),
        networks,
        paused: state.and_then(|s| s.paused).unwrap_or(false),
        held,
        restart_policy,
    };
    (before, notes)
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
    let on_quarantine = on_old_quarantine(docker, config, &now).await;
    let paused = inspect.state.as_ref().and_then(|s| s.paused).unwrap_or(false);
    let running = inspect.state.as_ref().and_then(|s| s.running).unwrap_or(false);
    // The journal is written before anything changes; an entry left by an interrupted run is
    // reused, because the container no longer shows the networks it had.
    let (container, t) = (id.to_string(), tenant.to_string());
    let existing = journal_call(writer, move |conn| journal::active(conn, &container)).await?;
    let (entry_id, before, mut notes) = match existing {
        Some(e) if e.step == Step::Isolate => (e.id, e.before, Vec::new()),
        Some(e) => {
            return Err(format!(
                "a restore of this container is in progress (journal entry {}); run restore first",
                e.id
            ))
        }
        None => {
            let (before, notes) = plan(docker, config, &inspect, id, &now, on_quarantine).await;
            let (container, b) = (id.to_string(), before.clone());
            let entry = journal_call(writer, move |conn| journal::begin_isolate(conn, &t, &container, &b)).await?;
            (entry, before, notes)
        }
    };
    // A restart would bring a held link back up uncut: the container may not restart by itself
    // while it is isolated.
    if before.restart_policy.is_some() && restart_policy_of(&inspect).name != "no" {
        let no = RestartPolicy { name: "no".into(), maximum_retry_count: None };
        set_restart_policy(docker, id, &no).await?;
    }
    let mut disconnected = 0;
    for net in &before.networks {
        if !now.iter().any(|a| a.name == net.name) {
            continue;
        }
        if before.held.contains(&net.name) {
            if !running {
                notes.push(format!("{}: not running, so there is no link to cut", net.name));
                continue;
            }
            let end = host_end(docker, config, &inspect, &net.name)
                .await
                .map_err(|e| format!("cannot cut {} in place: {e}", net.name))?;
            if end.up {
                link::cut(&end).await.map_err(|e| format!("cannot cut {} in place: {e}", net.name))?;
                fault("isolate-after-cut");
            }
            continue;
        }
        let request = NetworkDisconnectRequest { container: id.to_string(), force: Some(true) };
        docker
            .disconnect_network(&net.name, request)
            .await
            .map_err(|e| format!("cannot disconnect {}: {e}", net.name))?;
        disconnected += 1;
        fault("isolate-after-disconnect");
    }
    // No network takes the others' place: even an internal one gives the host an address on its
    // bridge, and through it the container reaches every service listening on all addresses. A
    // container an earlier rampart attached to the quarantine network leaves it.
    let left_quarantine = on_quarantine && !before.networks.iter().any(|n| n.name == *quarantine);
    if left_quarantine {
        let request = NetworkDisconnectRequest { container: id.to_string(), force: Some(true) };
        docker.disconnect_network(quarantine, request).await.map_err(|e| format!("cannot leave {quarantine}: {e}"))?;
    }
    let mut paused_now = false;
    if pause && running && !paused {
        docker.pause_container(id).await.map_err(|e| format!("isolated, but cannot pause: {e}"))?;
        paused_now = true;
    }
    journal_call(writer, move |conn| journal::set(conn, entry_id, Step::Isolate, true)).await?;
    let mut parts = Vec::new();
    let detachable = before.networks.len() - before.held.len();
    if detachable > 0 || before.held.is_empty() {
        parts.push(format!("{disconnected} of {detachable} networks disconnected"));
    }
    if !before.held.is_empty() {
        let held = before.held.join(", ");
        parts.push(format!("{} cut in place keeping the address ({held})", before.held.len()));
    }
    let mut detail = parts.join(", ");
    if left_quarantine {
        detail.push_str(&format!(", left {quarantine}"));
    }
    if paused_now {
        detail.push_str(", paused");
    }
    if before.restart_policy.is_some() {
        detail.push_str(", restart policy no");
    }
    for n in notes {
        detail.push_str("; ");
        detail.push_str(&n);
    }
    Ok(detail)
}

/// Restores every journaled container of `tenant` to the networks it had, each with its own
/// address: held networks are simply let through again; detached ones are reconnected across
/// all the tenant's containers in the order of the addresses they had.
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
    let mut work = Vec::new();
    for entry in entries {
        work.push(begin_restore(docker, writer, config, entry).await);
    }
    reconnect(docker, &mut work).await;
    let mut report = Report { tenant: tenant.to_string(), containers: Vec::new() };
    for w in work {
        let container = w.entry.before.name.clone();
        let outcome = match finish_restore(docker, writer, config, w).await {
            Ok(detail) => ContainerOutcome { container, ok: true, detail },
            Err(detail) => ContainerOutcome { container, ok: false, detail },
        };
        report.containers.push(outcome);
    }
    Ok(report)
}

/// One container on its way back.
struct Restoring {
    entry: journal::JournalEntry,
    /// Why it cannot be restored, once known; nothing more is tried on it.
    failed: Option<String>,
    /// The container no longer exists; its journal entry is closed.
    gone: bool,
    /// Indexes into `entry.before.networks` of the networks it must be attached to again.
    detached: Vec<usize>,
    /// It is on the quarantine network an earlier rampart attached isolated containers to.
    on_quarantine: bool,
    notes: Vec<String>,
}

/// Marks the entry as being restored, unpauses, puts the restart policy back and lets held links
/// through again; what is left is reconnecting the detached networks.
async fn begin_restore(
    docker: &Docker,
    writer: &StoreWriter,
    config: &DockerConfig,
    entry: journal::JournalEntry,
) -> Restoring {
    let mut w =
        Restoring { entry, failed: None, gone: false, detached: Vec::new(), on_quarantine: false, notes: Vec::new() };
    if let Err(e) = begin_restore_steps(docker, writer, config, &mut w).await {
        w.failed = Some(e);
    }
    w
}

async fn begin_restore_steps(
    docker: &Docker,
    writer: &StoreWriter,
    config: &DockerConfig,
    w: &mut Restoring,
) -> Result<(), String> {
    let (id, entry_id) = (w.entry.container.clone(), w.entry.id);
    journal_call(writer, move |conn| journal::set(conn, entry_id, Step::Restore, false)).await?;
    let inspect = match docker.inspect_container(&id, None::<InspectContainerOptions>).await {
        Ok(i) => i,
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
            journal_call(writer, move |conn| journal::set(conn, entry_id, Step::Restore, true)).await?;
            w.gone = true;
            return Ok(());
        }
        Err(e) => return Err(format!("cannot inspect: {e}")),
    };
    let state = inspect.state.as_ref();
    let (paused, running) =
        (state.and_then(|s| s.paused).unwrap_or(false), state.and_then(|s| s.running).unwrap_or(false));
    if paused && !w.entry.before.paused {
        docker.unpause_container(&id).await.map_err(|e| format!("cannot unpause: {e}"))?;
        w.notes.push("unpaused".into());
    }
    if let Some(policy) = &w.entry.before.restart_policy {
        if restart_policy_of(&inspect) != *policy {
            set_restart_policy(docker, &id, policy).await?;
            w.notes.push(format!("restart policy {} again", policy.name));
        }
    }
    let now = attachments(&inspect);
    let quarantine = &config.quarantine_network;
    w.on_quarantine =
        now.iter().any(|a| a.name == *quarantine) && !w.entry.before.networks.iter().any(|n| n.name == *quarantine);
    for (i, net) in w.entry.before.networks.iter().enumerate() {
        if !now.iter().any(|a| a.name == net.name) {
            w.detached.push(i);
        } else if w.entry.before.held.contains(&net.name) && running {
            let end = host_end(docker, config, &inspect, &net.name)
                .await
                .map_err(|e| format!("cannot let {} through again: {e}", net.name))?;
            if !end.up {
                link::let_through(&end).await.map_err(|e| format!("cannot let {} through again: {e}", net.name))?;
            }
        }
    }
    Ok(())
}

/// The endpoint to reconnect `net` with: its aliases, and the addresses to ask back for.
fn endpoint(net: &Attachment, ip: Option<&str>, ipv6: Option<&str>) -> EndpointSettings {
    EndpointSettings {
        aliases: Some(net.aliases.clone()).filter(|a| !a.is_empty()),
        ipam_config: ip.map(|ip| EndpointIpamConfig {
            ipv4_address: Some(ip.to_string()),
            ipv6_address: ipv6.map(String::from),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The IPv6 addresses in use on `network` now, as the engine lists its endpoints.
async fn ipv6_in_use(docker: &Docker, network: &str) -> HashSet<String> {
    let inspect = docker.inspect_network(network, None::<InspectNetworkOptions>).await;
    let endpoints = inspect.ok().and_then(|n| n.containers).unwrap_or_default();
    endpoints.into_values().filter_map(|e| e.ipv6_address?.split('/').next().map(String::from)).collect()
}

/// Attaches every container to the networks it was detached from, in three rounds that ask for
/// less each time, so that no container left to the engine's choice takes an address another is
/// about to ask back for: first every address each had (the engine pins them on networks with a
/// configured subnet); then the IPv4 address alone, for those whose IPv6 one was taken meanwhile;
/// then no address, in ascending order of the addresses they had: the engine hands out the lowest
/// free address, so each gets its own back unless a lower one is free or its own was taken in the
/// meantime (`finish_restore` reports exactly what each got).
async fn reconnect(docker: &Docker, work: &mut [Restoring]) {
    let mut order: Vec<(usize, usize)> = work
        .iter()
        .enumerate()
        .filter(|(_, w)| w.failed.is_none() && !w.gone)
        .flat_map(|(wi, w)| w.detached.iter().map(move |&ni| (wi, ni)))
        .collect();
    let address = |w: &Restoring, ni: usize| -> Option<IpAddr> {
        w.entry.before.networks[ni].ip.as_deref().and_then(|ip| ip.parse().ok())
    };
    order.sort_by_key(|&(wi, ni)| {
        let ip = address(&work[wi], ni);
        (ip.is_none(), ip)
    });
    // An IPv6 address another endpoint holds now is not asked for: Docker Engine 20.10 refuses
    // the request but keeps the IPv4 address it had already reserved, which is then lost.
    let mut taken: HashMap<String, HashSet<String>> = HashMap::new();
    for &(wi, ni) in &order {
        let net = &work[wi].entry.before.networks[ni];
        if net.ipv6.is_some() && !taken.contains_key(&net.name) {
            taken.insert(net.name.clone(), ipv6_in_use(docker, &net.name).await);
        }
    }
    let free =
        |net: &Attachment| net.ipv6.as_ref().is_none_or(|v6| !taken.get(&net.name).is_some_and(|t| t.contains(v6)));
    // (container, network, why the engine refused the addresses asked for so far)
    let mut pending: Vec<(usize, usize, Option<String>)> = order.into_iter().map(|(wi, ni)| (wi, ni, None)).collect();
    for round in 0..3 {
        let mut refused = Vec::new();
        for (wi, ni, why) in pending {
            let w = &mut work[wi];
            if w.failed.is_some() {
                continue;
            }
            let net = &w.entry.before.networks[ni];
            let (ip, ipv6) = (net.ip.as_deref(), net.ipv6.as_deref());
            let settings = match round {
                0 if ip.is_some() && free(net) => endpoint(net, ip, ipv6),
                1 if ip.is_some() && ipv6.is_some() => endpoint(net, ip, None),
                2 => endpoint(net, None, None),
                _ => {
                    refused.push((wi, ni, why));
                    continue;
                }
            };
            let request =
                NetworkConnectRequest { container: w.entry.container.clone(), endpoint_config: Some(settings) };
            match docker.connect_network(&net.name, request).await {
                Ok(()) => {}
                Err(e) if round < 2 => refused.push((wi, ni, why.or_else(|| Some(e.to_string())))),
                Err(e) => {
                    let with_address = why.map(|p| format!(" (with its old address: {p})")).unwrap_or_default();
                    w.failed = Some(format!("cannot reconnect {}: {e}{with_address}", net.name));
                }
            }
        }
        pending = refused;
    }
}

/// What one network looks like now against what the journal saw: "same address", "new address
/// X → Y", the same for IPv6 where it had one, aliases lost.
fn compare(before: &Attachment, now: &Attachment) -> String {
    let mut text = match (before.ip.as_deref(), now.ip.as_deref()) {
        (Some(old), Some(new)) if old == new => format!("{}: same address {new}", before.name),
        (Some(old), Some(new)) => format!("{}: new address {old} → {new}", before.name),
        (Some(old), None) => format!("{}: no address now (had {old}; the container is not running)", before.name),
        (None, Some(new)) => format!("{}: address {new} (had none)", before.name),
        (None, None) => format!("{}: attached (no address)", before.name),
    };
    match (before.ipv6.as_deref(), now.ipv6.as_deref()) {
        (Some(old), Some(new)) if old == new => text.push_str(&format!(", same IPv6 address {new}")),
        (Some(old), Some(new)) => text.push_str(&format!(", new IPv6 address {old} → {new}")),
        (Some(old), None) => text.push_str(&format!(", no IPv6 address now (had {old})")),
        (None, _) => {}
    }
    let lost: Vec<&str> = before.aliases.iter().filter(|a| !now.aliases.contains(a)).map(String::as_str).collect();
    if !lost.is_empty() {
        text.push_str(&format!(", aliases lost: {}", lost.join(", ")));
    }
    text
}

async fn finish_restore(
    docker: &Docker,
    writer: &StoreWriter,
    config: &DockerConfig,
    w: Restoring,
) -> Result<String, String> {
    if let Some(failed) = w.failed {
        return Err(failed);
    }
    if w.gone {
        return Ok("the container no longer exists; its journal entry is closed".into());
    }
    let (id, entry_id) = (w.entry.container.clone(), w.entry.id);
    let quarantine = &config.quarantine_network;
    if w.on_quarantine {
        let request = NetworkDisconnectRequest { container: id.clone(), force: Some(true) };
        docker.disconnect_network(quarantine, request).await.map_err(|e| format!("cannot leave {quarantine}: {e}"))?;
    }
    let inspect = docker
        .inspect_container(&id, None::<InspectContainerOptions>)
        .await
        .map_err(|e| format!("reconnected, but cannot inspect it to check: {e}"))?;
    let now = attachments(&inspect);
    let mut parts = Vec::new();
    for net in &w.entry.before.networks {
        let attached = now
            .iter()
            .find(|a| a.name == net.name)
            .ok_or_else(|| format!("{} is not attached after reconnecting it", net.name))?;
        parts.push(compare(net, attached));
    }
    journal_call(writer, move |conn| journal::set(conn, entry_id, Step::Restore, true)).await?;
    if parts.is_empty() {
        parts.push("it had no networks".into());
    }
    parts.extend(w.notes);
    Ok(parts.join("; "))
}
