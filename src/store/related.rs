//! What else the store knows of one IP, for a detail view: the access events an alert was raised
//! for, the IP's newest access events, and its newest alerts.

use rusqlite::{Connection, Row};

use super::priority::Priority;
use super::text_at;

/// One access event, as the detail view lists it (the path cut to 200 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub ts: i64,
    pub src_ip: String,
    pub tenant: String,
    pub method: String,
    pub path: String,
    pub status: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Related {
    /// An event the alert was raised for.
    Cause(Event),
    /// One of the IP's newest access events.
    Access(Event),
    /// One of the IP's newest alerts.
    Alert { ts: i64, priority: Priority, rule: String, tenant: Option<String> },
}

const EVENT: &str = "e.ts, e.src_ip, e.tenant, e.method, substr(CAST(e.path AS BLOB), 1, 200), e.status";

fn event(r: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        ts: r.get(0)?,
        src_ip: r.get(1)?,
        tenant: r.get(2)?,
        method: r.get(3)?,
        path: text_at(r, 4)?,
        status: r.get(5)?,
    })
}

/// For an alert, the (at most 50) events it was raised for; then the IP's 20 newest access events
/// and 10 newest alerts.
pub fn of_ip(conn: &Connection, ip: &str, alert: Option<i64>) -> rusqlite::Result<Vec<Related>> {
    let mut found = Vec::new();
    if let Some(alert) = alert {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EVENT} FROM alert_events l JOIN access_events e ON e.id = l.event \
             WHERE l.alert = ? ORDER BY e.id LIMIT 50"
        ))?;
        for row in stmt.query_map([alert], event)? {
            found.push(Related::Cause(row?));
        }
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT} FROM access_events e WHERE e.src_ip = ? ORDER BY e.id DESC LIMIT 20"
    ))?;
    for row in stmt.query_map([ip], event)? {
        found.push(Related::Access(row?));
    }
    let mut stmt = conn
        .prepare_cached("SELECT ts, priority, rule, tenant FROM alerts WHERE src_ip = ? ORDER BY id DESC LIMIT 10")?;
    let alerts = stmt.query_map([ip], |r| {
        Ok(Related::Alert {
            ts: r.get(0)?,
            priority: Priority::from_rank(r.get(1)?),
            rule: r.get(2)?,
            tenant: r.get(3)?,
        })
    })?;
    for row in alerts {
        found.push(row?);
    }
    Ok(found)
}
