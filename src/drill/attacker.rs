//! The drill's throw-away attacker: a container of no tenant, labelled with the drill's id, on
//! the tenant's network; the scenarios run in it through the engine's exec API.

use std::collections::HashMap;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, NetworkConnectRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder, StartContainerOptions,
};
use bollard::Docker;
use futures::StreamExt;

use super::image::IMAGE;

/// The label every attacker carries: its drill's id.
pub const LABEL: &str = "rampart.drill";

/// A container name for drill `id` (`extra` for a second one), unique across stores and hosts
/// sharing an engine: drills of two stores have the same ids.
pub fn name(id: i64, extra: &str) -> String {
    format!("rampart-drill-{id}{extra}-{:08x}", rand::random::<u32>())
}

/// Starts an attacker on `network`, with `labels` beside the drill's; returns its address there.
pub async fn start(
    docker: &Docker,
    name: &str,
    id: i64,
    network: &str,
    mut labels: HashMap<String, String>,
) -> Result<String, String> {
    labels.insert(LABEL.into(), id.to_string());
    let body = ContainerCreateBody {
        image: Some(IMAGE.into()),
        cmd: Some(vec!["/bin/sleep".into(), "3600".into()]),
        labels: Some(labels),
        host_config: Some(HostConfig { network_mode: Some(network.into()), ..Default::default() }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    docker.create_container(Some(options), body).await.map_err(|e| format!("cannot create the attacker: {e}"))?;
    docker
        .start_container(name, None::<StartContainerOptions>)
        .await
        .map_err(|e| format!("cannot start the attacker: {e}"))?;
    address_on(docker, name, network).await.ok_or_else(|| format!("the attacker has no address on {network}"))
}

/// Attaches the attacker to `network` as well; returns its address there.
pub async fn attach(docker: &Docker, name: &str, network: &str) -> Result<String, String> {
    let request = NetworkConnectRequest { container: name.into(), endpoint_config: None };
    docker
        .connect_network(network, request)
        .await
        .map_err(|e| format!("cannot attach the attacker to {network}: {e}"))?;
    address_on(docker, name, network).await.ok_or_else(|| format!("the attacker has no address on {network}"))
}

/// The container's IPv4 address on `network`.
pub async fn address_on(docker: &Docker, container: &str, network: &str) -> Option<String> {
    let c = docker.inspect_container(container, None::<InspectContainerOptions>).await.ok()?;
    crate::sources::docker::attachments(&c).into_iter().find(|a| a.name == network).and_then(|a| a.ip)
}

/// Runs `script` with busybox sh in the attacker and returns what it printed.
pub async fn run(docker: &Docker, name: &str, script: &str) -> Result<String, String> {
    let options = CreateExecOptions {
        cmd: Some(vec!["/bin/sh", "-c", script]),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let exec = docker.create_exec(name, options).await.map_err(|e| format!("cannot run in the attacker: {e}"))?;
    let mut text = String::new();
    match docker.start_exec(&exec.id, None).await {
        Ok(StartExecResults::Attached { mut output, .. }) => {
            while let Some(Ok(chunk)) = output.next().await {
                text.push_str(&chunk.to_string());
            }
        }
        Ok(StartExecResults::Detached) => {}
        Err(e) => return Err(format!("cannot run in the attacker: {e}")),
    }
    Ok(text)
}

/// Whether the attacker still gets an HTTP answer (any status) from port 80 of `ip` within two
/// seconds.
pub async fn reaches(docker: &Docker, name: &str, ip: &str) -> bool {
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80 2>&1");
    match run(docker, name, &script).await {
        Ok(out) => out.starts_with("HTTP/"),
        Err(_) => false,
    }
}

/// Removes the attacker (whatever state it is in).
pub async fn remove(docker: &Docker, name: &str) -> Result<(), String> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        Err(e) => Err(format!("cannot remove the attacker {name}: {e}")),
    }
}
