//! The audit log: append-only (triggers refuse UPDATE and DELETE) and hash-chained, so that
//! `rampart audit verify` finds a row that was changed, removed or inserted behind rampart's back.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, Row};
use sha2::{Digest, Sha256};

use super::filter::{Field, FieldKind, Fields, KeyBound, Time};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an operator did, before it is chained into the log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewEntry {
    pub ts: i64,
    pub operator: String,
    pub ssh_client: Option<String>,
    pub host: String,
    pub action: String,
    pub target: String,
    pub reason: Option<String>,
    pub outcome: String,
    pub detail_json: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditRow {
    pub id: i64,
    pub new: NewEntry,
    pub prev_hash: String,
    pub hash: String,
}

pub const FIELDS: Fields = Fields {
    fields: &[
        Field { name: "operator", column: "operator", kind: FieldKind::Text },
        Field { name: "action", column: "action", kind: FieldKind::Text },
        Field { name: "target", column: "target", kind: FieldKind::Text },
        Field { name: "outcome", column: "outcome", kind: FieldKind::Text },
        Field { name: "host", column: "host", kind: FieldKind::Text },
    ],
    free_text: &["operator", "action", "target", "reason", "outcome", "detail_json"],
    time: Some(Time { column: "ts", key_bound: KeyBound::None }),
};

pub const SELECT: &str = "SELECT id, ts, operator, ssh_client, host, action, target, reason, outcome, \
     detail_json, prev_hash, hash FROM audit";

pub fn from_row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        new: NewEntry {
            ts: r.get(1)?,
            operator: r.get(2)?,
            ssh_client: r.get(3)?,
            host: r.get(4)?,
            action: r.get(5)?,
            target: r.get(6)?,
            reason: r.get(7)?,
            outcome: r.get(8)?,
            detail_json: r.get(9)?,
        },
        prev_hash: r.get(10)?,
        hash: r.get(11)?,
    })
}

/// The columns a row's hash is taken over, in order: its id, every field and the previous row's
/// hash ([`chained`] gives their values).
const CHAINED: &str = "id, ts, operator, ssh_client, host, action, target, reason, outcome, detail_json, prev_hash";

/// The values of [`CHAINED`]'s columns for a row: what its hash is taken over and what is inserted,
/// written once.
fn chained(id: i64, e: &NewEntry, prev_hash: &str) -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!(id),
        json!(e.ts),
        json!(e.operator),
        json!(e.ssh_client),
        json!(e.host),
        json!(e.action),
        json!(e.target),
        json!(e.reason),
        json!(e.outcome),
        json!(e.detail_json),
        json!(prev_hash),
    ]
}

/// The hash of a row: SHA-256 over the JSON array of its [`chained`] values.
fn chain_hash(id: i64, e: &NewEntry, prev_hash: &str) -> String {
    let canonical = serde_json::Value::Array(chained(id, e, prev_hash));
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Appends an entry. Call inside a write transaction (`BEGIN IMMEDIATE`), so that the chain stays
/// whole when several processes write to one store.
pub fn append(conn: &Connection, e: &NewEntry) -> rusqlite::Result<AuditRow> {
    let (last_id, prev_hash): (i64, String) = conn
        .query_row("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((0, GENESIS.to_string())),
            e => Err(e),
        })?;
    let id = last_id + 1;
    let hash = chain_hash(id, e, &prev_hash);
    let sql = |v: serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_i64().map_or(SqlValue::Null, SqlValue::Integer),
        serde_json::Value::String(s) => SqlValue::Text(s),
        _ => SqlValue::Null,
    };
    let mut values: Vec<SqlValue> = chained(id, e, &prev_hash).into_iter().map(sql).collect();
    values.push(SqlValue::Text(hash.clone()));
    conn.prepare_cached(&format!("INSERT INTO audit ({CHAINED}, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))?
        .execute(params_from_iter(values))?;
    Ok(AuditRow { id, new: e.clone(), prev_hash, hash })
}

/// Which store this is: the random id made when the store was created, which every message the
/// publisher sends carries, so a host's stream tells this store's rows (and audit chain) from
/// another store's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub created_at: i64,
    /// The store had published before it had an id: the stream's messages without one are its own.
    pub adopts_unlabeled: bool,
}

/// The store's identity; `None` when its row (or table) is gone, which only tampering does.
pub fn identity(conn: &Connection) -> rusqlite::Result<Option<Identity>> {
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'store_identity'",
        [],
        |r| r.get(0),
    )?;
    if tables == 0 {
        return Ok(None);
    }
    let found = conn.query_row("SELECT id, created_at, adopts_unlabeled FROM store_identity WHERE only = 1", [], |r| {
        Ok(Identity { id: r.get(0)?, created_at: r.get(1)?, adopts_unlabeled: r.get(2)? })
    });
    match found {
        Ok(identity) => Ok(Some(identity)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The triggers that keep the audit log append-only and the store's identity fixed: name, table,
/// and their SQL as the migrations made them (white space aside).
const GUARDS: &[(&str, &str, &str)] = &[
    (
        "audit_no_update",
        "audit",
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
    (
        "audit_no_delete",
        "audit",
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
    (
        "store_identity_no_update",
        "store_identity",
        "CREATE TRIGGER store_identity_no_update BEFORE UPDATE ON store_identity BEGIN SELECT RAISE(ABORT, 'a store''s identity never changes'); END",
    ),
    (
        "store_identity_no_delete",
        "store_identity",
        "CREATE TRIGGER store_identity_no_delete BEFORE DELETE ON store_identity BEGIN SELECT RAISE(ABORT, 'a store''s identity never changes'); END",
    ),
];

/// What is wrong with the guards of the audit log and of the store's identity: each trigger that
/// is missing or is no longer the one rampart made (a guard dropped, or replaced by one that lets
/// everything through, is how rows are deleted or changed without a trace in the chain).
pub fn guard_problems(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let words = |sql: &str| sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut problems = Vec::new();
    let mut stmt = conn.prepare("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND name = ?")?;
    for (name, table, sql) in GUARDS {
        let found: Option<(String, Option<String>)> = match stmt.query_row([name], |r| Ok((r.get(0)?, r.get(1)?))) {
            Ok(found) => Some(found),
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            Err(e) => return Err(e),
        };
        match found {
            None => problems.push(format!(
                "the guard trigger {name} on table {table} is MISSING — it was dropped, so rows of {table} could be changed or deleted unseen"
            )),
            Some((on, text)) if on != *table || text.as_deref().map(words).as_deref() != Some(*sql) => {
                problems.push(format!(
                    "the guard trigger {name} on table {table} was REPLACED by another one — rows of {table} could be changed or deleted unseen"
                ))
            }
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// The newest rows that `filter` keeps (by time, then id), at most `limit`.
pub fn newest(
    conn: &Connection,
    filter: Option<&super::filter::Filter>,
    limit: usize,
) -> rusqlite::Result<Vec<AuditRow>> {
    let (condition, mut params) = match filter {
        Some(f) => (format!(" WHERE ({})", f.sql), f.params.clone()),
        None => (String::new(), Vec::new()),
    };
    params.push(rusqlite::types::Value::Integer(limit.try_into().unwrap_or(i64::MAX)));
    let mut stmt = conn.prepare(&format!("{SELECT}{condition} ORDER BY ts DESC, id DESC LIMIT ?"))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), from_row)?;
    rows.collect()
}

/// How many rows `filter` keeps, counted up to `cap`.
pub fn count(conn: &Connection, filter: Option<&super::filter::Filter>, cap: usize) -> rusqlite::Result<usize> {
    let (condition, mut params) = match filter {
        Some(f) => (format!(" WHERE ({})", f.sql), f.params.clone()),
        None => (String::new(), Vec::new()),
    };
    params.push(rusqlite::types::Value::Integer(cap.try_into().unwrap_or(i64::MAX)));
    let sql = format!("SELECT count(*) FROM (SELECT 1 FROM audit{condition} LIMIT ?)");
    let n: i64 = conn.query_row(&sql, rusqlite::params_from_iter(params.iter()), |r| r.get(0))?;
    Ok(n.try_into().unwrap_or(0))
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub rows: u64,
    /// The first row that does not fit the chain, and why.
    pub first_break: Option<(i64, String)>,
}

/// Walks the whole log and checks every link.
pub fn verify(conn: &Connection) -> rusqlite::Result<Verification> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    let mut expected_prev = GENESIS.to_string();
    let mut expected_id = 1;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let entry = from_row(row)?;
        count += 1;
        let problem = if entry.id != expected_id {
            Some(format!("row {} is missing (found {} next)", expected_id, entry.id))
        } else if entry.prev_hash != expected_prev {
            Some("its prev_hash does not match the row before it".to_string())
        } else if entry.hash != chain_hash(entry.id, &entry.new, &entry.prev_hash) {
            Some("its content does not match its hash (the row was changed)".to_string())
        } else {
            None
        };
        if let Some(why) = problem {
            return Ok(Verification { rows: count, first_break: Some((entry.id, why)) });
        }
        expected_prev = entry.hash;
        expected_id += 1;
    }
    Ok(Verification { rows: count, first_break: None })
}

/// Every row's id and hash, in id order (what the published copy is compared with).
pub fn hashes(conn: &Connection) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare("SELECT id, hash FROM audit ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// What comparing the local log with its off-host copy found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comparison {
    /// Differences that mean the local log lost or changed rows.
    pub broken: Vec<String>,
    /// Differences that are only lag (rows not published yet).
    pub notes: Vec<String>,
}

/// Compares the local `(id, hash)` rows with the published ones (both in id order): published rows
/// missing locally at either end (deleted from the end, or the table emptied), rows whose hashes
/// differ (a rewritten chain), and local rows not published yet.
pub fn compare(local: &[(i64, String)], published: &[(i64, String)]) -> Comparison {
    let mut c = Comparison::default();
    let range = |rows: &[(i64, String)]| rows.first().zip(rows.last()).map(|(a, b)| (a.0, b.0));
    let (Some((pub_first, pub_last)), local_range) = (range(published), range(local)) else {
        if !local.is_empty() {
            c.notes.push(format!("none of the {} local rows is published yet", local.len()));
        }
        return c;
    };
    let Some((first, last)) = local_range else {
        c.broken.push(format!(
            "the local audit log is EMPTY, but {} rows ({pub_first}..{pub_last}) were published — the table was emptied",
            published.len()
        ));
        return c;
    };
    let span = |a: i64, b: i64| if a == b { format!("row {a} is") } else { format!("rows {a}..{b} are") };
    if pub_first < first {
        c.broken.push(format!(
            "{} published but missing from the start of the local log",
            span(pub_first, (first - 1).min(pub_last))
        ));
    }
    if pub_last > last {
        c.broken.push(format!(
            "{} published but missing from the end of the local log (deleted from its end)",
            span((last + 1).max(pub_first), pub_last)
        ));
    }
    let local_by_id: std::collections::HashMap<i64, &str> = local.iter().map(|(i, h)| (*i, h.as_str())).collect();
    let differing: Vec<i64> = published
        .iter()
        .filter(|(id, hash)| local_by_id.get(id).is_some_and(|h| *h != hash))
        .map(|(id, _)| *id)
        .collect();
    if let Some(id) = differing.first() {
        c.broken.push(format!(
            "{} rows differ from their published copies, the first is row {id} (the local chain was rewritten)",
            differing.len()
        ));
    }
    if last > pub_last {
        c.notes.push(format!("{} not published yet", span((pub_last + 1).max(first), last)));
    }
    c
}

/// Local rows whose `(id, hash)` another store published: a chain is its store's alone (each hash
/// covers the row's time and everything before it), so this log's rows under another store's id
/// mean this store's id was changed. Says which store and how many rows.
pub fn published_by_another(
    local: &[(i64, String)],
    others: &std::collections::BTreeMap<String, Vec<(i64, String)>>,
) -> Vec<String> {
    let mine: std::collections::HashSet<(i64, &str)> = local.iter().map(|(i, h)| (*i, h.as_str())).collect();
    others
        .iter()
        .filter_map(|(store, rows)| {
            let shared: Vec<i64> =
                rows.iter().filter(|(i, h)| mine.contains(&(*i, h.as_str()))).map(|(i, _)| *i).collect();
            let first = shared.first()?;
            Some(format!(
                "{} local rows (the first is row {first}) were published by store {store}, not by this store \
                 (its id was changed)",
                shared.len()
            ))
        })
        .collect()
}

#[cfg(test)]
mod compare_tests {
    use super::*;

    fn rows(ids: std::ops::RangeInclusive<i64>) -> Vec<(i64, String)> {
        ids.map(|i| (i, format!("h{i}"))).collect()
    }

    #[test]
    fn rows_missing_at_either_end_or_rewritten_are_broken_and_lag_is_a_note() {
        assert_eq!(compare(&rows(1..=5), &rows(1..=5)), Comparison::default());
        let c = compare(&rows(1..=3), &rows(1..=5));
        assert_eq!(
            c.broken,
            ["rows 4..5 are published but missing from the end of the local log (deleted from its end)"]
        );
        let c = compare(&[], &rows(1..=5));
        assert_eq!(
            c.broken,
            ["the local audit log is EMPTY, but 5 rows (1..5) were published — the table was emptied"]
        );
        let c = compare(&rows(1..=6), &rows(1..=5));
        assert!(c.broken.is_empty());
        assert_eq!(c.notes, ["row 6 is not published yet"]);
        let mut rewritten = rows(1..=5);
        rewritten[2].1 = "other".into();
        assert_eq!(compare(&rewritten, &rows(1..=5)).broken.len(), 1);
    }
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    #[test]
    fn a_dropped_or_replaced_guard_is_reported_and_the_store_has_an_identity() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("s.db"), crate::store::Access::ReadWrite).unwrap();
        assert_eq!(guard_problems(&conn).unwrap(), Vec::<String>::new());
        let me = identity(&conn).unwrap().unwrap();
        assert_eq!(me.id.len(), 32);
        assert!(!me.adopts_unlabeled, "a new store has published nothing");
        conn.execute_batch(
            "DROP TRIGGER audit_no_delete; DROP TRIGGER audit_no_update;
             CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT 1; END;",
        )
        .unwrap();
        let problems = guard_problems(&conn).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("audit_no_update on table audit was REPLACED"), "{problems:?}");
        assert!(problems[1].contains("audit_no_delete on table audit is MISSING"), "{problems:?}");
        let other = crate::store::open(&dir.path().join("t.db"), crate::store::Access::ReadWrite).unwrap();
        assert_ne!(identity(&other).unwrap().unwrap().id, me.id, "each store its own id");
    }

    #[test]
    fn a_store_that_published_before_stores_had_ids_owns_the_unlabeled_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        // A store as the release before store ids left it, after it had published.
        let migrations = crate::store::schema::MIGRATIONS;
        let version = migrations.iter().position(|m| m.contains("CREATE TABLE store_identity")).unwrap();
        let conn = Connection::open(&path).unwrap();
        for m in &migrations[..version] {
            conn.execute_batch(m).unwrap();
        }
        conn.execute_batch(&format!(
            "PRAGMA user_version = {version};
             INSERT INTO cursors (source, position) VALUES ('cloudwatch-publish:/rampart/h', '{{}}');"
        ))
        .unwrap();
        assert_eq!(identity(&conn).unwrap(), None);
        drop(conn);
        let conn = crate::store::open(&path, crate::store::Access::ReadWrite).unwrap();
        assert!(identity(&conn).unwrap().unwrap().adopts_unlabeled);
        assert_eq!(guard_problems(&conn).unwrap(), Vec::<String>::new());
    }
}
