//! What else the store knows of one IP, for a detail view: the access events an alert was raised
//! for, the IP's newest access events, and its newest alerts.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Row};

use super::filter::{Filter, Needle};
use super::priority::Priority;
use super::{search, text_at};

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

/// The access events from `ip` (exactly as stored), as an `ip:` filter finds them.
fn rows_of(ip: &str) -> Filter {
    Filter {
        text: String::new(),
        sql: "src_ip = ?".into(),
        params: vec![Value::Text(ip.into())],
        needles: vec![Needle::Address { column: "src_ip", ip: ip.into() }],
        listed: false,
    }
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
    // Through the address index when it covers the store: a rare address among 10,000,000
    // events is otherwise a read of every one.
    let plain = rows_of(ip);
    let filter = search::narrow(conn, &plain)?.unwrap_or(plain);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT} FROM access_events e WHERE {} ORDER BY e.id DESC LIMIT 20",
        filter.sql
    ))?;
    for row in stmt.query_map(params_from_iter(filter.params.iter()), event)? {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::access::{self, AccessEvent};

    /// An address's newest events, the same whether the address index covers the store or not,
    /// and read through the index once it does.
    #[test]
    fn an_addresss_newest_events_come_through_the_address_index() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("s.db"), crate::store::Access::ReadWrite).unwrap();
        let events: Vec<AccessEvent> = (0..30_000)
            .map(|i| AccessEvent {
                ts: 1_760_000_000_000 + i,
                src_ip: if i % 997 == 0 { "2001:db8::7".into() } else { format!("198.51.100.{}", i % 200) },
                path: format!("/p{i}"),
                ..Default::default()
            })
            .collect();
        access::insert_many(&conn, &events).unwrap();
        let paths = |conn: &Connection| -> Vec<String> {
            of_ip(conn, "2001:db8::7", None)
                .unwrap()
                .into_iter()
                .map(|r| match r {
                    Related::Access(e) => e.path,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        let want: Vec<String> = (0..30_000).rev().filter(|i| i % 997 == 0).take(20).map(|i| format!("/p{i}")).collect();
        assert_eq!(paths(&conn), want, "before the indexes cover the store");
        crate::store::indexer::catch_up(&conn).unwrap();
        assert_eq!(paths(&conn), want, "through the address index");
        assert!(search::narrow(&conn, &rows_of("2001:db8::7")).unwrap().is_some(), "the index lists the rows");
    }
}
