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
    /// Whether this brings up to date the alert the same rule raised for the same incident (its
    /// `ts`, rule, tenant and address as `alert` has them) rather than raising one: one attack,
    /// one alert, however long it goes on.
    pub update: bool,
}

impl Detection {
    /// A new alert and the events that caused it.
    pub fn raised(alert: Alert, events: Vec<i64>) -> Detection {
        Detection { alert, events, update: false }
    }
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
            let alert = match d.update.then(|| raised_as(conn, &d.alert)).transpose()?.flatten() {
                Some(id) => {
                    conn.prepare_cached("UPDATE alerts SET output = ?, output_fields_json = ? WHERE id = ?")?
                        .execute(rusqlite::params![d.alert.output, d.alert.output_fields_json, id])?;
                    id
                }
                // Not there (an incident the rules took up again after a restart, or an alert
                // deleted since): raised anew.
                None => {
                    alerts::insert(conn, &d.alert)?;
                    conn.last_insert_rowid()
                }
            };
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

/// The stored alert rampart's rules raised as `alert` (the same time, rule, tenant and address).
fn raised_as(conn: &Connection, alert: &Alert) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT id FROM alerts WHERE ts = ? AND rule = ? AND source = ? AND tenant IS ? AND src_ip IS ? \
         ORDER BY id DESC LIMIT 1",
    )?
    .query_row(rusqlite::params![alert.ts, alert.rule, alert.source, alert.tenant, alert.src_ip], |r| r.get(0))
    .optional()
}

/// How many of `found` are new alerts (the rest bring alerts up to date).
pub fn raised(found: &[Detection]) -> usize {
    found.iter().filter(|d| !d.update).count()
}
