//! The detection task of the collector: reads access events as they are stored (by id, so rows
//! written by other programs count too), runs the rules, and stores alerts linked to their events.
//! It resumes from its saved position after a restart and works through bursts in chunks.

use std::time::Duration;

use rusqlite::Connection;

use super::{Detection, Detector, Rules};
use crate::store::access;
use crate::store::tails::TailState;
use crate::store::writer::{StoreWriter, Tables, Write};

/// The name its position is kept under in `tail_positions`.
const CURSOR: &str = "rampart:detect";
/// Events read per step; a burst of 100,000 is ten quick steps, never one long stall.
const CHUNK: usize = 10_000;

/// What the rules need from the store besides events: container addresses and isolated tenants.
fn context(conn: &Connection, d: &mut Detector) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(j.value, '$.ip'), c.tenant FROM containers c, json_each(c.networks_json) j \
         WHERE json_extract(j.value, '$.ip') IS NOT NULL",
    )?;
    d.addresses = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare_cached("SELECT name FROM tenants WHERE status <> 'active'")?;
    d.isolated = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(())
}

fn next_events(conn: &Connection, after: i64) -> rusqlite::Result<Vec<access::AccessEvent>> {
    let mut stmt = conn.prepare_cached(&format!("{} WHERE id > ? ORDER BY id LIMIT {CHUNK}", access::SELECT))?;
    let rows = stmt.query_map([after], access::from_row)?;
    rows.collect()
}

/// Runs until the writer goes away, reading through its own read-only connection to `db`.
pub async fn run(writer: StoreWriter, db: std::path::PathBuf, rules: Rules) {
    let Ok(reader) = crate::store::open(&db, crate::store::Access::ReadOnly) else { return };
    let mut detector = Detector::new(rules);
    // Start where the last run stopped; on a first run, from now (history is not re-judged).
    let saved =
        writer.call(|conn| (crate::store::tails::get(conn, CURSOR).ok().flatten(), Tables::NONE)).await.ok().flatten();
    let mut cursor = match saved {
        Some(s) => s.offset as i64,
        None => reader.query_row("SELECT ifnull(max(id), 0) FROM access_events", [], |r| r.get(0)).unwrap_or(0),
    };
    let mut state = saved.unwrap_or_default();
    loop {
        let events = next_events(&reader, cursor).unwrap_or_default();
        if events.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let _ = context(&reader, &mut detector);
            continue;
        }
        let mut found: Vec<Detection> = Vec::new();
        for e in &events {
            found.extend(detector.observe(e));
        }
        cursor = events.last().map_or(cursor, |e| e.id);
        state.lines += events.len() as i64;
        state.offset = cursor as u64;
        if writer.send(Write::Detections { found, cursor: CURSOR.into(), state }).await.is_err() {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// Stores detections with their links, and the position after them, in the writer's transaction.
pub fn store(conn: &Connection, found: &[Detection], cursor: &str, state: &TailState) -> rusqlite::Result<()> {
    for d in found {
        crate::store::alerts::insert(conn, &d.alert)?;
        let alert = conn.last_insert_rowid();
        let mut link = conn.prepare_cached("INSERT OR IGNORE INTO alert_events (alert, event) VALUES (?, ?)")?;
        for event in &d.events {
            link.execute([alert, *event])?;
        }
    }
    crate::store::tails::store(conn, cursor, state, &crate::store::tails::Rows::Access(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{self, Access};

    /// What an attacker hides behind a NUL byte is judged too: the rules see every event whole.
    #[test]
    fn rules_see_past_a_nul_byte() {
        let dir = tempfile::tempdir().unwrap();
        let conn = store::open(&dir.path().join("d.db"), Access::ReadWrite).unwrap();
        let event = |ip: &str, path: &str, user_agent: &str| access::AccessEvent {
            ts: 1_795_694_400_000,
            tenant: "acme".into(),
            src_ip: ip.into(),
            method: "GET".into(),
            path: path.into(),
            status: 200,
            user_agent: user_agent.into(),
            source: "test".into(),
            ..Default::default()
        };
        let events = [
            event("203.0.113.1", "/c\0/../../etc/passwd", "curl/8"),
            event("203.0.113.2", "/", "Mozilla/5.0\0 sqlmap/1.7"),
        ];
        access::insert_many(&conn, &events).unwrap();
        let mut detector = Detector::new(Rules::default());
        let found: Vec<Detection> = next_events(&conn, 0).unwrap().iter().flat_map(|e| detector.observe(e)).collect();
        let outputs: Vec<(&str, &str)> =
            found.iter().map(|d| (d.alert.rule.as_str(), d.alert.output.as_str())).collect();
        assert_eq!(
            outputs,
            [
                ("Web attack pattern", "203.0.113.1 sent '../' to acme /c\0/../../etc/passwd"),
                ("Web attack pattern", "203.0.113.2 sent 'sqlmap' to acme /"),
            ]
        );
        // The alert is stored and read back whole as well.
        store(&conn, &found, CURSOR, &TailState::default()).unwrap();
        let mut stmt = conn.prepare(&format!("{} ORDER BY id", crate::store::alerts::SELECT)).unwrap();
        let alerts: Vec<String> =
            stmt.query_map([], crate::store::alerts::from_row).unwrap().map(|a| a.unwrap().output).collect();
        assert_eq!(alerts[0], "203.0.113.1 sent '../' to acme /c\0/../../etc/passwd");
    }
}
