//! What the store holds about one tenant over a time range, for the incident report: its alerts,
//! the access events of the addresses involved (counted, not listed), bans, audit rows and
//! integrity runs.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::zones;

/// An alert, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: i64,
    pub ts: i64,
    pub priority: i64,
    pub rule: String,
    pub output: String,
    pub src_ip: Option<String>,
    pub acked_by: Option<String>,
}

/// One address's requests to the tenant in the range, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    pub ip: String,
    pub requests: i64,
    pub first: i64,
    pub last: i64,
    /// Requests answered 4xx and 5xx.
    pub client_errors: i64,
    pub server_errors: i64,
    /// The most requested paths, with their counts, most first (at most 5).
    pub top_paths: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub jail: String,
    pub ip: String,
    pub banned_at: i64,
    pub ban_seconds: i64,
    pub failures: i64,
    pub unbanned_at: Option<i64>,
    pub unbanned_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub ts: i64,
    pub operator: String,
    pub ssh_client: Option<String>,
    pub action: String,
    pub target: String,
    pub reason: Option<String>,
    pub outcome: String,
    pub detail_json: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub target: String,
    pub started: i64,
    pub signature_ok: Option<bool>,
    pub checked: i64,
    pub modified: i64,
    pub added: i64,
    pub removed: i64,
    pub unreadable: i64,
    /// (path, kind) of every change the run found.
    pub changes: Vec<(String, String)>,
}

/// Everything about `tenant` from `since` (inclusive) to `until` (exclusive), in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gathered {
    pub exists: bool,
    pub alerts: Vec<Alert>,
    /// Addresses named by the tenant's alerts and bans in the range, sorted.
    pub addresses: Vec<String>,
    pub traffic: Vec<Traffic>,
    pub bans: Vec<Ban>,
    pub audit: Vec<AuditRow>,
    pub runs: Vec<Run>,
}

/// The most addresses whose traffic is summarised (the rest are named only).
pub const MAX_ADDRESSES: usize = 50;

pub fn gather(conn: &Connection, tenant: &str, since: i64, until: i64) -> rusqlite::Result<Gathered> {
    let exists = conn.query_row("SELECT 1 FROM tenants WHERE name = ?", [tenant], |_| Ok(())).optional()?.is_some();
    let mut stmt = conn.prepare(
        "SELECT id, ts, priority, rule, output, src_ip, acked_by FROM alerts \
         WHERE tenant = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, id",
    )?;
    let alerts: Vec<Alert> = stmt
        .query_map(params![tenant, since, until], |r| {
            Ok(Alert {
                id: r.get(0)?,
                ts: r.get(1)?,
                priority: r.get(2)?,
                rule: r.get(3)?,
                output: r.get(4)?,
                src_ip: r.get(5)?,
                acked_by: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let in_range = "((banned_at >= ?2 AND banned_at < ?3) OR (unbanned_at >= ?2 AND unbanned_at < ?3))";
    let mut addresses: Vec<String> = alerts.iter().filter_map(|a| a.src_ip.clone()).collect();
    let mut stmt = conn.prepare(&format!("SELECT DISTINCT ip FROM bans WHERE tenant = ?1 AND {in_range}"))?;
    addresses.extend(stmt.query_map(params![tenant, since, until], |r| r.get::<_, String>(0))?.filter_map(Result::ok));
    addresses.sort();
    addresses.dedup();

    // The access events have no time index: the zone map bounds the window's ids (`store::zones`).
    let mut bounds = Vec::new();
    let window = format!(
        "ts >= ?3 AND ts < ?4 AND id >= {} AND id <= {}",
        zones::lowest_id_since(since, &mut bounds),
        zones::highest_id_before(until, &mut bounds)
    );
    let with = |ip: &str| {
        let mut all = vec![Value::from(ip.to_string()), Value::from(tenant.to_string()), since.into(), until.into()];
        all.extend(bounds.iter().cloned());
        all
    };
    let mut traffic = Vec::new();
    for ip in addresses.iter().take(MAX_ADDRESSES) {
        let (requests, first, last, client_errors, server_errors) = conn.query_row(
            &format!(
                "SELECT count(*), coalesce(min(ts), 0), coalesce(max(ts), 0), \
                 coalesce(sum(status BETWEEN 400 AND 499), 0), coalesce(sum(status BETWEEN 500 AND 599), 0) \
                 FROM access_events WHERE src_ip = ?1 AND tenant = ?2 AND {window}"
            ),
            params_from_iter(with(ip)),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        if requests == 0 {
            continue;
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT path, count(*) AS n FROM access_events WHERE src_ip = ?1 AND tenant = ?2 AND {window} \
             GROUP BY path ORDER BY n DESC, path LIMIT 5"
        ))?;
        let top_paths = stmt
            .query_map(params_from_iter(with(ip)), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        traffic.push(Traffic { ip: ip.clone(), requests, first, last, client_errors, server_errors, top_paths });
    }

    let mut bans = Vec::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT jail, ip, banned_at, ban_seconds, failures, unbanned_at, unbanned_by FROM bans \
         WHERE (tenant = ?1 OR ip IN (SELECT value FROM json_each(?4))) AND {in_range} ORDER BY banned_at, id"
    ))?;
    let listed = serde_json::to_string(&addresses).unwrap_or_else(|_| "[]".into());
    for ban in stmt.query_map(params![tenant, since, until, listed], |r| {
        Ok(Ban {
            jail: r.get(0)?,
            ip: r.get(1)?,
            banned_at: r.get(2)?,
            ban_seconds: r.get(3)?,
            failures: r.get(4)?,
            unbanned_at: r.get(5)?,
            unbanned_by: r.get(6)?,
        })
    })? {
        bans.push(ban?);
    }

    let mut stmt = conn.prepare("SELECT name FROM integrity_targets WHERE tenant = ?1 OR name = ?1")?;
    let targets: Vec<String> = stmt.query_map([tenant], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    // Audit targets as the responders write them: `tenant NAME`, `IP in JAIL`, `integrity target NAME`.
    let mut audit_targets: Vec<String> = vec![format!("tenant {tenant}")];
    audit_targets.extend(targets.iter().map(|t| format!("integrity target {t}")));
    let ip_prefixes: Vec<String> = addresses.iter().map(|ip| format!("{ip} in ")).collect();
    let mut stmt = conn.prepare(
        "SELECT id, ts, operator, ssh_client, action, target, reason, outcome, detail_json FROM audit \
         WHERE ts >= ?1 AND ts < ?2 AND (target IN (SELECT value FROM json_each(?3)) \
         OR EXISTS (SELECT 1 FROM json_each(?4) WHERE substr(audit.target, 1, length(value)) = value)) \
         ORDER BY ts, id",
    )?;
    let audit = stmt
        .query_map(
            params![
                since,
                until,
                serde_json::to_string(&audit_targets).unwrap_or_default(),
                serde_json::to_string(&ip_prefixes).unwrap_or_default()
            ],
            |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    ts: r.get(1)?,
                    operator: r.get(2)?,
                    ssh_client: r.get(3)?,
                    action: r.get(4)?,
                    target: r.get(5)?,
                    reason: r.get(6)?,
                    outcome: r.get(7)?,
                    detail_json: r.get(8)?,
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;

    let mut runs = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, target, started, signature_ok, checked, modified, added, removed, unreadable FROM integrity_runs \
         WHERE target IN (SELECT value FROM json_each(?1)) AND started >= ?2 AND started < ?3 ORDER BY started, id",
    )?;
    let found: Vec<Run> = stmt
        .query_map(params![serde_json::to_string(&targets).unwrap_or_default(), since, until], |r| {
            Ok(Run {
                id: r.get(0)?,
                target: r.get(1)?,
                started: r.get(2)?,
                signature_ok: r.get(3)?,
                checked: r.get(4)?,
                modified: r.get(5)?,
                added: r.get(6)?,
                removed: r.get(7)?,
                unreadable: r.get(8)?,
                changes: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut changes = conn.prepare("SELECT path, kind FROM integrity_changes WHERE run = ? ORDER BY path")?;
    for mut run in found {
        run.changes = changes.query_map([run.id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        runs.push(run);
    }
    Ok(Gathered { exists, alerts, addresses, traffic, bans, audit, runs })
}
