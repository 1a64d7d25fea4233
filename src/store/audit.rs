//! The audit log: append-only (triggers refuse UPDATE and DELETE) and hash-chained, so that
//! `rampart audit verify` finds a row that was changed, removed or inserted behind rampart's back.

use rusqlite::{params, Connection, Row};
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
pub struct Entry {
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

pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
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

/// The hash of a row: SHA-256 over its id, every field and the previous row's hash.
fn chain_hash(id: i64, e: &NewEntry, prev_hash: &str) -> String {
    let canonical = serde_json::json!([
        id,
        e.ts,
        e.operator,
        e.ssh_client,
        e.host,
        e.action,
        e.target,
        e.reason,
        e.outcome,
        e.detail_json,
        prev_hash
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Appends an entry. Call inside a write transaction (`BEGIN IMMEDIATE`), so that the chain stays
/// whole when several processes write to one store.
pub fn append(conn: &Connection, e: &NewEntry) -> rusqlite::Result<Entry> {
    let (last_id, prev_hash): (i64, String) = conn
        .query_row("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((0, GENESIS.to_string())),
            e => Err(e),
        })?;
    let id = last_id + 1;
    let hash = chain_hash(id, e, &prev_hash);
    conn.prepare_cached(
        "INSERT INTO audit (id, ts, operator, ssh_client, host, action, target, reason, outcome, detail_json, prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        id,
        e.ts,
        e.operator,
        e.ssh_client,
        e.host,
        e.action,
        e.target,
        e.reason,
        e.outcome,
        e.detail_json,
        prev_hash,
        hash
    ])?;
    Ok(Entry { id, new: e.clone(), prev_hash, hash })
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
