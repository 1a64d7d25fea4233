//! Tenants from the Docker Engine: containers carrying the tenant label, their networks and
//! hardening posture. A full listing at (re)connection, then the events stream (no polling).

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, EventMessage};
use bollard::query_parameters::{EventsOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use serde_json::json;

use crate::config::DockerConfig;
use crate::store::journal::Attachment;
use crate::store::status::Health;
use crate::store::tenants::Container;
use crate::store::writer::{StoreWriter, Write};

pub const SOURCE: &str = crate::store::status::names::DOCKER;

/// Where the engine is: the config's `host`, else DOCKER_HOST, else the local socket.
pub fn host(config: &DockerConfig) -> String {
    config
        .host
        .clone()
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into())
}

/// Connects and agrees on an API version with the engine.
pub async fn connect(config: &DockerConfig) -> Result<Docker, String> {
    let host = host(config);
    let explain = |e: bollard::errors::Error| {
        format!(
            "cannot reach the Docker engine at {host} ({e}) — is dockerd running, and may this user use its socket?"
        )
    };
    let docker = Docker::connect_with_host(&host).map_err(explain)?;
    let docker = docker.negotiate_version().await.map_err(explain)?;
    docker.ping().await.map_err(explain)?;
    Ok(docker)
}

/// The engine's events matching `filters`, from before the caller lists what is there. The
/// engine subscribes only when the stream is first read, so a container that starts between this
/// call and that read would never be told of; the stream therefore asks for the events since the
/// engine's own clock now, which the engine replays from what it keeps. Something that happens in
/// between may be both listed and told of: every reader takes an event as "look at it again".
pub async fn events_from_now(
    docker: &Docker,
    filters: &HashMap<String, Vec<String>>,
) -> Result<impl futures::Stream<Item = Result<EventMessage, bollard::errors::Error>>, bollard::errors::Error> {
    let now = docker.info().await?.system_time;
    let since = now
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()))
        .ok_or_else(|| bollard::errors::Error::IOError {
            err: std::io::Error::other(format!("the engine's clock reads {now:?}, not a time")),
        })?;
    let options = EventsOptionsBuilder::default().since(&since).filters(filters).build();
    Ok(docker.events(Some(options)))
}

/// The tenant a container belongs to, from its label.
fn tenant_of(labels: Option<&HashMap<String, String>>, label: &str) -> Option<String> {
    labels.and_then(|l| l.get(label)).map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// A container's networks as attached now.
pub fn attachments(c: &ContainerInspectResponse) -> Vec<Attachment> {
    let mut out: Vec<Attachment> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|networks| {
            networks
                .iter()
                .map(|(name, ep)| Attachment {
                    name: name.clone(),
                    ip: ep.ip_address.clone().filter(|ip| !ip.is_empty()),
                    ipv6: ep.global_ipv6_address.clone().filter(|ip| !ip.is_empty()),
                    aliases: ep.aliases.clone().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The store's row for an inspected container, if it carries the tenant label.
pub fn container_row(c: &ContainerInspectResponse, docker: &DockerConfig) -> Option<Container> {
    let config = c.config.as_ref();
    let tenant = tenant_of(config.and_then(|c| c.labels.as_ref()), &docker.label)?;
    let host = c.host_config.as_ref();
    let user = config.and_then(|c| c.user.clone()).unwrap_or_default();
    let runs_as_root =
        user.is_empty() || user == "root" || user == "0" || user.starts_with("0:") || user.starts_with("root:");
    let network_mode = host.and_then(|h| h.network_mode.clone()).unwrap_or_default();
    let docker_socket = c.mounts.iter().flatten().any(|m| {
        m.source.as_deref().is_some_and(|s| s.ends_with("docker.sock"))
            || m.destination.as_deref().is_some_and(|d| d.ends_with("docker.sock"))
    });
    let posture = json!({
        "user": user,
        "runs_as_root": runs_as_root,
        "read_only_rootfs": host.and_then(|h| h.readonly_rootfs).unwrap_or(false),
        "privileged": host.and_then(|h| h.privileged).unwrap_or(false),
        "cap_add": host.and_then(|h| h.cap_add.clone()).unwrap_or_default(),
        "host_network": network_mode == "host",
        "host_pid": host.and_then(|h| h.pid_mode.clone()).is_some_and(|p| p == "host"),
        "docker_socket": docker_socket,
    });
    let state = c.state.as_ref();
    let status = match state {
        Some(s) if s.paused == Some(true) => "paused".to_string(),
        Some(s) => s.status.map(|st| st.to_string()).unwrap_or_else(|| "unknown".into()),
        None => "unknown".into(),
    };
    let networks: Vec<serde_json::Value> = attachments(c)
        .into_iter()
        .map(|a| {
            let quarantine = a.name == docker.quarantine_network;
            json!({"name": a.name, "ip": a.ip, "aliases": a.aliases, "quarantine": quarantine})
        })
        .collect();
    Some(Container {
        id: c.id.clone().unwrap_or_default(),
        tenant,
        name: c.name.clone().unwrap_or_default().trim_start_matches('/').to_string(),
        image: config.and_then(|c| c.image.clone()).unwrap_or_default(),
        state: status,
        networks_json: serde_json::Value::Array(networks).to_string(),
        posture_json: posture.to_string(),
    })
}

/// Every labelled container, inspected.
pub async fn snapshot(docker: &Docker, config: &DockerConfig) -> Result<Vec<Container>, bollard::errors::Error> {
    let filters = HashMap::from([("label".to_string(), vec![config.label.clone()])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let mut rows = Vec::new();
    for summary in docker.list_containers(Some(options)).await? {
        let Some(id) = summary.id else { continue };
        match docker.inspect_container(&id, None::<InspectContainerOptions>).await {
            Ok(c) => rows.extend(container_row(&c, config)),
            // Removed between the listing and the inspection.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(rows)
}

async fn status(writer: &StoreWriter, health: Health, detail: String) -> bool {
    super::report(writer, SOURCE, health, detail).await
}

/// The container an event is about: the actor of a container event, or the `container`
/// attribute of a network (dis)connect.
fn event_container(e: &EventMessage) -> Option<String> {
    let actor = e.actor.as_ref()?;
    match e.typ {
        Some(bollard::models::EventMessageTypeEnum::NETWORK) => actor.attributes.as_ref()?.get("container").cloned(),
        _ => actor.id.clone(),
    }
}

/// How long a task that follows the engine waits before it tries again: from 1 s, doubling up to
/// 30 s while the engine stays away, and back to 1 s once it answers (the Docker source, the
/// engine-logs follower and re-isolation share it).
#[derive(Debug)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff(Duration::from_secs(1))
    }
}

impl Backoff {
    /// Waits the current time, then doubles it for the next failure.
    pub async fn wait_longer(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(30));
    }

    /// Waits the current time as it is (after a connection that was lost).
    pub async fn wait(&self) {
        tokio::time::sleep(self.0).await;
    }

    /// The engine answered: the next wait is the first again.
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// Runs until the writer goes away: sync, follow events, and on any loss reconnect with backoff.
pub async fn run(writer: StoreWriter, config: DockerConfig) {
    let mut backoff = Backoff::default();
    loop {
        let docker = match connect(&config).await {
            Ok(d) => d,
            Err(why) => {
                if !status(&writer, Health::Down, why).await {
                    return;
                }
                backoff.wait_longer().await;
                continue;
            }
        };
        backoff.reset();
        let filters = HashMap::from([("type".to_string(), vec!["container".to_string(), "network".to_string()])]);
        let mut events = match events_from_now(&docker, &filters).await {
            Ok(events) => Box::pin(events),
            Err(e) => {
                if !status(&writer, Health::Down, format!("cannot follow the engine's events: {e}")).await {
                    return;
                }
                backoff.wait().await;
                continue;
            }
        };
        match snapshot(&docker, &config).await {
            Ok(rows) => {
                let tenants: std::collections::BTreeSet<&str> = rows.iter().map(|c| c.tenant.as_str()).collect();
                let detail = format!("{} containers of {} tenants", rows.len(), tenants.len());
                if writer.send(Write::SyncContainers(rows)).await.is_err() || !status(&writer, Health::Ok, detail).await
                {
                    return;
                }
            }
            Err(e) => {
                if !status(&writer, Health::Down, format!("cannot list containers: {e}")).await {
                    return;
                }
                backoff.wait().await;
                continue;
            }
        }
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!("docker events stream ended: {e}");
                    break;
                }
            };
            let Some(id) = event_container(&event) else { continue };
            let write = match docker.inspect_container(&id, None::<InspectContainerOptions>).await {
                Ok(c) => match container_row(&c, &config) {
                    Some(row) => Write::Container(row),
                    None => continue,
                },
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                    Write::RemoveContainer(id)
                }
                Err(e) => {
                    tracing::warn!("cannot inspect container {id}: {e}");
                    continue;
                }
            };
            if writer.send(write).await.is_err() {
                return;
            }
        }
        if !status(&writer, Health::Down, format!("lost the Docker engine at {}; reconnecting", host(&config))).await {
            return;
        }
        backoff.wait().await;
    }
}
