//! Tenants on the real Docker Engine: discovery, isolation that really cuts a tenant off, restore
//! that really brings it back, recovery after a crash half-way, an absent daemon, and the same by
//! keystroke in a real terminal. Images are built here from busybox-static; no registry.

use crate::support;
use crate::support::lab;
use crate::support::tmux;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use lab::Lab;
use rampart::app::msg::Msg;
use rampart::respond::{self, Backend, Outcome, Request};
use rampart::store::writer::{ChangeNotes, StoreWriter, Tables};
use rampart::store::{self, Access};

use crate::support::BIN;

fn perform(lab: &Lab, db: &Path, request: Request) -> Outcome {
    perform_with(lab, lab.config.clone(), db, request)
}

fn perform_with(lab: &Lab, docker: rampart::config::DockerConfig, db: &Path, request: Request) -> Outcome {
    let conn = store::open(db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let backend = Backend::Live(Arc::new(rampart::config::Config { docker, ..Default::default() }));
    let outcome = lab.runtime.block_on(respond::perform(&writer, &backend, &support::operator(), &request));
    drop(writer);
    thread.join().unwrap();
    outcome
}

fn query<T: rusqlite::types::FromSql>(db: &Path, sql: &str) -> T {
    store::open(db, Access::ReadOnly).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn ip(networks: &[(String, Option<String>)]) -> String {
    networks[0].1.clone().expect("an address")
}

#[test]
fn isolate_cuts_a_tenant_off_and_restore_brings_it_back() {
    let lab = Lab::new(&[2, 2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let (a, b) = (&lab.tenants[0], &lab.tenants[1]);
    let (a_web, a_client) = (&a.containers[0], &a.containers[1]);
    let b_client = &b.containers[1];
    let a_before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let b_before: Vec<_> = b.containers.iter().map(|c| lab.networks_of(c)).collect();
    let a_web_ip = ip(&a_before[0]);
    let b_web_ip = ip(&b_before[0]);
    assert!(lab.reaches(a_client, &a_web_ip), "tenant A's client reaches its web container");
    assert!(lab.reaches(b_client, &b_web_ip));

    let outcome =
        perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "shell in web".into(), pause: false });
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.message, format!("isolated {}: 2/2 containers", a.name));
    for c in &a.containers {
        assert_eq!(lab.networks_of(c), Vec::new(), "{c} is on no network at all");
    }
    assert!(!lab.reaches(a_client, &a_web_ip), "isolated: the sibling is out of reach");
    let b_after: Vec<_> = b.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert_eq!(b_after, b_before, "tenant B is untouched");
    assert!(lab.reaches(b_client, &b_web_ip));
    assert_eq!(query::<String>(&db, &format!("SELECT status FROM tenants WHERE name = '{}'", a.name)), "isolated");
    assert_eq!(
        query::<String>(&db, "SELECT reason || ' / ' || outcome FROM audit WHERE action = 'isolate'"),
        "shell in web / ok"
    );
    assert_eq!(query::<i64>(&db, "SELECT count(*) FROM isolation_journal WHERE step = 'isolate' AND done = 1"), 2);

    // Idempotent: isolating again changes nothing and succeeds.
    let again = perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "again".into(), pause: false });
    assert!(again.ok, "{again:?}");
    assert_eq!(lab.networks_of(a_web), Vec::new());

    let restored = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    let a_after: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert_eq!(a_after, a_before, "the same networks and the same addresses");
    assert!(lab.reaches(a_client, &a_web_ip), "reachable again");
    assert_eq!(query::<String>(&db, &format!("SELECT status FROM tenants WHERE name = '{}'", a.name)), "active");

    let nothing = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(!nothing.ok);
    assert!(nothing.message.contains("has no isolation to undo"), "{nothing:?}");
    assert_eq!(rampart::store::audit::verify(&store::open(&db, Access::ReadOnly).unwrap()).unwrap().first_break, None);
}

/// A service of the host's own, as sshd, a metrics agent or a Docker API on TCP would be: a TCP
/// and a UDP socket bound to `[::]`, which on Linux (IPV6_V6ONLY off, the default) take every
/// address of both families. TCP greets whoever connects; UDP notes what every datagram asked for.
struct HostService {
    tcp: u16,
    udp: u16,
    heard: Arc<std::sync::Mutex<BTreeSet<String>>>,
}

const GREETING: &str = "rampart-test-host-service";

impl HostService {
    fn start(lab: &Lab) -> HostService {
        let (tcp, udp) = lab.runtime.block_on(async {
            (
                tokio::net::TcpListener::bind("[::]:0").await.unwrap(),
                tokio::net::UdpSocket::bind("[::]:0").await.unwrap(),
            )
        });
        let service = HostService {
            tcp: tcp.local_addr().unwrap().port(),
            udp: udp.local_addr().unwrap().port(),
            heard: Arc::default(),
        };
        lab.runtime.spawn(async move {
            while let Ok((mut client, _)) = tcp.accept().await {
                let _ = tokio::io::AsyncWriteExt::write_all(&mut client, format!("{GREETING}\n").as_bytes()).await;
            }
        });
        let heard = service.heard.clone();
        lab.runtime.spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                // A TFTP read request: opcode 1, then the file name up to a NUL.
                let name = buf.get(2..n).and_then(|b| b.split(|&c| c == 0).next()).unwrap_or_default();
                heard.lock().unwrap().insert(String::from_utf8_lossy(name).into_owned());
                let _ = udp.send_to(b"\x00\x05\x00\x01no\x00", from).await;
            }
        });
        service
    }

    /// What `from` reaches of this service on each of `addresses`, as (address, protocol): a
    /// TCP connection that is greeted, a UDP datagram the service hears, an ICMP echo answered.
    /// Every probe runs at once inside the container, each for at most two seconds.
    fn reached_from(&self, lab: &Lab, from: &str, addresses: &BTreeSet<String>, round: &str) -> Reach {
        let addresses: Vec<&String> = addresses.iter().collect();
        let mut script = String::from("L=$(busybox ls /sys/class/net | busybox grep -m 1 eth)\n");
        for (i, addr) in addresses.iter().enumerate() {
            let (tcp, udp) = (self.tcp, self.udp);
            script.push_str(&format!(
                "(nc -w 2 {addr} {tcp} </dev/null 2>&1 | busybox grep -q {GREETING} && echo reached tcp {i}) &\n\
                 (busybox timeout 2 busybox tftp -g -r {round}-{i} -l /tmp/{round}-{i} {addr} {udp} >/dev/null 2>&1) &\n\
                 (busybox ping -c 1 -W 2 {addr} >/dev/null 2>&1 && echo reached icmp {i}) &\n"
            ));
        }
        script.push_str("wait\n");
        let output = lab.run(from, &script);
        let mut reach = Reach::new();
        for line in output.lines() {
            let mut words = line.split_whitespace();
            if let (Some("reached"), Some(proto), Some(i)) = (words.next(), words.next(), words.next()) {
                let proto = if proto == "tcp" { "tcp" } else { "icmp" };
                reach.insert(((*addresses[i.parse::<usize>().unwrap()]).clone(), proto));
            }
        }
        let heard = self.heard.lock().unwrap();
        for (i, addr) in addresses.iter().enumerate() {
            if heard.contains(&format!("{round}-{i}")) {
                reach.insert(((*addr).clone(), "udp"));
            }
        }
        reach
    }
}

type Reach = BTreeSet<(String, &'static str)>;

/// An address of the host, from `ip -j addr`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct HostAddress {
    interface: String,
    address: String,
    link_local: bool,
    v6: bool,
}

fn host_addresses() -> Vec<HostAddress> {
    let out = Command::new("ip").args(["-j", "addr", "show"]).output().expect("ip (iproute2)");
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found = Vec::new();
    for link in links.as_array().unwrap() {
        let interface = link["ifname"].as_str().unwrap_or_default().to_string();
        for info in link["addr_info"].as_array().into_iter().flatten() {
            let (Some(address), Some(scope)) = (info["local"].as_str(), info["scope"].as_str()) else { continue };
            if scope == "host" || interface == "lo" {
                continue;
            }
            found.push(HostAddress {
                interface: interface.clone(),
                address: address.to_string(),
                link_local: scope == "link",
                v6: info["family"] == "inet6",
            });
        }
    }
    found
}

/// The routers the host's default routes go through: the outside, as near as a test can reach it.
fn default_gateways() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for family in ["-4", "-6"] {
        let out = Command::new("ip").args([family, "-j", "route", "show", "default"]).output().expect("ip (iproute2)");
        let routes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        found.extend(routes.as_array().into_iter().flatten().filter_map(|r| r["gateway"].as_str().map(String::from)));
    }
    found
}

/// The Linux bridge behind a (bridge driver) network.
fn bridge_of(lab: &Lab, network: &str) -> String {
    let n = lab
        .runtime
        .block_on(lab.docker.inspect_network(network, None::<bollard::query_parameters::InspectNetworkOptions>))
        .unwrap();
    format!("br-{}", &n.id.unwrap()[..12])
}

/// The addresses a container on `bridge` (as its only network) is probed at: every address of
/// every host interface, and the link-local ones of its own bridge through its link there (`$L`,
/// set by the probe: the engine names it eth0 at first, eth1 once reconnected).
fn probe_targets(addresses: &[HostAddress], bridge: &str) -> BTreeSet<String> {
    addresses
        .iter()
        .filter_map(|a| match (a.link_local, a.interface == bridge) {
            (false, _) => Some(a.address.clone()),
            (true, true) => Some(format!("{}%$L", a.address)),
            (true, false) => None,
        })
        .collect()
}

/// The targets that stay put while the test runs (other tests' networks come and go): the
/// tenant's own bridge (its gateway) and the interfaces that are not Docker networks' bridges,
/// in the families the container has.
fn steady_targets(addresses: &[HostAddress], bridge: &str, v6: bool) -> BTreeSet<String> {
    let steady: Vec<HostAddress> = addresses
        .iter()
        .filter(|a| a.interface == bridge || !(a.interface.starts_with("br-") || a.interface.starts_with("veth")))
        .filter(|a| v6 || !a.v6)
        .cloned()
        .collect();
    probe_targets(&steady, bridge)
}

/// What the engine and the firewall hold for this lab: its networks, and the rules naming the
/// tenant's bridge.
fn leftovers(lab: &Lab, bridge: &str) -> (Vec<String>, Vec<String>) {
    let mut networks: Vec<String> = lab
        .runtime
        .block_on(lab.docker.list_networks(None::<bollard::query_parameters::ListNetworksOptions>))
        .unwrap()
        .into_iter()
        .filter_map(|n| n.name)
        .filter(|n| n.starts_with(&lab.prefix))
        .collect();
    networks.sort();
    let mut rules = Vec::new();
    for tool in ["iptables-save", "ip6tables-save"] {
        let out = Command::new(tool).output().unwrap_or_else(|e| panic!("{tool}: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        rules.extend(text.lines().filter(|l| l.contains(bridge)).map(|l| format!("{tool}: {l}")));
    }
    rules.sort();
    (networks, rules)
}

/// Waits until every address of `container` can be sent from: IPv6 duplicate address detection
/// has finished (a freshly attached link's link-local address is "tentative" for a second or so).
fn wait_until_addresses_settle(lab: &Lab, container: &str) {
    crate::support::wait_for(
        "the addresses to settle",
        || lab.run(container, "ip -6 addr"),
        |addresses| !addresses.contains("tentative"),
    );
}

/// Isolates the lab's first tenant and proves that its client reaches the host's service on no
/// address (TCP, UDP, ICMP; IPv6 too when `v6`) while isolated, having reached it before on
/// every steady address, and reaches exactly that again after restore.
fn isolation_leaves_no_path_to_the_host(lab: &Lab, v6: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let a = &lab.tenants[0];
    let (web, client) = (&a.containers[0], &a.containers[1]);
    let web_ip = lab.address_on(web, &a.network).unwrap();
    let service = HostService::start(lab);
    let bridge = bridge_of(lab, &a.network);
    let addresses = host_addresses();
    let mut steady = steady_targets(&addresses, &bridge, v6);
    let gateway: Vec<&HostAddress> = addresses.iter().filter(|h| h.interface == bridge && !h.link_local).collect();
    assert_eq!(gateway.iter().filter(|g| !g.v6).count(), 1, "the tenant network's IPv4 gateway: {addresses:?}");
    assert_eq!(gateway.iter().any(|g| g.v6), v6, "the tenant network's IPv6 gateway: {addresses:?}");
    assert!(steady.len() > gateway.len(), "the host has addresses beside the gateway: {addresses:?}");
    let every_way: Reach = steady.iter().flat_map(|t| ["icmp", "tcp", "udp"].map(|p| (t.clone(), p))).collect();
    // The outside: probed throughout (whether its router answers a ping at all is its own affair),
    // reached while isolated never, and after restore exactly as before.
    let outside = default_gateways();
    steady.extend(outside.iter().cloned());
    let targets_now = |bridge: &str| -> BTreeSet<String> {
        let mut t = probe_targets(&host_addresses(), bridge);
        t.extend(outside.iter().cloned());
        t
    };

    // The positive control: before isolation the client reaches the service everywhere.
    wait_until_addresses_settle(lab, client);
    let before = service.reached_from(lab, client, &targets_now(&bridge), "before");
    let missing: Vec<_> = every_way.difference(&before).collect();
    assert!(missing.is_empty(), "before isolation the client should reach the host there too: {missing:?}");
    assert!(lab.reaches(client, &web_ip));
    let left_before = leftovers(lab, &bridge);

    let outcome = perform(lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "host".into(), pause: false });
    assert!(outcome.ok, "{outcome:?}");
    // Every address the host has now (a network isolation made would be among them) and had before.
    let mut targets = targets_now(&bridge);
    targets.extend(probe_targets(&addresses, &bridge));
    let during = service.reached_from(lab, client, &targets, "during");
    assert!(during.is_empty(), "isolated, yet the client reaches the host: {during:?} (outcome {outcome:?})");
    let from_web = service.reached_from(lab, web, &targets, "during-web");
    assert!(from_web.is_empty(), "isolated, yet the web container reaches the host: {from_web:?}");
    assert!(!lab.reaches(client, &web_ip), "isolated: the sibling is out of reach");
    assert_eq!(leftovers(lab, &bridge), left_before, "isolation made no network and no rule");

    let restored = perform(lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    wait_until_addresses_settle(lab, client);
    let after = service.reached_from(lab, client, &targets_now(&bridge), "after");
    let steady_reach = |r: &Reach| -> Reach { r.iter().filter(|(t, _)| steady.contains(t)).cloned().collect() };
    assert_eq!(steady_reach(&after), steady_reach(&before), "after restore, the same reach as before");
    assert!(lab.reaches(client, &web_ip));
    assert_eq!(leftovers(lab, &bridge), left_before, "restore left no network and no rule behind");
}

#[test]
fn an_isolated_container_reaches_no_address_of_the_host() {
    // Disconnected (a network with a configured subnet), over IPv4 and IPv6.
    isolation_leaves_no_path_to_the_host(&Lab::dual_stack(&[2]), true);
}

#[test]
fn a_container_cut_at_the_link_reaches_no_address_of_the_host() {
    // Kept attached and cut at the link (compose-style: no configured subnet), IPv4.
    isolation_leaves_no_path_to_the_host(&Lab::without_subnets(&[2]), false);
}

#[test]
fn a_container_on_the_quarantine_network_of_earlier_versions_is_taken_off_it() {
    let lab = Lab::new(&[2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let a = &lab.tenants[0];
    let (web, client) = (&a.containers[0], &a.containers[1]);
    let before = lab.networks_of(client);
    // The internal network earlier versions created and attached isolated containers to.
    let quarantine = lab.config.quarantine_network.clone();
    let request = bollard::models::NetworkCreateRequest {
        name: quarantine.clone(),
        internal: Some(true),
        labels: Some(std::collections::HashMap::from([("rampart.test".into(), lab.prefix.clone())])),
        ..Default::default()
    };
    lab.runtime.block_on(lab.docker.create_network(request)).unwrap();
    lab.attach(client, &quarantine);

    let outcome = perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "old".into(), pause: false });
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(lab.networks_of(client), Vec::new(), "isolation took the client off quarantine too");
    assert!(line_of(&outcome, client).contains(&format!("left {quarantine}")), "{outcome:?}");
    assert!(!line_of(&outcome, web).contains("left"), "{outcome:?}");

    // An isolation an earlier version made: the container waits on the quarantine network.
    lab.attach(client, &quarantine);
    let restored = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    assert_eq!(lab.networks_of(client), before, "restored to its own network only, off quarantine");
}

#[test]
fn a_network_named_as_the_quarantine_but_not_internal_is_cut_and_restored_like_any_other() {
    let lab = Lab::new(&[2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let a = &lab.tenants[0];
    let config = rampart::config::DockerConfig { quarantine_network: a.network.clone(), ..lab.config.clone() };
    let before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let web_ip = lab.address_on(&a.containers[0], &a.network).unwrap();

    let isolate = Request::Isolate { tenant: a.name.clone(), reason: "misnamed".into(), pause: false };
    let outcome = perform_with(&lab, config.clone(), &db, isolate);
    assert!(outcome.ok, "{outcome:?}");
    for c in &a.containers {
        assert_eq!(lab.networks_of(c), Vec::new(), "{c} is on no network at all");
    }
    assert!(!lab.reaches(&a.containers[1], &web_ip));
    let restored = perform_with(&lab, config, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before, "journaled and restored");
    assert!(lab.reaches(&a.containers[1], &web_ip));
}

#[test]
fn a_container_on_the_host_network_cannot_be_isolated_and_says_so() {
    let lab = Lab::new(&[1]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let a = &lab.tenants[0];
    let on_host = format!("{}-a-onhost", lab.prefix);
    let body = bollard::models::ContainerCreateBody {
        image: Some(lab::IMAGE.into()),
        cmd: Some(vec!["/bin/sleep".into(), "3600".into()]),
        labels: Some(std::collections::HashMap::from([
            (lab.config.label.clone(), a.name.clone()),
            ("rampart.test".into(), lab.prefix.clone()),
        ])),
        host_config: Some(bollard::models::HostConfig { network_mode: Some("host".into()), ..Default::default() }),
        ..Default::default()
    };
    lab.runtime.block_on(async {
        let options = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&on_host).build();
        lab.docker.create_container(Some(options), body).await.unwrap();
        lab.docker.start_container(&on_host, None::<bollard::query_parameters::StartContainerOptions>).await.unwrap();
    });

    let outcome = perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "x".into(), pause: false });
    assert!(!outcome.ok, "{outcome:?}");
    let line = line_of(&outcome, &on_host);
    assert!(line.contains("cannot disconnect host"), "{line}");
    assert_eq!(lab.networks_of(&on_host), [("host".to_string(), None)], "it still has the host's network");
    assert_eq!(
        query::<String>(&db, &format!("SELECT status FROM tenants WHERE name = '{}'", a.name)),
        "partially isolated"
    );
}

/// The restore report's line for `container`.
fn line_of<'a>(outcome: &'a Outcome, container: &str) -> &'a str {
    outcome
        .details
        .iter()
        .find(|l| l.contains(&format!(" {container}  ")))
        .unwrap_or_else(|| panic!("no line for {container}: {outcome:?}"))
}

#[test]
fn restore_gives_every_container_its_own_address_on_a_network_without_a_configured_subnet() {
    // Compose-style: the engine's IPAM picks the subnet and hands out the lowest free address,
    // and refuses a requested address on such a network, so a disconnected container cannot be
    // given its address back. Names sort client1, client2, web; addresses go web, client1, client2.
    let lab = Lab::without_subnets(&[3, 2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let (a, b) = (&lab.tenants[0], &lab.tenants[1]);
    let (a_web, a_client) = (&a.containers[0], &a.containers[1]);
    let (b_web, b_client) = (&b.containers[0], &b.containers[1]);
    // Tenant B's web is on A's network too: a sibling on the shared network.
    lab.attach(b_web, &a.network);
    let a_before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let b_before: Vec<_> = b.containers.iter().map(|c| lab.networks_of(c)).collect();
    let a_web_ip = lab.address_on(a_web, &a.network).unwrap();
    let b_web_ip = lab.address_on(b_web, &b.network).unwrap();
    assert!(lab.reaches(a_client, &a_web_ip));
    assert!(lab.reaches(b_web, &a_web_ip), "the sibling on the shared network reaches A's web");

    let outcome = perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "worm".into(), pause: false });
    assert!(outcome.ok, "{outcome:?}");
    assert!(!lab.reaches(a_client, &a_web_ip), "isolated: the sibling is out of reach");
    assert!(!lab.reaches(b_web, &a_web_ip), "isolated: the other tenant on the shared network is cut off");
    assert!(!lab.reaches(a_web, &b_web_ip), "isolated: A reaches nothing of B");
    assert_eq!(b.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), b_before, "B is untouched");
    assert!(lab.reaches(b_client, &b_web_ip), "B still works");
    for c in &a.containers {
        assert_eq!(lab.restart_policy(c), "no", "{c} cannot come back by itself while isolated");
    }

    let restored = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    let a_after: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert_eq!(a_after, a_before, "every container has exactly its own address again");
    assert_eq!(b.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), b_before, "B is untouched");
    assert!(lab.reaches(a_client, &a_web_ip), "reachable again");
    assert!(lab.reaches(b_web, &a_web_ip), "reachable again over the shared network");
    for (c, nets) in a.containers.iter().zip(&a_before) {
        let line = line_of(&restored, c);
        let (net, ip) = (&nets[0].0, nets[0].1.as_deref().unwrap());
        assert!(line.contains(&format!("{net}: same address {ip}")), "{line}");
        assert!(!line.contains("new address"), "no new address is reported when none was given: {line}");
        assert_eq!(lab.restart_policy(c), "unless-stopped", "{c}'s restart policy is back");
    }
}

#[test]
fn restore_says_which_container_got_a_new_address() {
    let lab = Lab::without_subnets(&[2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let a = &lab.tenants[0];
    let (a_web, a_client) = (&a.containers[0], &a.containers[1]);
    let web_ip = lab.address_on(a_web, &a.network).unwrap();
    let client_ip = lab.address_on(a_client, &a.network).unwrap();
    assert!(perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "x".into(), pause: false }).ok);
    // While the tenant is isolated, someone takes the client off the network by hand and a new
    // container takes the address it had.
    lab.detach(a_client, &a.network);
    let newcomer = lab.bystander("newcomer", &a.network);
    assert_eq!(lab.address_on(&newcomer, &a.network).as_deref(), Some(client_ip.as_str()));

    let restored = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    let client_now = lab.address_on(a_client, &a.network).expect("the client is back on its network");
    assert_ne!(client_now, client_ip);
    let line = line_of(&restored, a_client);
    assert!(line.contains(&format!("{}: new address {client_ip} → {client_now}", a.network)), "{line}");
    let line = line_of(&restored, a_web);
    assert!(line.contains(&format!("{}: same address {web_ip}", a.network)), "{line}");
    assert!(!line.contains("new address"), "{line}");
}

#[test]
fn restore_gives_back_ipv6_addresses_too() {
    let lab = Lab::dual_stack(&[3]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("6.db");
    let a = &lab.tenants[0];
    let v4_before: Vec<_> = a.containers.iter().map(|c| lab.address_on(c, &a.network).unwrap()).collect();
    let v6_before: Vec<_> = a.containers.iter().map(|c| lab.ipv6_on(c, &a.network).expect("an IPv6 address")).collect();
    assert!(perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "x".into(), pause: false }).ok);
    // While the tenant is isolated, a newcomer asks for an IPv4 address of its own choosing and
    // is given the lowest free IPv6 address: the web container's.
    let newcomer = format!("{}-newcomer6", lab.prefix);
    let v4 = format!("{}.200", v4_before[0].rsplit_once('.').unwrap().0);
    let body = bollard::models::ContainerCreateBody {
        image: Some(lab::IMAGE.into()),
        cmd: Some(vec!["/bin/sleep".into(), "3600".into()]),
        labels: Some(std::collections::HashMap::from([("rampart.test".into(), lab.prefix.clone())])),
        host_config: Some(bollard::models::HostConfig { network_mode: Some(a.network.clone()), ..Default::default() }),
        networking_config: Some(bollard::models::NetworkingConfig {
            endpoints_config: Some(std::collections::HashMap::from([(
                a.network.clone(),
                bollard::models::EndpointSettings {
                    ipam_config: Some(bollard::models::EndpointIpamConfig {
                        ipv4_address: Some(v4),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    };
    lab.runtime.block_on(async {
        let options = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&newcomer).build();
        lab.docker.create_container(Some(options), body).await.unwrap();
        lab.docker.start_container(&newcomer, None::<bollard::query_parameters::StartContainerOptions>).await.unwrap();
    });
    assert_eq!(lab.ipv6_on(&newcomer, &a.network).as_deref(), Some(v6_before[0].as_str()));

    let restored = perform(&lab, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    let v4_after: Vec<_> = a.containers.iter().map(|c| lab.address_on(c, &a.network).unwrap()).collect();
    let v6_after: Vec<_> = a.containers.iter().map(|c| lab.ipv6_on(c, &a.network).unwrap()).collect();
    assert_eq!(v4_after, v4_before, "every IPv4 address was free to be given back: {restored:?}");
    assert_eq!(v6_after[1..], v6_before[1..], "the clients' IPv6 addresses were free to be given back");
    assert!(!v6_before.contains(&v6_after[0]), "web got a free IPv6 address, not another's: {v6_after:?}");
    let line = line_of(&restored, &a.containers[0]);
    assert!(line.contains(&format!("new IPv6 address {} → {}", v6_before[0], v6_after[0])), "{line}");
    for (c, v6) in a.containers.iter().zip(&v6_before).skip(1) {
        let line = line_of(&restored, c);
        assert!(line.contains(&format!("same IPv6 address {v6}")), "{line}");
    }
}

/// A TCP port on loopback in front of the engine's socket: the engine as rampart sees a remote one.
fn engine_over_tcp(lab: &Lab) -> String {
    let listener = lab.runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    lab.runtime.spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut engine) = tokio::net::UnixStream::connect("/var/run/docker.sock").await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                }
            });
        }
    });
    format!("tcp://127.0.0.1:{port}")
}

#[test]
fn an_engine_elsewhere_is_isolated_by_disconnecting_and_restored_in_address_order() {
    // Reached over TCP, the engine may be on another host: its links cannot be cut here, so the
    // networks are disconnected, and restore reconnects in the order of the old addresses (the
    // engine hands out the lowest free one). Names sort client1, client2, web; addresses go web,
    // client1, client2.
    let lab = Lab::without_subnets(&[3]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let config = rampart::config::DockerConfig { host: Some(engine_over_tcp(&lab)), ..lab.config.clone() };
    let a = &lab.tenants[0];
    let before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let web_ip = lab.address_on(&a.containers[0], &a.network).unwrap();

    let isolate = Request::Isolate { tenant: a.name.clone(), reason: "x".into(), pause: false };
    let outcome = perform_with(&lab, config.clone(), &db, isolate);
    assert!(outcome.ok, "{outcome:?}");
    for c in &a.containers {
        assert_eq!(lab.networks_of(c), Vec::new(), "{c} is on no network at all");
        let line = line_of(&outcome, c);
        assert!(line.contains("the engine may not give") && line.contains("is not on this host"), "{line}");
    }
    assert!(!lab.reaches(&a.containers[1], &web_ip));

    let restored = perform_with(&lab, config, &db, Request::Restore { tenant: a.name.clone() });
    assert!(restored.ok, "{restored:?}");
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before);
    assert!(lab.reaches(&a.containers[1], &web_ip));
    for (c, nets) in a.containers.iter().zip(&before) {
        let line = line_of(&restored, c);
        assert!(line.contains(&format!("{}: same address {}", nets[0].0, nets[0].1.as_deref().unwrap())), "{line}");
    }
}

#[test]
fn pause_is_journaled_and_undone() {
    let lab = Lab::new(&[2]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let a = &lab.tenants[0];
    let outcome = perform(&lab, &db, Request::Isolate { tenant: a.name.clone(), reason: "miner".into(), pause: true });
    assert!(outcome.ok, "{outcome:?}");
    assert!(a.containers.iter().all(|c| lab.is_paused(c)));
    assert!(perform(&lab, &db, Request::Restore { tenant: a.name.clone() }).ok);
    assert!(a.containers.iter().all(|c| !lab.is_paused(c)));
}

fn config_file(lab: &Lab, dir: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[docker]\nlabel = \"{}\"\nquarantine_network = \"{}\"\n",
        lab.config.label, lab.config.quarantine_network
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn rampart(db: &Path, config: &Path, args: &[&str], fault: Option<&str>) -> std::process::Output {
    let mut cmd = crate::support::rampart();
    cmd.args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap()]).args(args);
    if let Some(point) = fault {
        cmd.env(rampart::fault::ENV, point);
    }
    cmd.output().unwrap()
}

fn tenant_status(db: &Path, config: &Path, tenant: &str) -> String {
    let out = rampart(db, config, &["tenants", "list", "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == tenant)
        .map(|t| t["status"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn a_crash_half_way_is_finished_or_undone_by_the_next_run() {
    let lab = Lab::new(&[3]);
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("c.db"), config_file(&lab, dir.path()));
    let a = &lab.tenants[0];
    let before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();

    // Killed right after the first network was disconnected.
    let crashed =
        rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "x"], Some("isolate-after-disconnect"));
    assert!(!crashed.status.success());
    let half: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert!(half.iter().any(Vec::is_empty), "one container was left on no network at all: {half:?}");
    assert_eq!(tenant_status(&db, &config, &a.name), "partially isolated");

    // Undo: every container gets back exactly what the journal saw before the crash.
    let undo = rampart(&db, &config, &["tenants", "restore", &a.name], None);
    assert_eq!(
        undo.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&undo.stdout),
        String::from_utf8_lossy(&undo.stderr)
    );
    let after: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    assert_eq!(after, before);
    assert_eq!(tenant_status(&db, &config, &a.name), "active");

    // Crash again, and this time finish the isolation instead.
    let crashed =
        rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "x"], Some("isolate-after-disconnect"));
    assert!(!crashed.status.success());
    let finish = rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "finish it"], None);
    assert_eq!(finish.status.code(), Some(0), "{}", String::from_utf8_lossy(&finish.stdout));
    for c in &a.containers {
        assert_eq!(lab.networks_of(c), Vec::new(), "{c} is on no network at all");
    }
    // And the restore after that still knows the original networks.
    assert_eq!(rampart(&db, &config, &["tenants", "restore", &a.name], None).status.code(), Some(0));
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before);
}

#[test]
fn a_crash_after_cutting_a_link_is_finished_or_undone_with_every_address_kept() {
    let lab = Lab::without_subnets(&[3]);
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("k.db"), config_file(&lab, dir.path()));
    let a = &lab.tenants[0];
    let (web, client1, client2) = (&a.containers[0], &a.containers[1], &a.containers[2]);
    let before: Vec<_> = a.containers.iter().map(|c| lab.networks_of(c)).collect();
    let web_ip = lab.address_on(web, &a.network).unwrap();

    // Killed right after the first container's link was cut (client1 comes first by name).
    let crashed = rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "x"], Some("isolate-after-cut"));
    assert!(!crashed.status.success());
    assert!(!lab.reaches(client1, &web_ip), "client1 was cut before the crash");
    assert!(lab.reaches(client2, &web_ip), "the crash came before the others");
    assert_eq!(tenant_status(&db, &config, &a.name), "partially isolated");

    let undo = rampart(&db, &config, &["tenants", "restore", &a.name], None);
    assert_eq!(undo.status.code(), Some(0), "{}", String::from_utf8_lossy(&undo.stdout));
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before);
    assert!(lab.reaches(client1, &web_ip), "client1's link is up again");
    assert_eq!(tenant_status(&db, &config, &a.name), "active");

    // Crash again, and this time finish the isolation instead.
    let crashed = rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "x"], Some("isolate-after-cut"));
    assert!(!crashed.status.success());
    let finish = rampart(&db, &config, &["tenants", "isolate", &a.name, "--reason", "finish it"], None);
    assert_eq!(finish.status.code(), Some(0), "{}", String::from_utf8_lossy(&finish.stdout));
    assert!(!lab.reaches(client2, &web_ip), "every link is cut now");
    assert_eq!(tenant_status(&db, &config, &a.name), "isolated");
    assert_eq!(rampart(&db, &config, &["tenants", "restore", &a.name], None).status.code(), Some(0));
    assert_eq!(a.containers.iter().map(|c| lab.networks_of(c)).collect::<Vec<_>>(), before);
    assert!(lab.reaches(client2, &web_ip));
}

#[test]
fn headless_commands_tell_outcomes_apart() {
    let lab = Lab::new(&[1]);
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("h.db"), config_file(&lab, dir.path()));
    let unknown = rampart(&db, &config, &["tenants", "isolate", "no-such-tenant", "--reason", "x"], None);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nothing to isolate"));
    let dead = crate::support::rampart()
        .args([
            "--db",
            db.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "tenants",
            "isolate",
            &lab.tenants[0].name,
            "--reason",
            "x",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(dead.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&dead.stderr)
        .contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"));
    assert_eq!(query::<i64>(&db, "SELECT count(*) FROM audit WHERE outcome = 'failed'"), 2, "refusals are audited too");
    let list = rampart(&db, &config, &["tenants", "list"], None);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains(&lab.tenants[0].name) && text.contains("active") && text.contains("1/1"), "{text}");
}

#[test]
fn an_absent_daemon_is_a_pane_state_not_a_crash() {
    let mut h = support::Harness::empty(120, 30);
    let config =
        rampart::config::DockerConfig { host: Some("unix:///nonexistent/docker.sock".into()), ..Default::default() };
    // The source reports, backs off and retries; its first report is enough.
    let unreachable = |c: &rusqlite::Connection| support::status_says(c, "docker", "cannot reach the Docker engine");
    h.run_source_until(|writer| rampart::sources::docker::run(writer, config), unreachable);
    let screen = h.screen();
    assert!(screen.contains("docker: cannot reach the Docker engine at"), "{screen}");
    assert!(screen.contains("unix:///nonexistent/docker.sock"), "{screen}");
    assert!(screen.contains("✖ docker"), "header shows the source down:\n{screen}");
    h.press("3");
    assert!(h.screen().contains("┏ 3 Access log"), "the rest of the console works");
}

#[test]
fn tenants_pane_and_detail_from_the_real_engine() {
    let lab = Lab::new(&[2, 1]);
    let mut h = support::Harness::empty(160, 36);
    let rows = lab.runtime.block_on(rampart::sources::docker::snapshot(&lab.docker, &lab.config)).unwrap();
    assert_eq!(rows.len(), 3);
    rampart::store::tenants::sync(&h.fx.writer, &rows, support::NOW).unwrap();
    h.send(Msg::StoreChanged(Tables::ALL));
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&lab.prefix, "LAB--------");
    settings.add_filter(r"10\.\d{3}\.\d{3}\.", "10.XXX.YYY.");
    settings.bind(|| {
        insta::assert_snapshot!("docker_tenants_pane", h.screen());
        h.press("enter");
        insta::assert_snapshot!("docker_tenant_detail", h.screen());
    });
}

#[test]
fn isolate_and_restore_by_keystroke_in_a_real_terminal() {
    let lab = Lab::new(&[2]);
    let a = &lab.tenants[0];
    let t = tmux::Tmux::start("docker");
    let config = config_file(&lab, t.dir.path());
    let db = t.dir.path().join("k.db");
    t.type_text(&format!("{BIN} --db {} --config {}; echo EXIT=$?", db.display(), config.display()));
    t.key("Enter");
    t.wait_for(&a.name);
    t.key("i");
    t.wait_for("Isolate tenant");
    t.type_text("keystroke test");
    t.key("Enter");
    t.wait_for(&format!("isolated {}: 2/2 containers", a.name));
    let screen = t.wait_for("ISOLATED");
    for c in &a.containers {
        assert!(
            screen.contains(&format!("ok     {c}  1 of 1 networks disconnected")),
            "per-container report:\n{screen}"
        );
    }
    t.key("Escape");
    // The report closes before the next key (sent at once, it would read as Alt+R).
    let report_line = format!("ok     {}  ", a.containers[0]);
    t.wait_until_gone(&report_line);
    for c in &a.containers {
        assert_eq!(lab.networks_of(c), Vec::new(), "{c} is on no network at all");
    }
    t.key("R");
    t.wait_for("Restore tenant");
    t.key("y");
    t.wait_for(&format!("restored {}: 2/2 containers", a.name));
    t.key("Escape");
    t.wait_until_gone(&report_line);
    assert_eq!(lab.networks_of(&a.containers[0])[0].0, a.network);
    t.key("q");
    t.wait_for("EXIT=0");
}

#[test]
fn a_network_shared_across_tenants_is_flagged_as_a_lateral_path() {
    let lab = Lab::new(&[1, 1]);
    let (a, b) = (&lab.tenants[0], &lab.tenants[1]);
    let request = bollard::models::NetworkConnectRequest { container: b.containers[0].clone(), endpoint_config: None };
    lab.runtime.block_on(lab.docker.connect_network(&a.network, request)).unwrap();
    let mut h = support::Harness::empty(160, 36);
    let rows = lab.runtime.block_on(rampart::sources::docker::snapshot(&lab.docker, &lab.config)).unwrap();
    rampart::store::tenants::sync(&h.fx.writer, &rows, support::NOW).unwrap();
    h.send(Msg::StoreChanged(Tables::ALL));
    let tenants: Vec<_> = h
        .state
        .pane(rampart::pane::Pane::Tenants)
        .rows
        .iter()
        .filter_map(|r| if let rampart::store::window::Row::Tenant(t) = r { Some(t.clone()) } else { None })
        .collect();
    assert_eq!(tenants.len(), 2);
    for t in &tenants {
        assert_eq!(t.shared_networks, a.network, "{} shares {}", t.name, a.network);
    }
    assert!(h.screen().contains("lateral"));
    h.press("enter");
    assert!(h.screen().contains(&format!("network {} is shared with another tenant's containers", a.network)));
}

/// A Unix-socket proxy in front of the real engine, that can be stopped and started again, so the
/// daemon "goes away" and "comes back" without touching the machine's dockerd.
pub(crate) struct EngineProxy {
    path: PathBuf,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EngineProxy {
    pub(crate) fn start(path: &Path) -> EngineProxy {
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path).unwrap();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut engine) = tokio::net::UnixStream::connect("/var/run/docker.sock").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                });
            }
        });
        EngineProxy { path: path.to_owned(), task: Some(task) }
    }

    /// Stops listening and cuts every open connection (the events stream among them).
    pub(crate) async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn the_source_says_when_the_daemon_goes_and_resynchronises_when_it_returns() {
    let lab = Lab::new(&[1]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    let sock = dir.path().join("engine.sock");
    let config =
        rampart::config::DockerConfig { host: Some(format!("unix://{}", sock.display())), ..lab.config.clone() };
    let (writer, thread) =
        StoreWriter::spawn(store::open(&db, Access::ReadWrite).unwrap(), Arc::new(ChangeNotes::default()));
    let health = |db: &Path| -> Option<String> {
        store::open(db, Access::ReadOnly)
            .ok()?
            .query_row("SELECT state FROM source_status WHERE source = 'docker'", [], |r| r.get(0))
            .ok()
    };
    let containers = |db: &Path| -> i64 { query(db, "SELECT count(*) FROM containers") };
    async fn until(what: &str, mut check: impl FnMut() -> bool) {
        let start = std::time::Instant::now();
        while !check() {
            assert!(start.elapsed() < std::time::Duration::from_secs(60), "never: {what}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    lab.runtime.block_on(async {
        let mut proxy = EngineProxy::start(&sock);
        let source = tokio::spawn(rampart::sources::docker::run(writer.clone(), config));
        until("first sync", || health(&db).as_deref() == Some("ok") && containers(&db) == 1).await;

        proxy.stop().await;
        until("the pane learns the engine is gone", || health(&db).as_deref() == Some("down")).await;
        // While it is gone, a container appears; the store cannot know yet.
        let extra = format!("{}-late", lab.prefix);
        let body = bollard::models::ContainerCreateBody {
            image: Some(lab::IMAGE.into()),
            cmd: Some(vec!["/bin/sleep".into(), "3600".into()]),
            labels: Some(std::collections::HashMap::from([
                (lab.config.label.clone(), lab.tenants[0].name.clone()),
                ("rampart.test".into(), lab.prefix.clone()),
            ])),
            ..Default::default()
        };
        let options = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&extra).build();
        lab.docker.create_container(Some(options), body).await.unwrap();
        assert_eq!(containers(&db), 1);

        let _proxy = EngineProxy::start(&sock);
        until("reconnected and resynchronised", || health(&db).as_deref() == Some("ok") && containers(&db) == 2).await;
        source.abort();
        let _ = source.await;
    });
    drop(writer);
    thread.join().unwrap();
}
