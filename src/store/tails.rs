//! Where each followed log file was read up to, saved in the same transaction as the rows it gave.

use rusqlite::{params, Connection, OptionalExtension};

use super::{access::AccessEvent, alerts, alerts::Alert};

/// Where a followed file was read up to, and how many of its lines could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

pub fn get(conn: &Connection, path: &str) -> rusqlite::Result<Option<TailState>> {
    conn.query_row("SELECT inode, offset, lines, unparsed FROM tail_positions WHERE path = ?", [path], |r| {
        Ok(TailState {
            inode: r.get::<_, i64>(0)? as u64,
            offset: r.get::<_, i64>(1)? as u64,
            lines: r.get(2)?,
            unparsed: r.get(3)?,
        })
    })
    .optional()
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
    conn.prepare_cached(
        "INSERT INTO tail_positions (path, inode, offset, lines, unparsed) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT(path) DO UPDATE SET inode = excluded.inode, offset = excluded.offset, lines = excluded.lines, \
         unparsed = excluded.unparsed",
    )?
    .execute(params![path, state.inode as i64, state.offset as i64, state.lines, state.unparsed])?;
    Ok(())
}
