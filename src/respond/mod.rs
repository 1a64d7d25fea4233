//! Responders: what an operator's action does to the world, and the audit row that records it.

pub mod operator;

use rusqlite::Connection;

pub use operator::Operator;

use crate::store::writer::Tables;
use crate::store::{alerts, audit, bans, integrity, now_ms, tenants};

/// An action an operator asked for, with everything needed to perform it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Isolate { tenant: String, reason: String, pause: bool },
    Restore { tenant: String },
    Unban { ban_id: i64, ip: String, jail: String },
    Ban { ip: String, jail: String, reason: String },
    Acknowledge { alert_id: i64, rule: String },
    Verify { target: String },
}

impl Request {
    /// The audit log's `action` column.
    pub fn action(&self) -> &'static str {
        match self {
            Request::Isolate { .. } => "isolate",
            Request::Restore { .. } => "restore",
            Request::Unban { .. } => "unban",
            Request::Ban { .. } => "ban",
            Request::Acknowledge { .. } => "acknowledge",
            Request::Verify { .. } => "verify",
        }
    }

    /// The audit log's `target` column.
    pub fn target(&self) -> String {
        match self {
            Request::Isolate { tenant, .. } | Request::Restore { tenant } => {
                format!("tenant {tenant}")
            }
            Request::Unban { ip, jail, .. } | Request::Ban { ip, jail, .. } => {
                format!("{ip} in {jail}")
            }
            Request::Acknowledge { alert_id, rule } => format!("alert {alert_id} ({rule})"),
            Request::Verify { target } => format!("integrity target {target}"),
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Request::Isolate { reason, .. } | Request::Ban { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// What happened, as the operator is told and the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub message: String,
}

/// Who carries out requests against what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `rampart demo`: every action acts on the demo database only.
    Demo,
    /// The real host. Components not wired in yet refuse with a reason rather than pretend.
    Live,
}

/// Performs `request` on the store inside the caller's transaction and appends the audit row.
/// Runs on the store writer (see `store::writer::Job`).
pub fn perform(conn: &Connection, backend: Backend, operator: &Operator, request: &Request) -> (Outcome, Tables) {
    let at = now_ms();
    let result = match (backend, request) {
        (_, Request::Acknowledge { alert_id, .. }) => match alerts::acknowledge(conn, *alert_id, &operator.name, at) {
            Ok(true) => Ok(format!("acknowledged alert {alert_id}")),
            Ok(false) => Err(format!("alert {alert_id} was already acknowledged or no longer exists")),
            Err(e) => Err(format!("store error: {e}")),
        },
        (Backend::Demo, Request::Isolate { tenant, reason, pause }) => {
            let n = tenants::containers_of(conn, tenant).map(|c| c.len()).unwrap_or(0);
            match tenants::set_status(conn, tenant, tenants::status::ISOLATED, &operator.name, Some(reason), at) {
                Ok(true) => Ok(format!(
                    "isolated {tenant}: {n}/{n} containers moved to the quarantine network{} (demo)",
                    if *pause { " and paused" } else { "" }
                )),
                Ok(false) => Err(format!("no tenant named {tenant}")),
                Err(e) => Err(format!("store error: {e}")),
            }
        }
        (Backend::Demo, Request::Restore { tenant }) => {
            match tenants::set_status(conn, tenant, tenants::status::ACTIVE, &operator.name, None, at) {
                Ok(true) => Ok(format!("restored {tenant}: networks reconnected (demo)")),
                Ok(false) => Err(format!("no tenant named {tenant}")),
                Err(e) => Err(format!("store error: {e}")),
            }
        }
        (Backend::Demo, Request::Unban { ban_id, ip, jail }) => {
            match bans::mark_unbanned(conn, *ban_id, &operator.name, at) {
                Ok(true) => Ok(format!("unbanned {ip} from {jail} (demo)")),
                Ok(false) => Err(format!("{ip} is no longer banned in {jail}")),
                Err(e) => Err(format!("store error: {e}")),
            }
        }
        (Backend::Demo, Request::Ban { ip, jail, .. }) => {
            let count = bans::previous_count(conn, ip).unwrap_or(0) + 1;
            let ban = bans::Ban {
                jail: jail.clone(),
                ip: ip.clone(),
                banned_at: at,
                ban_seconds: 3600,
                ban_count: count,
                source: "manual".into(),
                matches_json: "[]".into(),
                ..Default::default()
            };
            match bans::insert(conn, &ban) {
                Ok(_) => Ok(format!("banned {ip} in {jail} for 1h (demo)")),
                Err(e) => Err(format!("store error: {e}")),
            }
        }
        (Backend::Demo, Request::Verify { target }) => demo_verify(conn, target, at),
        (Backend::Live, Request::Isolate { .. } | Request::Restore { .. }) => {
            Err("isolation needs the Docker source, which this build does not have yet; nothing was changed".into())
        }
        (Backend::Live, Request::Unban { .. } | Request::Ban { .. }) => {
            Err("bans need the Fail2Ban source, which this build does not have yet; nothing was changed".into())
        }
        (Backend::Live, Request::Verify { .. }) => {
            Err("verification needs the integrity checker, which this build does not have yet".into())
        }
    };
    let outcome = match result {
        Ok(message) => Outcome { ok: true, message },
        Err(message) => Outcome { ok: false, message },
    };
    let entry = audit::NewEntry {
        ts: at,
        operator: operator.name.clone(),
        ssh_client: operator.ssh_client.clone(),
        host: operator.host.clone(),
        action: request.action().to_string(),
        target: request.target(),
        reason: request.reason().map(str::to_string),
        outcome: if outcome.ok { "ok".into() } else { "failed".into() },
        detail_json: serde_json::json!({ "message": outcome.message, "backend": format!("{backend:?}") }).to_string(),
    };
    if let Err(e) = audit::append(conn, &entry) {
        tracing::error!("cannot write the audit row for {}: {e}", request.action());
        return (
            Outcome {
                ok: false,
                message: format!("{} — but the audit row could not be written: {e}", outcome.message),
            },
            Tables::ALL,
        );
    }
    (outcome, Tables::ALL)
}

/// The demo's "verify now": a new run that finds what the last run found, freshly timed.
fn demo_verify(conn: &Connection, target: &str, at: i64) -> Result<String, String> {
    let last = conn
        .query_row(
            "SELECT id, checked, modified, added, removed, unreadable FROM integrity_runs WHERE target = ? ORDER BY id DESC LIMIT 1",
            [target],
            |r| Ok((r.get::<_, i64>(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, i64>(5)?])),
        )
        .map_err(|_| format!("integrity target {target} has never been verified"))?;
    let changes = integrity::changes_of(conn, last.0).map_err(|e| format!("store error: {e}"))?;
    let [checked, modified, added, removed, unreadable] = last.1;
    let run = integrity::Run {
        target: target.to_string(),
        started: at,
        finished: Some(at + 40),
        signature_ok: Some(true),
        checked,
        modified,
        added,
        removed,
        unreadable,
    };
    integrity::insert_run(conn, &run, &changes).map_err(|e| format!("store error: {e}"))?;
    let drift = modified + added + removed + unreadable;
    Ok(format!("verified {target}: signature valid, {checked} files checked, {drift} differ from the baseline (demo)"))
}
