//! File-integrity targets, their verification runs and the changes each run found.

use rusqlite::{params, Connection, Row};

use super::filter::{Field, FieldKind, Fields};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    pub name: String,
    pub tenant: Option<String>,
    pub root: String,
    pub manifest_path: String,
    pub pubkey_path: String,
}

/// The counts of one verification run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Run {
    pub target: String,
    pub started: i64,
    pub finished: Option<i64>,
    pub signature_ok: Option<bool>,
    pub checked: i64,
    pub modified: i64,
    pub added: i64,
    pub removed: i64,
    pub unreadable: i64,
}

/// One file that differs from the baseline; before/after hold hash, size, mode and owner as JSON.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    pub path: String,
    pub kind: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// One line of the Integrity pane: a target and its newest run, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IntegrityRow {
    pub id: i64,
    pub name: String,
    pub tenant: Option<String>,
    pub root: String,
    pub manifest_path: String,
    pub run_id: Option<i64>,
    pub run: Option<Run>,
}

impl IntegrityRow {
    /// Files that differ in the newest run.
    pub fn drift(&self) -> Option<i64> {
        self.run.as_ref().map(|r| r.modified + r.added + r.removed + r.unreadable)
    }
}

pub const FIELDS: Fields = Fields {
    fields: &[
        Field { name: "name", column: "g.name", kind: FieldKind::Text },
        Field { name: "tenant", column: "g.tenant", kind: FieldKind::Text },
    ],
    free_text: &["g.name", "g.root", "g.tenant"],
    time: None,
};

pub const SELECT: &str = "SELECT g.id, g.name, g.tenant, g.root, g.manifest_path, r.id, r.started, r.finished, \
     r.signature_ok, r.checked, r.modified, r.added, r.removed, r.unreadable \
     FROM integrity_targets g LEFT JOIN integrity_runs r \
     ON r.id = (SELECT max(id) FROM integrity_runs WHERE target = g.name)";

pub fn from_row(r: &Row<'_>) -> rusqlite::Result<IntegrityRow> {
    let name: String = r.get(1)?;
    let run_id: Option<i64> = r.get(5)?;
    let run = match run_id {
        Some(_) => Some(Run {
            target: name.clone(),
            started: r.get(6)?,
            finished: r.get(7)?,
            signature_ok: r.get(8)?,
            checked: r.get(9)?,
            modified: r.get(10)?,
            added: r.get(11)?,
            removed: r.get(12)?,
            unreadable: r.get(13)?,
        }),
        None => None,
    };
    Ok(IntegrityRow { id: r.get(0)?, name, tenant: r.get(2)?, root: r.get(3)?, manifest_path: r.get(4)?, run_id, run })
}

pub fn upsert_target(conn: &Connection, t: &Target) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO integrity_targets (name, tenant, root, manifest_path, pubkey_path) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT(name) DO UPDATE SET tenant = excluded.tenant, root = excluded.root, \
         manifest_path = excluded.manifest_path, pubkey_path = excluded.pubkey_path",
    )?
    .execute(params![t.name, t.tenant, t.root, t.manifest_path, t.pubkey_path])?;
    Ok(())
}

/// Stores a finished run and the changes it found; returns the run's id.
pub fn insert_run(conn: &Connection, run: &Run, changes: &[Change]) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO integrity_runs (target, started, finished, signature_ok, checked, modified, added, removed, unreadable) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        run.target,
        run.started,
        run.finished,
        run.signature_ok,
        run.checked,
        run.modified,
        run.added,
        run.removed,
        run.unreadable
    ])?;
    let id = conn.last_insert_rowid();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO integrity_changes (run, path, kind, before_json, after_json) VALUES (?, ?, ?, ?, ?)",
    )?;
    for c in changes {
        stmt.execute(params![id, c.path, c.kind, c.before_json, c.after_json])?;
    }
    Ok(id)
}

pub fn changes_of(conn: &Connection, run: i64) -> rusqlite::Result<Vec<Change>> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, kind, before_json, after_json FROM integrity_changes WHERE run = ? ORDER BY path LIMIT 10000",
    )?;
    let rows = stmt.query_map([run], |r| {
        Ok(Change { path: r.get(0)?, kind: r.get(1)?, before_json: r.get(2)?, after_json: r.get(3)? })
    })?;
    rows.collect()
}
