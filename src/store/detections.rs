//! How far rampart's own rules have judged the access events (the cursor `rampart:detect`), moved
//! only together with the alerts they raised.

use rusqlite::{Connection, OptionalExtension};

use super::alerts::{self, Alert};
use super::cursors;

/// The cursor that holds the id of the last access event judged, in decimal.
pub const SOURCE: &str = "rampart:detect";

/// An alert of rampart's rules and the access events (by id) that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub alert: Alert,
    pub events: Vec<i64>,
}

/// What became of a judged chunk offered to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Its alerts are stored and the rules now stand after it.
    Stored,
    /// Someone else (the collector, or an import) judged from the same place first: nothing was
    /// written, and the rules now stand after event `now`.
    Moved { now: i64 },
}

/// The id of the last access event the rules have judged; 0 when they have judged none.
pub fn position(conn: &Connection) -> rusqlite::Result<i64> {
    let at = conn
        .prepare_cached("SELECT CAST(position AS INTEGER) FROM cursors WHERE source = ?")?
        .query_row([SOURCE], |r| r.get(0))
        .optional()?;
    Ok(at.unwrap_or(0))
}

/// Stores the alerts raised by judging the events after `from` up to and including `through`,
/// and moves the position to `through` — only if it still stands at `from`, so that no event is
/// judged twice however many processes judge. All or nothing, inside the caller's transaction
/// (the caller holds the write lock, so the check and the move cannot be split).
pub fn record(conn: &Connection, from: i64, through: i64, found: &[Detection]) -> rusqlite::Result<Recorded> {
    let now = position(conn)?;
    if now != from {
        return Ok(Recorded::Moved { now });
    }
    conn.execute_batch("SAVEPOINT judged")?;
    let written = (|| -> rusqlite::Result<()> {
        let mut link = conn.prepare_cached("INSERT OR IGNORE INTO alert_events (alert, event) VALUES (?, ?)")?;
        for d in found {
            alerts::insert(conn, &d.alert)?;
            let alert = conn.last_insert_rowid();
            for event in &d.events {
                link.execute([alert, *event])?;
            }
        }
        cursors::put(conn, SOURCE, &through.to_string(), super::now_ms())
    })();
    match written {
        Ok(()) => conn.execute_batch("RELEASE judged")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO judged; RELEASE judged");
            return Err(e);
        }
    }
    Ok(Recorded::Stored)
}
