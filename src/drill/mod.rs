//! Fire drills (`rampart drill TENANT`): a throw-away attacker container on the tenant's network
//! attacks its web container, and the store is watched for each stage (seen, alerted, banned,
//! contained, drift found) with its latency; what it left is cleaned up however it ends.

pub mod attacker;
pub mod checklist;
pub mod image;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

use self::checklist::{Check, Report, Scenario, Stage};
use crate::config::Config;
use crate::respond::{self, Backend, Operator, Request};
use crate::store::writer::{StoreWriter, Tables};
use crate::store::{self, drills, now_ms, Access};

/// What to drill.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tenant: String,
    pub scenarios: Vec<Scenario>,
    /// Say what would be done, start nothing.
    pub dry_run: bool,
    /// How long each stage is waited for.
    pub wait: Duration,
}

/// What a drill left that the clean-up undoes (shared, so that an interrupted drill is cleaned up
/// too).
#[derive(Debug, Default)]
pub struct Leftovers {
    pub drill: i64,
    pub attackers: Vec<String>,
    /// (ip, jail) banned during the drill.
    pub bans: Vec<(String, String)>,
    /// The tenant, if it became isolated during the drill.
    pub isolated: Option<String>,
    pub files: Vec<PathBuf>,
}

/// How often the store is looked at.
const POLL: Duration = Duration::from_millis(100);

/// The drill as the actor of its audit rows and its alerts' acknowledgement.
fn operator(id: i64) -> Operator {
    respond::rules::rampart_as(&format!("drill {id}"))
}

/// A tenant's container as the drill sees it.
struct Found {
    name: String,
    network: String,
    ip: String,
    followed: bool,
}

/// The tenant's web container: the one followed as an access log (label), else one named web,
/// else the first; `Err` says what is missing.
async fn web_of(docker: &Docker, config: &Config, tenant: &str) -> Result<Found, String> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{}={tenant}", config.docker.label)])]);
    let options = ListContainersOptionsBuilder::default().filters(&filters).build();
    let list = docker.list_containers(Some(options)).await.map_err(|e| format!("cannot list containers: {e}"))?;
    let mut found: Vec<Found> = Vec::new();
    for c in list {
        let name = c.names.and_then(|n| n.first().cloned()).unwrap_or_default().trim_start_matches('/').to_string();
        let followed = c.labels.as_ref().is_some_and(|l| l.contains_key(&config.engine_logs.label));
        let Some(id) = c.id else { continue };
        let inspect = docker.inspect_container(&id, None).await.map_err(|e| format!("cannot inspect {name}: {e}"))?;
        let Some(net) = crate::sources::docker::attachments(&inspect).into_iter().find(|a| a.ip.is_some()) else {
            continue;
        };
        found.push(Found { name, network: net.name, ip: net.ip.unwrap_or_default(), followed });
    }
    found.sort_by_key(|f| (!f.followed, !f.name.contains("web"), f.name.clone()));
    found.into_iter().next().ok_or_else(|| {
        format!(
            "{tenant} has no running container on a network (none carries the label {}={tenant}, or none has an \
             address)",
            config.docker.label
        )
    })
}

/// Another tenant's network (for cross-tenant): (tenant, network).
async fn other_network(docker: &Docker, config: &Config, tenant: &str) -> Option<(String, String)> {
    let filters = HashMap::from([("label".to_string(), vec![config.docker.label.clone()])]);
    let list = docker.list_containers(Some(ListContainersOptionsBuilder::default().filters(&filters).build())).await;
    for c in list.ok()? {
        let Some(other) = c.labels.as_ref().and_then(|l| l.get(&config.docker.label)).cloned() else { continue };
        if other == tenant || c.labels.as_ref().is_some_and(|l| l.contains_key(attacker::LABEL)) {
            continue;
        }
        let net = c.network_settings.and_then(|n| n.networks).and_then(|n| n.into_keys().next());
        if let Some(net) = net {
            return Some((other, net));
        }
    }
    None
}

/// Watches the store through its own read-only connection.
struct Watch {
    conn: rusqlite::Connection,
    tenant: String,
    after_access: i64,
    after_alert: i64,
    start_ms: i64,
    started: Instant,
    /// Whether the tenant was isolated before the drill (then the drill never restores it).
    was_isolated: bool,
}

impl Watch {
    fn open(db: &Path, tenant: &str) -> Result<Watch, String> {
        let conn = store::open(db, Access::ReadOnly).map_err(|e| format!("cannot read the store: {e}"))?;
        let after_access = drills::last_access(&conn).unwrap_or(0);
        let after_alert = drills::last_alert(&conn).unwrap_or(0);
        let was_isolated = crate::store::tenants::is_isolated(&conn, tenant).unwrap_or(false);
        Ok(Watch {
            conn,
            tenant: tenant.into(),
            after_access,
            after_alert,
            start_ms: now_ms(),
            started: Instant::now(),
            was_isolated,
        })
    }

    fn elapsed(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }
}

/// Sends the scenario's requests from the attacker to the web container at `ip` (with nc, whose
/// `-w` bounds each: busybox 1.35's wget crashes on `-T`).
fn attack_script(scenario: Scenario, ip: &str) -> String {
    let send = format!(
        "req() {{ printf '%s %s HTTP/1.0\\r\\nHost: %s\\r\\nUser-Agent: %s\\r\\nContent-Type: \
         application/x-www-form-urlencoded\\r\\nContent-Length: %s\\r\\n\\r\\n%s' \"$1\" \"$2\" {ip} \"$3\" \
         ${{#4}} \"$4\" | nc -w 2 {ip} 80 >/dev/null 2>&1; }}; "
    );
    let body = match scenario {
        Scenario::CrossTenant => "for p in / /admin /api/internal /metrics; do req GET $p rampart-drill ''; done; \
             echo done"
            .to_string(),
        Scenario::BruteForce => "i=0; while [ $i -lt 20 ]; do \
             req POST /login rampart-drill \"user=drill&password=wrong-$i\"; i=$((i+1)); done; echo done"
            .to_string(),
        Scenario::Web => {
            let paths = [
                "/.env",
                "/wp-login.php",
                "/.git/config",
                "/index.php/..%2f..%2fetc%2fpasswd",
                "/search/%27%20OR%201=1--",
            ];
            let mut s = String::new();
            for p in paths {
                s.push_str(&format!("req GET '{p}' 'sqlmap/1.7' ''; "));
            }
            s.push_str("echo done");
            s
        }
        Scenario::Tamper => String::new(),
    };
    format!("{send}{body}")
}

/// One network scenario: what attacks from where (an attacker's name and address), and whom.
struct Attack<'a> {
    scenario: Scenario,
    from: &'a str,
    from_ip: &'a str,
    web: &'a Found,
}

/// Runs one network scenario and checks seen, alerted, banned, contained.
async fn network_scenario(
    docker: &Docker,
    config: &Config,
    plan: &Plan,
    left: &Arc<Mutex<Leftovers>>,
    watch: &mut Watch,
    attack: Attack<'_>,
) -> Vec<Check> {
    let Attack { scenario, from, from_ip, web } = attack;
    let url = web.ip.clone();
    watch.after_access = drills::last_access(&watch.conn).unwrap_or(watch.after_access);
    watch.after_alert = drills::last_alert(&watch.conn).unwrap_or(watch.after_alert);
    watch.start_ms = now_ms();
    watch.started = Instant::now();
    if let Err(e) = attacker::run(docker, from, &attack_script(scenario, &web.ip)).await {
        return vec![Check::failed(scenario, Stage::Seen, e)];
    }
    let (mut seen, mut alerted, mut banned, mut isolated) = (None, None, None, None);
    while watch.started.elapsed() < plan.wait
        && (seen.is_none() || alerted.is_none() || (banned.is_none() && isolated.is_none()))
    {
        if isolated.is_none()
            && !watch.was_isolated
            && crate::store::tenants::is_isolated(&watch.conn, &watch.tenant).unwrap_or(false)
        {
            isolated = Some(watch.elapsed());
        }
        if seen.is_none() && drills::seen(&watch.conn, &watch.tenant, from_ip, watch.after_access).unwrap_or(0) > 0 {
            seen = Some(watch.elapsed());
        }
        if alerted.is_none() {
            if let Ok(Some((id, rule))) = drills::alert(&watch.conn, from_ip, watch.after_alert) {
                alerted = Some((watch.elapsed(), id, rule));
            }
        }
        if banned.is_none() {
            if let Ok(Some((jail, outcome))) = drills::ban(&watch.conn, from_ip, watch.start_ms) {
                if outcome == "banned" {
                    left.lock().unwrap_or_else(|e| e.into_inner()).bans.push((from_ip.to_string(), jail.clone()));
                }
                banned = Some((watch.elapsed(), jail, outcome));
            }
        }
        tokio::time::sleep(POLL).await;
    }
    let wait = plan.wait.as_secs();
    let mut checks = Vec::new();
    let tenant = &plan.tenant;
    checks.push(match seen {
        Some(ms) => Check::passed(scenario, Stage::Seen, ms, format!("access events from {from_ip} on {}", web.name)),
        None if !web.followed => Check::failed(
            scenario,
            Stage::Seen,
            format!(
                "{tenant}'s web container is not followed: add the label {}=combined (or json) to {}",
                config.engine_logs.label, web.name
            ),
        ),
        None => Check::failed(
            scenario,
            Stage::Seen,
            format!(
                "no access event from {from_ip} reached the store within {wait} s: is the collector running \
                 (rampart collect) with [engine_logs] enabled, and does {} log each request to its output?",
                web.name
            ),
        ),
    });
    checks.push(match &alerted {
        Some((ms, id, rule)) => Check::passed(scenario, Stage::Alerted, *ms, format!("alert {id} ({rule})")),
        None => Check::failed(
            scenario,
            Stage::Alerted,
            if seen.is_some() {
                format!("no alert from {from_ip} within {wait} s: is the rule enabled in [detect]?")
            } else {
                "no alert: nothing was seen to judge".to_string()
            },
        ),
    });
    let rule = alerted.as_ref().map(|(_, id, rule)| {
        respond::rules::matching(
            &config.respond,
            &respond::rules::Seen {
                id: *id,
                priority: crate::store::alerts::Priority::Critical,
                rule: rule.clone(),
                src_ip: Some(from_ip.into()),
                tenant: Some(plan.tenant.clone()),
            },
        )
        .is_some()
    });
    checks.push(match &banned {
        Some((ms, jail, outcome)) if outcome == "banned" => {
            Check::passed(scenario, Stage::Banned, *ms, format!("{from_ip} banned in {jail}, no key pressed"))
        }
        Some((_, jail, outcome)) => Check::failed(scenario, Stage::Banned, format!("not banned in {jail}: {outcome}")),
        None if isolated.is_some() => Check::passed(
            scenario,
            Stage::Banned,
            isolated.unwrap_or_default(),
            format!("no ban needed: {tenant} was isolated by a rule instead"),
        ),
        None if rule == Some(false) => Check::failed(
            scenario,
            Stage::Banned,
            "no [[respond]] rule acts on this alert: add one (rule = \"…\", jail = \"…\") to ban by itself",
        ),
        None => Check::failed(scenario, Stage::Banned, format!("no ban of {from_ip} within {wait} s")),
    });
    checks.push(contained(docker, config, plan, left, watch, scenario, from, &url, banned.is_some()).await);
    checks
}

/// Whether the attacker's traffic stops once it is banned or the tenant isolated.
#[allow(clippy::too_many_arguments)]
async fn contained(
    docker: &Docker,
    config: &Config,
    plan: &Plan,
    left: &Arc<Mutex<Leftovers>>,
    watch: &mut Watch,
    scenario: Scenario,
    from: &str,
    url: &str,
    banned: bool,
) -> Check {
    let isolated = crate::store::tenants::is_isolated(&watch.conn, &plan.tenant).unwrap_or(false);
    if isolated && !watch.was_isolated {
        left.lock().unwrap_or_else(|e| e.into_inner()).isolated = Some(plan.tenant.clone());
    }
    if !banned && !isolated {
        return Check::failed(scenario, Stage::Contained, "neither banned nor isolated, so nothing stops the attacker");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        // Timed from when the probe that failed was sent (it waits up to 2 s for an answer).
        let sent = watch.elapsed();
        if !attacker::reaches(docker, from, url).await {
            return Check::passed(scenario, Stage::Contained, sent, "the attacker no longer reaches the web container");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let _ = config;
    Check::failed(
        scenario,
        Stage::Contained,
        if isolated {
            "the attacker still reaches the web container although the tenant is isolated".to_string()
        } else {
            "the attacker still reaches the web container 5 s after the ban: the jail's action filters the host's \
             own traffic, which traffic between containers on one network does not cross — use a banaction on \
             the DOCKER-USER chain, or isolate the tenant"
                .to_string()
        },
    )
}

/// Tamper: a file added under the tenant's integrity target, then verified.
async fn tamper(
    writer: &StoreWriter,
    config: &Arc<Config>,
    left: &Arc<Mutex<Leftovers>>,
    watch: &mut Watch,
    id: i64,
) -> Check {
    let s = Scenario::Tamper;
    let Some(target) = config.integrity.iter().find(|t| t.tenant.as_deref() == Some(watch.tenant.as_str())) else {
        return Check::failed(
            s,
            Stage::DriftFound,
            format!(
                "{} has no [[integrity]] target (tenant = \"{}\"): nothing to tamper with",
                watch.tenant, watch.tenant
            ),
        );
    };
    let file = target.root.join(format!(".rampart-drill-{id}"));
    let started = Instant::now();
    if let Err(e) = std::fs::write(&file, format!("rampart drill {id}\n")) {
        return Check::failed(s, Stage::DriftFound, format!("cannot write {}: {e}", file.display()));
    }
    left.lock().unwrap_or_else(|e| e.into_inner()).files.push(file.clone());
    let after = drills::last_run(&watch.conn).unwrap_or(0);
    let request = Request::Verify { target: target.name.clone() };
    let outcome = respond::perform(writer, &Backend::Live(config.clone()), &operator(id), &request).await;
    // The writer answers before its transaction commits: the run is looked for until it shows.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut found = drills::drift(&watch.conn, &target.name, after);
    while matches!(found, Ok(None)) && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        found = drills::drift(&watch.conn, &target.name, after);
    }
    match found {
        Ok(Some(n)) => Check::passed(
            s,
            Stage::DriftFound,
            started.elapsed().as_millis() as i64,
            format!("{n} entries differ in {} ({} added, its folder changed)", target.name, file.display()),
        ),
        _ => Check::failed(
            s,
            Stage::DriftFound,
            format!("verifying {} found no drift: {}", target.name, outcome.message),
        ),
    }
}

/// Runs the drill, audited as started by `by`: `left` says what to clean up whatever happens
/// (see [`clean_up`]).
pub async fn run(
    writer: &StoreWriter,
    db: &Path,
    config: Arc<Config>,
    plan: &Plan,
    left: Arc<Mutex<Leftovers>>,
    by: &Operator,
) -> Report {
    let mut report = Report { tenant: plan.tenant.clone(), dry_run: plan.dry_run, ..Default::default() };
    let docker = match crate::sources::docker::connect(&config.docker).await {
        Ok(d) => d,
        Err(e) => {
            report.missing.push(format!("the Docker engine: {e}"));
            return report;
        }
    };
    let web = match web_of(&docker, &config, &plan.tenant).await {
        Ok(w) => w,
        Err(e) => {
            report.missing.push(e);
            return report;
        }
    };
    report.target = Some(format!("{} ({} on {})", web.name, web.ip, web.network));
    if plan.dry_run {
        if !web.followed {
            report.missing.push(format!(
                "{}'s web container is not followed: add the label {}=combined (or json) to {}",
                plan.tenant, config.engine_logs.label, web.name
            ));
        }
        let names: Vec<&str> = plan.scenarios.iter().map(|s| s.name()).collect();
        report.cleanup.push(format!(
            "dry run: would start an attacker ({}) on {} and run {} against {}; nothing was started",
            image::IMAGE,
            web.network,
            names.join(", "),
            web.ip
        ));
        return report;
    }
    if let Err(e) = image::ensure(&docker).await {
        report.missing.push(e);
        return report;
    }
    let (tenant, scenario) =
        (plan.tenant.clone(), plan.scenarios.iter().map(|s| s.name()).collect::<Vec<_>>().join(","));
    let id = match writer.call(move |conn| (drills::begin(conn, &tenant, &scenario, now_ms()), Tables::NONE)).await {
        Ok(Ok(id)) => id,
        _ => {
            report.missing.push("the store refused the drill's row".into());
            return report;
        }
    };
    report.drill = id;
    left.lock().unwrap_or_else(|e| e.into_inner()).drill = id;
    let name = attacker::name(id, "");
    report.attacker = Some(name.clone());
    left.lock().unwrap_or_else(|e| e.into_inner()).attackers.push(name.clone());
    let ip = match attacker::start(&docker, &name, id, &web.network, HashMap::new()).await {
        Ok(ip) => ip,
        Err(e) => {
            report.missing.push(e);
            return finish(writer, report, id, "", by).await;
        }
    };
    report.attacker_ip = Some(ip.clone());
    let at = ip.clone();
    let _ = writer.call(move |conn| (drills::set_attacker(conn, id, &at), Tables::NONE)).await;
    let mut watch = match Watch::open(db, &plan.tenant) {
        Ok(w) => w,
        Err(e) => {
            report.missing.push(e);
            return finish(writer, report, id, &ip, by).await;
        }
    };
    for scenario in &plan.scenarios {
        match scenario {
            Scenario::BruteForce | Scenario::Web => {
                let checks = network_scenario(
                    &docker,
                    &config,
                    plan,
                    &left,
                    &mut watch,
                    Attack { scenario: *scenario, from: &name, from_ip: &ip, web: &web },
                )
                .await;
                report.checks.extend(checks);
            }
            Scenario::CrossTenant => {
                let Some((other, network)) = other_network(&docker, &config, &plan.tenant).await else {
                    report.checks.push(Check::failed(
                        *scenario,
                        Stage::Seen,
                        format!("no other tenant has a container on a network to probe {} from", plan.tenant),
                    ));
                    continue;
                };
                // A second attacker, counted as the other tenant's, on its network and the target's.
                let second = attacker::name(id, "-cross");
                left.lock().unwrap_or_else(|e| e.into_inner()).attackers.push(second.clone());
                let labels = HashMap::from([(config.docker.label.clone(), other.clone())]);
                let started = async {
                    attacker::start(&docker, &second, id, &network, labels).await?;
                    attacker::attach(&docker, &second, &web.network).await
                };
                match started.await {
                    Ok(cross_ip) => {
                        // The collector's Docker source learns the address is the other tenant's.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let attack = Attack { scenario: *scenario, from: &second, from_ip: &cross_ip, web: &web };
                        let checks = network_scenario(&docker, &config, plan, &left, &mut watch, attack).await;
                        report.checks.extend(checks);
                        let _ = mark(writer, id, &cross_ip).await;
                    }
                    Err(e) => report.checks.push(Check::failed(*scenario, Stage::Seen, e)),
                }
            }
            Scenario::Tamper => report.checks.push(tamper(writer, &config, &left, &mut watch, id).await),
        }
    }
    finish(writer, report, id, &ip, by).await
}

/// Marks the alerts from `ip` since the drill began as the drill's.
async fn mark(writer: &StoreWriter, id: i64, ip: &str) -> bool {
    let ip = ip.to_string();
    let marked = writer
        .call(move |conn| {
            let since: i64 =
                conn.query_row("SELECT started_at FROM drills WHERE id = ?", [id], |r| r.get(0)).unwrap_or(0);
            let after: i64 = conn
                .query_row("SELECT ifnull(max(id), 0) FROM alerts WHERE ts < ?", [since - 60_000], |r| r.get(0))
                .unwrap_or(0);
            (drills::mark_alerts(conn, id, &ip, after, now_ms()), Tables::ALERTS)
        })
        .await;
    matches!(marked, Ok(Ok(_)))
}

/// Marks the drill's alerts, writes its row and its audit row (the drill id and checklist in the
/// detail).
async fn finish(writer: &StoreWriter, report: Report, id: i64, ip: &str, by: &Operator) -> Report {
    if !ip.is_empty() {
        let _ = mark(writer, id, ip).await;
    }
    let json = serde_json::to_value(&report).unwrap_or_default();
    let (text, ok, tenant) = (json.to_string(), report.ok(), report.tenant.clone());
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    let scenario: Vec<&str> = report.checks.iter().map(|c| c.scenario.name()).collect();
    let message = if ok {
        format!("drill {id} of {tenant}: every stage passed")
    } else {
        format!("drill {id} of {tenant}: {failed} stages failed, {} missing", report.missing.len())
    };
    let request = Request::Drill { tenant, scenario: scenario.first().copied().unwrap_or("").to_string() };
    let detail = serde_json::json!({ "backend": "docker", "drill": id, "report": json });
    let operator = by.clone();
    let _ = writer
        .call(move |conn| {
            let _ = drills::finish(conn, id, &text, now_ms());
            (respond::record(conn, &operator, &request, ok, &message, detail), Tables::AUDIT)
        })
        .await;
    report
}

/// A drill started from the console (`:drill TENANT [SCENARIO]`): run, cleaned up, and told as
/// an outcome whose details are the checklist; audited with who started it.
pub async fn from_console(writer: &StoreWriter, config: Arc<Config>, plan: Plan, by: &Operator) -> respond::Outcome {
    let db = writer.call(|conn| (conn.path().map(PathBuf::from), Tables::NONE)).await.ok().flatten();
    let Some(db) = db else { return respond::Outcome::failed("drill: the store has no file to watch") };
    let left = Arc::new(Mutex::new(Leftovers::default()));
    let mut report = run(writer, &db, config.clone(), &plan, left.clone(), by).await;
    report.cleanup.extend(clean_up(writer, &config, &left, false).await);
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    let message = match (report.ok(), report.missing.first()) {
        (true, _) => format!("drill {} of {}: every stage passed", report.drill, plan.tenant),
        (false, Some(m)) => format!("drill of {}: missing {m}", plan.tenant),
        (false, None) => format!("drill {} of {}: {failed} stages failed", report.drill, plan.tenant),
    };
    respond::Outcome { ok: report.ok(), message, details: report.lines() }
}

/// Undoes what the drill left, unless `keep`: removes its attackers, lifts its bans, restores the
/// tenant if the drill got it isolated, deletes its files. Returns what it did, a line each.
pub async fn clean_up(
    writer: &StoreWriter,
    config: &Arc<Config>,
    left: &Arc<Mutex<Leftovers>>,
    keep: bool,
) -> Vec<String> {
    let l = std::mem::take(&mut *left.lock().unwrap_or_else(|e| e.into_inner()));
    let mut out = Vec::new();
    if keep {
        if !l.attackers.is_empty() || !l.bans.is_empty() || l.isolated.is_some() || !l.files.is_empty() {
            out.push(format!(
                "kept (--keep): attackers {:?}, bans {:?}, isolated {:?}, files {:?}",
                l.attackers, l.bans, l.isolated, l.files
            ));
        }
        return out;
    }
    let operator = operator(l.drill);
    let backend = Backend::Live(config.clone());
    if let Ok(docker) = crate::sources::docker::connect(&config.docker).await {
        for a in &l.attackers {
            match attacker::remove(&docker, a).await {
                Ok(()) => out.push(format!("attacker {a} removed")),
                Err(e) => out.push(e),
            }
        }
    } else if !l.attackers.is_empty() {
        out.push(format!("cannot reach the engine to remove {:?}: remove them by hand", l.attackers));
    }
    for (ip, jail) in &l.bans {
        let (i, j) = (ip.clone(), jail.clone());
        let ban_id =
            writer.call(move |conn| (drills::ban_id(conn, &i, &j).unwrap_or(0), Tables::NONE)).await.unwrap_or(0);
        let request = Request::Unban { ban_id, ip: ip.clone(), jail: jail.clone() };
        let o = respond::perform(writer, &backend, &operator, &request).await;
        out.push(if o.ok {
            format!("ban of {ip} in {jail} lifted")
        } else {
            format!("ban of {ip} in {jail}: {}", o.message)
        });
    }
    if let Some(tenant) = &l.isolated {
        let o = respond::perform(writer, &backend, &operator, &Request::Restore { tenant: tenant.clone() }).await;
        out.push(if o.ok { format!("{tenant} restored") } else { format!("{tenant} not restored: {}", o.message) });
    }
    for f in &l.files {
        match std::fs::remove_file(f) {
            Ok(()) => out.push(format!("{} removed", f.display())),
            Err(e) => out.push(format!("cannot remove {}: {e}", f.display())),
        }
    }
    out
}
