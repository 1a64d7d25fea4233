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
    /// The pinned key (`SHA256:…`): the only key whose signature counts for this target. Set by
    /// `baseline` and `accept` (from the key they sign with) or by the config's `key_fingerprint`;
    /// registering a target without one leaves the pin as it was.
    pub key_fingerprint: Option<String>,
    /// How often the collector re-verifies it.
    pub every_ms: Option<i64>,
    /// When the current baseline was taken (not part of the signed manifest).
    pub baselined_at: Option<i64>,
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
    /// Why the run failed (a signature failure, or the check could not be done).
    pub error: Option<String>,
    /// Of the public key the signature was checked with.
    pub key_fingerprint: Option<String>,
}

/// What an operator should make of a target, loudest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    SignatureInvalid,
    Error,
    Drift(i64),
    Clean,
    NeverVerified,
}

impl Status {
    /// The words for it, as the pane, the detail and `rampart integrity list` say them.
    pub fn label(self) -> String {
        match self {
            Status::SignatureInvalid => "SIGNATURE INVALID".into(),
            Status::Error => "error".into(),
            Status::Drift(n) => format!("drift {n}"),
            Status::Clean => "clean".into(),
            Status::NeverVerified => "never verified".into(),
        }
    }
}

impl Run {
    pub fn status(&self) -> Status {
        let drift = self.modified + self.added + self.removed + self.unreadable;
        match (self.signature_ok, &self.error) {
            (Some(false), _) => Status::SignatureInvalid,
            (_, Some(_)) => Status::Error,
            _ if drift > 0 => Status::Drift(drift),
            _ => Status::Clean,
        }
    }

    /// How long the run took, when it finished.
    pub fn duration_ms(&self) -> Option<i64> {
        self.finished.map(|f| f - self.started)
    }
}

/// One file that differs from the baseline; before/after hold hash, size, mode and owner as JSON.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    pub path: String,
    pub kind: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// One line of the Integrity pane: a target as registered and its newest run, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IntegrityRow {
    pub id: i64,
    pub target: Target,
    pub run_id: Option<i64>,
    pub run: Option<Run>,
}

impl IntegrityRow {
    pub fn status(&self) -> Status {
        self.run.as_ref().map_or(Status::NeverVerified, Run::status)
    }

    /// The pinned key: what a verification trusts (never the key a run found beside the manifest).
    pub fn fingerprint(&self) -> Option<&str> {
        self.target.key_fingerprint.as_deref()
    }

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
     r.signature_ok, r.checked, r.modified, r.added, r.removed, r.unreadable, r.error, r.key_fingerprint, \
     g.pubkey_path, g.key_fingerprint, g.every_ms, g.baselined_at \
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
            error: r.get(14)?,
            key_fingerprint: r.get(15)?,
        }),
        None => None,
    };
    let target = Target {
        name,
        tenant: r.get(2)?,
        root: r.get(3)?,
        manifest_path: r.get(4)?,
        pubkey_path: r.get(16)?,
        key_fingerprint: r.get(17)?,
        every_ms: r.get(18)?,
        baselined_at: r.get(19)?,
    };
    Ok(IntegrityRow { id: r.get(0)?, target, run_id, run })
}

/// Every target with its newest run, in name order.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<IntegrityRow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY g.name"))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// One target with its newest run.
pub fn find(conn: &Connection, name: &str) -> rusqlite::Result<Option<IntegrityRow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE g.name = ?"))?;
    let mut rows = stmt.query_map([name], from_row)?;
    rows.next().transpose()
}

pub fn upsert_target(conn: &Connection, t: &Target) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO integrity_targets (name, tenant, root, manifest_path, pubkey_path, key_fingerprint, every_ms, \
         baselined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT(name) DO UPDATE SET tenant = excluded.tenant, root = excluded.root, \
         manifest_path = excluded.manifest_path, pubkey_path = excluded.pubkey_path, \
         key_fingerprint = coalesce(excluded.key_fingerprint, key_fingerprint), \
         every_ms = coalesce(excluded.every_ms, every_ms), baselined_at = coalesce(excluded.baselined_at, baselined_at)",
    )?
    .execute(params![
        t.name,
        t.tenant,
        t.root,
        t.manifest_path,
        t.pubkey_path,
        t.key_fingerprint,
        t.every_ms,
        t.baselined_at
    ])?;
    Ok(())
}

/// Pins `fingerprint` as target `name`'s key and records when its baseline was taken (by
/// `baseline` or `accept`, in the transaction that audits it). False when there is no such target.
pub fn pin_key(conn: &Connection, name: &str, fingerprint: &str, baselined_at: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("UPDATE integrity_targets SET key_fingerprint = ?, baselined_at = ? WHERE name = ?")?
        .execute(params![fingerprint, baselined_at, name])?;
    Ok(n == 1)
}

/// Stores a finished run and the changes it found; returns the run's id.
pub fn insert_run(conn: &Connection, run: &Run, changes: &[Change]) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO integrity_runs (target, started, finished, signature_ok, checked, modified, added, removed, \
         unreadable, error, key_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        run.unreadable,
        run.error,
        run.key_fingerprint
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

/// The last run of `target`: its id, and its counts checked, modified, added, removed, unreadable.
pub fn last_counts(conn: &Connection, target: &str) -> rusqlite::Result<(i64, [i64; 5])> {
    conn.query_row(
        "SELECT id, checked, modified, added, removed, unreadable FROM integrity_runs WHERE target = ? \
         ORDER BY id DESC LIMIT 1",
        [target],
        |r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?])),
    )
}

pub fn changes_of(conn: &Connection, run: i64) -> rusqlite::Result<Vec<Change>> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, kind, before_json, after_json FROM integrity_changes WHERE run = ? ORDER BY path LIMIT 20000",
    )?;
    let rows = stmt.query_map([run], |r| {
        Ok(Change { path: r.get(0)?, kind: r.get(1)?, before_json: r.get(2)?, after_json: r.get(3)? })
    })?;
    rows.collect()
}
