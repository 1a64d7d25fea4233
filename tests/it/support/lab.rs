//! A Docker lab on the real engine: a busybox image built here (no registry), and tenants with
//! their own networks and containers, all removed again when the lab is dropped.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest, NetworkingConfig, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;

use rampart::config::DockerConfig;

pub const IMAGE: &str = "rampart-test-busybox:1";
static NEXT: AtomicU8 = AtomicU8::new(0);

pub struct Tenant {
    pub name: String,
    pub network: String,
    /// Container names: the first serves HTTP on port 80, the others are clients.
    pub containers: Vec<String>,
}

pub struct Lab {
    pub docker: Docker,
    pub runtime: tokio::runtime::Runtime,
    pub prefix: String,
    pub config: DockerConfig,
    pub tenants: Vec<Tenant>,
    /// Whether tenant networks get a configured subnet (a /24 of their own) or, as compose
    /// networks usually do, leave the engine's IPAM to pick one.
    subnets: bool,
    /// Whether tenant networks also get an IPv6 subnet (a /64 of their own).
    ipv6: bool,
}

/// Builds the busybox image from Debian's busybox-static, unless it is there already.
async fn ensure_image(docker: &Docker) {
    if docker.inspect_image(IMAGE).await.is_ok() {
        return;
    }
    let busybox = std::fs::read("/bin/busybox").expect("/bin/busybox: install busybox-static (tests/run does)");
    let mut tar = tar::Builder::new(Vec::new());
    let mut add_dir = |path: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        tar.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    for dir in ["bin", "www", "tmp", "etc"] {
        add_dir(dir);
    }
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(busybox.len() as u64);
    tar.append_data(&mut h, "bin/busybox", busybox.as_slice()).unwrap();
    for applet in ["sh", "httpd", "nc", "sleep", "cat", "ip"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        tar.append_link(&mut h, format!("bin/{applet}"), "busybox").unwrap();
    }
    let page = b"hello from a tenant\n";
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(page.len() as u64);
    tar.append_data(&mut h, "www/index.html", &page[..]).unwrap();
    let bytes = tar.into_inner().unwrap();
    let (repo, tag) = IMAGE.split_once(':').unwrap();
    let options = CreateImageOptionsBuilder::default().from_src("-").repo(repo).tag(tag).build();
    let mut stream = docker.create_image(Some(options), Some(bollard::body_full(bytes.into())), None);
    while let Some(step) = stream.next().await {
        step.expect("importing the busybox rootfs");
    }
}

impl Lab {
    /// A lab with one tenant per entry of `sizes` (containers per tenant), on the machine's engine.
    /// Fails, never skips, when the engine is not there.
    pub fn new(sizes: &[usize]) -> Lab {
        Lab::build(sizes, true, false)
    }

    /// Like `new`, with an IPv6 subnet beside the IPv4 one on every tenant network.
    pub fn dual_stack(sizes: &[usize]) -> Lab {
        Lab::build(sizes, true, true)
    }

    /// Like `new`, but compose-style: tenant networks without a configured subnet (the engine
    /// picks one and hands out addresses itself) and containers that restart unless stopped.
    pub fn without_subnets(sizes: &[usize]) -> Lab {
        Lab::build(sizes, false, false)
    }

    fn build(sizes: &[usize], subnets: bool, ipv6: bool) -> Lab {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        // Fixed width, so that snapshots can redact it without moving columns.
        let prefix = format!("rt{:07}{n:02}", std::process::id() % 10_000_000);
        let config = DockerConfig {
            host: None,
            label: format!("rampart.test.{prefix}.tenant"),
            quarantine_network: format!("{prefix}-quarantine"),
        };
        let docker = runtime.block_on(async {
            let docker = rampart::sources::docker::connect(&config).await.expect("the Docker engine must be running");
            ensure_image(&docker).await;
            docker
        });
        let mut lab = Lab { docker, runtime, prefix, config, tenants: Vec::new(), subnets, ipv6 };
        for (t, size) in sizes.iter().enumerate() {
            lab.add_tenant(t, *size, n);
        }
        lab
    }

    fn add_tenant(&mut self, t: usize, size: usize, n: u8) {
        let letter = (b'a' + t as u8) as char;
        let name = format!("{}{letter}", self.prefix);
        let network = format!("{}-{letter}-net", self.prefix);
        // Each lab and tenant gets its own /24; the pid keeps concurrent runs apart.
        // Three digits in both octets, so addresses have a fixed width on screen.
        let subnet = format!("10.{}.{}.0/24", 200 + (std::process::id() % 50), 100 + (n as usize * 8 + t) % 150);
        let docker = self.docker.clone();
        let label = self.config.label.clone();
        let prefix = self.prefix.clone();
        let subnet6 = format!("fd52:{:x}:{:x}::/64", std::process::id() % 0x10000, n as usize * 8 + t);
        let mut subnets = vec![IpamConfig { subnet: Some(subnet), ..Default::default() }];
        if self.ipv6 {
            subnets.push(IpamConfig { subnet: Some(subnet6), ..Default::default() });
        }
        let ipam = self.subnets.then(|| Ipam { config: Some(subnets), ..Default::default() });
        let enable_ipv6 = self.ipv6.then_some(true);
        let restart_policy = (!self.subnets)
            .then_some(RestartPolicy { name: Some(RestartPolicyNameEnum::UNLESS_STOPPED), maximum_retry_count: None });
        let containers = self.runtime.block_on(async {
            docker
                .create_network(NetworkCreateRequest {
                    name: network.clone(),
                    driver: Some("bridge".into()),
                    ipam,
                    enable_ipv6,
                    labels: Some(HashMap::from([("rampart.test".into(), prefix.clone())])),
                    ..Default::default()
                })
                .await
                .expect("creating a tenant network");
            let mut names = Vec::new();
            for i in 0..size {
                let cname =
                    format!("{prefix}-{letter}-{}", if i == 0 { "web".to_string() } else { format!("client{i}") });
                let cmd: Vec<String> = if i == 0 {
                    ["/bin/httpd", "-f", "-p", "80", "-h", "/www"].map(String::from).to_vec()
                } else {
                    ["/bin/sleep", "3600"].map(String::from).to_vec()
                };
                let body = ContainerCreateBody {
                    image: Some(IMAGE.into()),
                    cmd: Some(cmd),
                    labels: Some(HashMap::from([
                        (label.clone(), name.clone()),
                        ("rampart.test".into(), prefix.clone()),
                    ])),
                    host_config: Some(HostConfig {
                        network_mode: Some(network.clone()),
                        restart_policy: restart_policy.clone(),
                        ..Default::default()
                    }),
                    networking_config: Some(NetworkingConfig {
                        endpoints_config: Some(HashMap::from([(
                            network.clone(),
                            EndpointSettings {
                                aliases: Some(vec![if i == 0 { "web".into() } else { format!("client{i}") }]),
                                ..Default::default()
                            },
                        )])),
                    }),
                    ..Default::default()
                };
                let options = CreateContainerOptionsBuilder::default().name(&cname).build();
                docker.create_container(Some(options), body).await.expect("creating a container");
                docker
                    .start_container(&cname, None::<bollard::query_parameters::StartContainerOptions>)
                    .await
                    .expect("starting a container");
                names.push(cname);
            }
            names
        });
        self.tenants.push(Tenant { name, network, containers });
    }

    /// (network, address) of each network the container is on now, sorted.
    pub fn networks_of(&self, container: &str) -> Vec<(String, Option<String>)> {
        let c =
            self.runtime.block_on(self.docker.inspect_container(container, None::<InspectContainerOptions>)).unwrap();
        rampart::sources::docker::attachments(&c).into_iter().map(|a| (a.name, a.ip)).collect()
    }

    /// The address of `container` on `network` now, if it is attached there with one.
    pub fn address_on(&self, container: &str, network: &str) -> Option<String> {
        self.networks_of(container).into_iter().find(|(n, _)| n == network).and_then(|(_, ip)| ip)
    }

    /// The IPv6 address of `container` on `network` now, if it has one there.
    pub fn ipv6_on(&self, container: &str, network: &str) -> Option<String> {
        let c =
            self.runtime.block_on(self.docker.inspect_container(container, None::<InspectContainerOptions>)).unwrap();
        let endpoint = c.network_settings?.networks?.remove(network)?;
        endpoint.global_ipv6_address.filter(|a| !a.is_empty())
    }

    /// Attaches `container` to `network` as well (a tenant's container on another's network).
    pub fn attach(&self, container: &str, network: &str) {
        let request = NetworkConnectRequest { container: container.into(), endpoint_config: None };
        self.runtime.block_on(self.docker.connect_network(network, request)).expect("attaching a container");
    }

    /// Detaches `container` from `network`, as an operator would by hand.
    pub fn detach(&self, container: &str, network: &str) {
        let request = NetworkDisconnectRequest { container: container.into(), force: Some(true) };
        self.runtime.block_on(self.docker.disconnect_network(network, request)).expect("detaching a container");
    }

    /// Starts a container of no tenant on `network` (removed with the lab); returns its name.
    pub fn bystander(&self, name: &str, network: &str) -> String {
        let cname = format!("{}-{name}", self.prefix);
        let body = ContainerCreateBody {
            image: Some(IMAGE.into()),
            cmd: Some(vec!["/bin/sleep".into(), "3600".into()]),
            labels: Some(HashMap::from([("rampart.test".into(), self.prefix.clone())])),
            host_config: Some(HostConfig { network_mode: Some(network.into()), ..Default::default() }),
            ..Default::default()
        };
        self.runtime.block_on(async {
            let options = CreateContainerOptionsBuilder::default().name(&cname).build();
            self.docker.create_container(Some(options), body).await.expect("creating a bystander");
            self.docker
                .start_container(&cname, None::<bollard::query_parameters::StartContainerOptions>)
                .await
                .expect("starting a bystander");
        });
        cname
    }

    /// The container's restart policy name ("no", "unless-stopped", ...).
    pub fn restart_policy(&self, container: &str) -> String {
        let c =
            self.runtime.block_on(self.docker.inspect_container(container, None::<InspectContainerOptions>)).unwrap();
        c.host_config.and_then(|h| h.restart_policy).and_then(|p| p.name).map(|n| n.to_string()).unwrap_or_default()
    }

    pub fn is_paused(&self, container: &str) -> bool {
        let c =
            self.runtime.block_on(self.docker.inspect_container(container, None::<InspectContainerOptions>)).unwrap();
        c.state.and_then(|s| s.paused).unwrap_or(false)
    }

    /// Whether `from` gets the web page from `ip` over HTTP within two seconds.
    pub fn reaches(&self, from: &str, ip: &str) -> bool {
        let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80");
        self.run(from, &script).contains("hello from a tenant")
    }

    /// Runs `script` with busybox sh in `container` (as `docker exec` does: no network involved)
    /// and returns what it printed.
    pub fn run(&self, container: &str, script: &str) -> String {
        self.runtime.block_on(async {
            let exec = self
                .docker
                .create_exec(
                    container,
                    CreateExecOptions {
                        cmd: Some(vec!["/bin/sh", "-c", script]),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let mut text = String::new();
            if let StartExecResults::Attached { mut output, .. } = self.docker.start_exec(&exec.id, None).await.unwrap()
            {
                while let Some(Ok(chunk)) = output.next().await {
                    text.push_str(&chunk.to_string());
                }
            }
            text
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let docker = self.docker.clone();
        let prefix = self.prefix.clone();
        self.runtime.block_on(async move {
            let filters = HashMap::from([("label".to_string(), vec![format!("rampart.test={prefix}")])]);
            let list = docker
                .list_containers(Some(ListContainersOptionsBuilder::default().all(true).filters(&filters).build()))
                .await
                .unwrap_or_default();
            for c in list {
                if let Some(id) = c.id {
                    let _ = docker
                        .remove_container(&id, Some(RemoveContainerOptionsBuilder::default().force(true).build()))
                        .await;
                }
            }
            let nets =
                docker.list_networks(Some(ListNetworksOptionsBuilder::default().build())).await.unwrap_or_default();
            for n in nets {
                if n.name.as_deref().is_some_and(|name| name.starts_with(&format!("{prefix}-"))) {
                    let _ = docker.remove_network(n.name.as_deref().unwrap_or_default()).await;
                }
            }
        });
    }
}
