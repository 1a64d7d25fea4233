//! Isolation that holds: a container of an isolated tenant that starts — restarted by hand, by a
//! restart policy or with the engine, or a new one of that tenant — is isolated again as soon as
//! the events stream says it started, audited as [`REASON`], and the tenant's row says so. When
//! the watch (re)connects, a container that started while nobody watched is caught too: one the
//! isolation does not hold, or one it holds that started after the isolation was last applied or
//! is attached again to a network the isolation took away.

use std::collections::HashMap;

use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;

use super::{isolate, record, Request};
use crate::config::DockerConfig;
use crate::sources::docker::Backoff;
use crate::store::status::Health;
use crate::store::writer::{StoreWriter, Tables};
use crate::store::{journal, now_ms, tenants};

/// The audit row's reason, and what the tenant's row says.
pub const REASON: &str = "re-isolated after restart";
/// Its row in the Sources view.
pub const SOURCE: &str = "re-isolation";

/// Whether `tenant` is isolated (wholly or in part) by the store's account.
async fn is_isolated(writer: &StoreWriter, tenant: &str) -> bool {
    let t = tenant.to_string();
    writer.call(move |conn| (tenants::is_isolated(conn, &t).unwrap_or(false), Tables::NONE)).await.unwrap_or(false)
}

/// Isolates `tenant` again (isolation is idempotent: containers already cut off stay as they are,
/// the one that started is cut off) and records it: the audit row, with rampart as the actor, and
/// the tenant's note. `why` says which container started.
pub async fn reisolate(docker: &Docker, writer: &StoreWriter, config: &DockerConfig, tenant: &str, why: &str) -> bool {
    let result = isolate::isolate(docker, writer, config, tenant, false).await;
    let (ok, message, detail) = match &result {
        Ok(report) => {
            let n = report.containers.len();
            let failed = report.failed();
            let message = if failed == 0 {
                format!("{REASON} of {why}: {tenant} isolated again, {n}/{n} containers")
            } else {
                format!("{REASON} of {why}: {failed}/{n} containers of {tenant} could not be isolated again")
            };
            (failed == 0, message, serde_json::json!({ "backend": "docker", "containers": report.containers }))
        }
        Err(e) => (false, format!("{REASON} of {why} failed: {e}"), serde_json::json!({ "backend": "docker" })),
    };
    if !ok {
        tracing::error!("{message}");
    }
    let operator = super::rules::rampart_as("re-isolation");
    let request = Request::Isolate { tenant: tenant.to_string(), reason: REASON.into(), pause: false };
    let (t, note) = (tenant.to_string(), message.clone());
    writer
        .call(move |conn| {
            if let Err(e) = tenants::note_reisolated(conn, &t, &note, now_ms()) {
                tracing::error!("cannot note {t}'s re-isolation: {e}");
            }
            (record(conn, &operator, &request, ok, &message, detail), Tables::ALL)
        })
        .await
        .is_ok()
}

/// When a container last started, in ms (the engine's `State.StartedAt`).
fn started_ms(inspect: &bollard::models::ContainerInspectResponse) -> Option<i64> {
    let text = inspect.state.as_ref()?.started_at.as_deref()?;
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

/// Whether a container the journal holds as isolated is no longer held: it started after the
/// isolation was last applied (`cut`, ms), so a link cut in place came back up with it, or it is
/// attached again to a network the isolation disconnected.
async fn no_longer_held(docker: &Docker, id: &str, before: &journal::Before, cut: i64) -> bool {
    let Ok(inspect) = docker.inspect_container(id, None::<InspectContainerOptions>).await else { return false };
    let restarted = !before.held.is_empty() && started_ms(&inspect).is_some_and(|at| at > cut);
    let now = crate::sources::docker::attachments(&inspect);
    let reattached =
        before.networks.iter().filter(|n| !before.held.contains(&n.name)).any(|n| now.iter().any(|a| a.name == n.name));
    restarted || reattached
}

/// The running containers of `tenant` the isolation does not hold: new since the isolation (not
/// in the journal), or held but restarted or reattached while nobody watched.
async fn unjournaled(docker: &Docker, writer: &StoreWriter, config: &DockerConfig, tenant: &str) -> Vec<String> {
    let t = tenant.to_string();
    let cut = writer
        .call(move |conn| (tenants::last_cut(conn, &t).ok().flatten().unwrap_or(i64::MAX), Tables::NONE))
        .await
        .unwrap_or(i64::MAX);
    let filters = HashMap::from([("label".to_string(), vec![format!("{}={tenant}", config.label)])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let Ok(list) = docker.list_containers(Some(options)).await else { return Vec::new() };
    let mut out = Vec::new();
    for c in list {
        let (Some(id), running) = (c.id, c.state.is_some_and(|s| s.to_string() == "running")) else { continue };
        let container = id.clone();
        let entry = writer
            .call(move |conn| (journal::active(conn, &container).map(|e| e.map(|e| e.before)), Tables::NONE))
            .await;
        let held = match entry {
            Ok(Ok(Some(before))) => !running || !no_longer_held(docker, &id, &before, cut).await,
            Ok(Ok(None)) => false,
            _ => true,
        };
        if !held && running {
            let name = c.names.and_then(|n| n.first().cloned()).unwrap_or(id);
            out.push(name.trim_start_matches('/').to_string());
        }
    }
    out
}

/// Runs until the writer goes away: at each (re)connection, isolates again every isolated
/// tenant that has a container the isolation does not hold (one started while nobody watched);
/// then, for every container start of an isolated tenant, isolates that tenant again.
pub async fn run(writer: StoreWriter, config: DockerConfig) {
    let mut backoff = Backoff::default();
    loop {
        let docker = match crate::sources::docker::connect(&config).await {
            Ok(d) => d,
            Err(_) => {
                backoff.wait_longer().await;
                continue;
            }
        };
        backoff.reset();
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("event".to_string(), vec!["start".to_string()]),
            ("label".to_string(), vec![config.label.clone()]),
        ]);
        let Ok(events) = crate::sources::docker::events_from_now(&docker, &filters).await else {
            let lost = "cannot follow the engine's events; isolated tenants are not watched until it can".to_string();
            if !crate::sources::report_as(&writer, SOURCE, Health::Down, "not watching".into(), lost).await {
                return;
            }
            backoff.wait().await;
            continue;
        };
        let mut events = Box::pin(events);
        let isolated = writer.call(|conn| (tenants::isolated(conn).unwrap_or_default(), Tables::NONE)).await;
        let Ok(isolated) = isolated else { return };
        for tenant in &isolated {
            let new = unjournaled(&docker, &writer, &config, tenant).await;
            if !new.is_empty() && !reisolate(&docker, &writer, &config, tenant, &new.join(", ")).await {
                return;
            }
        }
        let detail = match isolated.len() {
            0 => "no tenant is isolated; a container that starts in one that is will be isolated again".to_string(),
            n => format!("{n} isolated tenants; a container of theirs that starts is isolated again at once"),
        };
        if !crate::sources::report_as(&writer, SOURCE, Health::Ok, "watching".into(), detail).await {
            return;
        }
        while let Some(Ok(event)) = events.next().await {
            let attributes = event.actor.and_then(|a| a.attributes).unwrap_or_default();
            let Some(tenant) = attributes.get(&config.label).map(|t| t.trim().to_string()) else { continue };
            if tenant.is_empty() || !is_isolated(&writer, &tenant).await {
                continue;
            }
            let name = attributes.get("name").cloned().unwrap_or_else(|| "a container".into());
            if !reisolate(&docker, &writer, &config, &tenant, &name).await {
                return;
            }
        }
        let lost = "lost the engine's events; isolated tenants are not watched until it is back".to_string();
        if !crate::sources::report_as(&writer, SOURCE, Health::Down, "not watching".into(), lost).await {
            return;
        }
        backoff.wait().await;
    }
}
