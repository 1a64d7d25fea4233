//! Where each followed log file was read up to: its cursor (`file:<path>` in [`super::cursors`]),
//! saved in the same transaction as the rows it gave.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{access::AccessEvent, alerts, alerts::Alert, cursors};

/// Where a followed file was read up to, and how many of its lines could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TailState {
    pub inode: u64,
    pub offset: u64,
    pub lines: i64,
    pub unparsed: i64,
}

/// The rows a batch of lines gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Access(Vec<AccessEvent>),
    Alerts(Vec<Alert>),
    /// Other hosts' published rows (`format = "rampart"`).
    Fleet(Vec<super::fleet::FleetRow>),
}

/// The cursor's name for the file at `path`.
pub fn source(path: &str) -> String {
    format!("file:{path}")
}

/// The position as the cursor holds it: `{"inode":…,"offset":…,"lines":…,"unparsed":…}`. Numbers
/// are written as SQLite's `json_object` wrote them when older stores were migrated (an inode
/// above 2^63 as a negative number), and read back either way.
#[derive(Serialize, Deserialize)]
struct Position {
    inode: i64,
    offset: i64,
    lines: i64,
    unparsed: i64,
}

pub fn get(conn: &Connection, path: &str) -> rusqlite::Result<Option<TailState>> {
    let Some(text) = cursors::get(conn, &source(path))? else { return Ok(None) };
    // A position that does not read as one (written by hand, say) starts the file afresh rather
    // than stopping the tail for good.
    Ok(serde_json::from_str::<Position>(&text).ok().map(|p| TailState {
        inode: p.inode as u64,
        offset: p.offset.max(0) as u64,
        lines: p.lines,
        unparsed: p.unparsed,
    }))
}

/// Stores the rows and the position after them, in the caller's transaction: together or not at all.
pub fn store(conn: &Connection, path: &str, state: &TailState, rows: &Rows) -> rusqlite::Result<()> {
    match rows {
        Rows::Access(events) => super::access::insert_many(conn, events)?,
        Rows::Alerts(list) => {
            let before: i64 = conn.query_row("SELECT ifnull(max(id), 0) FROM alerts", [], |r| r.get(0))?;
            for a in list {
                alerts::insert(conn, a)?;
            }
            alerts::assign_tenants(conn, before)?;
        }
        Rows::Fleet(list) => {
            super::fleet::insert_many(conn, list)?;
        }
    }
    let position = Position {
        inode: state.inode as i64,
        offset: state.offset as i64,
        lines: state.lines,
        unparsed: state.unparsed,
    };
    let text = serde_json::to_string(&position).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    cursors::put(conn, &source(path), &text, super::now_ms())
}
