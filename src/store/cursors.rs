//! Where each source has read up to (an opaque position), stored in the same transaction as its rows.

use rusqlite::{params, Connection, OptionalExtension};

use super::alerts;
use super::tails::Rows;

/// An event's identity at its origin (CloudWatch's `eventId`) and its time, for de-duplication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKey {
    pub id: String,
    pub ts: i64,
}

/// Rows a source read, the position after them, and the keys that store each row at most once.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub source: String,
    /// Opaque to the store: the source reads back what it wrote.
    pub position: String,
    pub rows: Rows,
    /// One key per row, in order; empty when the rows have no identity of their own.
    pub keys: Vec<EventKey>,
    /// Keys older than this are forgotten (the source will not read that far back again).
    pub forget_before: Option<i64>,
    /// Lines read with these rows that were not rows, kept for inspection (see [`super::unparsed`]).
    pub unparsed: Vec<super::unparsed::Line>,
    /// One key per unparsed line, in order (or none): a line read again is neither kept nor
    /// counted twice.
    pub unparsed_keys: Vec<EventKey>,
    /// Keys of events read but neither stored nor kept (a refused row): remembered like the
    /// others, so a re-read, even after a restart, does not count them again.
    pub skipped_keys: Vec<EventKey>,
}

/// What a batch added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    pub rows: usize,
    pub unparsed: usize,
}

/// The position a source last stored.
pub fn get(conn: &Connection, source: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT position FROM cursors WHERE source = ?", [source], |r| r.get(0)).optional()
}

/// The keys `source` stored and has not forgotten yet (those within its re-read window).
pub fn seen(conn: &Connection, source: &str) -> rusqlite::Result<Vec<EventKey>> {
    let mut stmt = conn.prepare_cached("SELECT event_id, ts FROM cursor_seen WHERE source = ?")?;
    let rows = stmt.query_map([source], |r| Ok(EventKey { id: r.get(0)?, ts: r.get(1)? }))?;
    rows.collect()
}

/// Stores the rows whose keys were not stored before, and the position, in the caller's
/// transaction: together or not at all, with the lines that did not parse and the source's counts
/// (`source_status.stored`, `.unparsed`). Returns how many rows and lines were new.
pub fn store(conn: &Connection, batch: &Batch, now: i64) -> rusqlite::Result<Stored> {
    let len = match &batch.rows {
        Rows::Access(v) => v.len(),
        Rows::Alerts(v) => v.len(),
        Rows::Fleet(v) => v.len(),
    };
    let mut fresh = vec![true; len];
    let mut fresh_lines = vec![true; batch.unparsed.len()];
    if !batch.keys.is_empty() || !batch.unparsed_keys.is_empty() || !batch.skipped_keys.is_empty() {
        let mut seen =
            conn.prepare_cached("INSERT OR IGNORE INTO cursor_seen (source, event_id, ts) VALUES (?, ?, ?)")?;
        for key in &batch.skipped_keys {
            seen.execute(params![batch.source, key.id, key.ts])?;
        }
        for (i, key) in batch.keys.iter().enumerate().take(len) {
            fresh[i] = seen.execute(params![batch.source, key.id, key.ts])? == 1;
        }
        for (i, key) in batch.unparsed_keys.iter().enumerate().take(fresh_lines.len()) {
            fresh_lines[i] = seen.execute(params![batch.source, key.id, key.ts])? == 1;
        }
    }
    let mut stored = 0;
    match &batch.rows {
        Rows::Access(events) => {
            let new = events.iter().zip(&fresh).filter(|(_, f)| **f).map(|(e, _)| e);
            stored = new.clone().count();
            super::access::insert_many(conn, new)?;
        }
        Rows::Alerts(list) => {
            let before = alerts::last_id(conn)?;
            for a in list.iter().zip(&fresh).filter(|(_, f)| **f).map(|(a, _)| a) {
                alerts::insert(conn, a)?;
                stored += 1;
            }
            alerts::assign_tenants(conn, before)?;
        }
        Rows::Fleet(list) => {
            let new: Vec<_> = list.iter().zip(&fresh).filter(|(_, f)| **f).map(|(r, _)| r.clone()).collect();
            stored = super::fleet::insert_many(conn, &new)?;
        }
    }
    if let Some(before) = batch.forget_before {
        conn.prepare_cached("DELETE FROM cursor_seen WHERE source = ? AND ts < ?")?
            .execute(params![batch.source, before])?;
    }
    let lines: Vec<_> = batch.unparsed.iter().zip(&fresh_lines).filter(|(_, f)| **f).map(|(l, _)| l.clone()).collect();
    super::unparsed::keep(conn, &batch.source, &lines)?;
    super::status::count(conn, &batch.source, stored as i64, lines.len() as i64)?;
    put(conn, &batch.source, &batch.position, now)?;
    Ok(Stored { rows: stored, unparsed: lines.len() })
}

/// Stores a source's position alone (a source whose rows are elsewhere, e.g. a publisher).
pub fn put(conn: &Connection, source: &str, position: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO cursors (source, position, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT(source) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
    )?
    .execute(params![source, position, now])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::access::AccessEvent;

    fn event(path: &str) -> AccessEvent {
        AccessEvent { ts: 1, src_ip: "192.0.2.1".into(), path: path.into(), source: "t".into(), ..Default::default() }
    }

    #[test]
    fn a_batch_read_again_stores_only_its_new_rows_and_moves_the_position() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("c.db"), crate::store::Access::ReadWrite).unwrap();
        let key = |id: &str| EventKey { id: id.into(), ts: 1 };
        let batch = |ids: &[&str], position: &str| Batch {
            source: "cloudwatch:/g".into(),
            position: position.into(),
            rows: Rows::Access(ids.iter().map(|id| event(id)).collect()),
            keys: ids.iter().map(|id| key(id)).collect(),
            forget_before: None,
            unparsed: Vec::new(),
            unparsed_keys: Vec::new(),
            skipped_keys: Vec::new(),
        };
        assert_eq!(store(&conn, &batch(&["a", "b"], "p1"), 0).unwrap().rows, 2);
        assert_eq!(store(&conn, &batch(&["b", "c"], "p2"), 0).unwrap().rows, 1);
        let paths: Vec<String> = conn
            .prepare("SELECT path FROM access_events ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(paths, ["a", "b", "c"]);
        assert_eq!(get(&conn, "cloudwatch:/g").unwrap().as_deref(), Some("p2"));
    }
}
