//! A zone map of the access events: for each block of [`BLOCK`] consecutive ids, the range of
//! times, status codes and sizes its rows hold (and which status codes, folded into 64 bits), and
//! which bytes and byte pairs their text holds (`store::grams`), kept by the collector's indexer
//! in the same chunk transactions as the other indexes (`store::search`). A filter's time
//! window, status, size or text then tells which blocks cannot hold a match, so a search skips
//! them without reading a row, and `since:`/`until:` bound the ids a window can hold by reading
//! a few thousand zones instead of every event in the window.
//!
//! A zone only ever says a block *might* hold a match: rows deleted since, or ids never indexed,
//! make a block look more likely, never less. Ids after the indexed position have no zone and
//! are always searched.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::filter::Needle;
use super::grams::{self, Grams};

/// Ids per block, as a shift: block `b` holds ids `b << 12` through `(b << 12) + 4095`.
pub const BLOCK_SHIFT: u32 = 12;
pub const BLOCK: i64 = 1 << BLOCK_SHIFT;

/// Folds the rows with ids in `(from, upto]` into their blocks' zones (inside the indexer's
/// transaction). The status codes present are one bit each of `status & 63`, or-ed together as
/// the sum of the distinct bits; the text's bytes and pairs as `store::grams` sets, or-ed.
pub const FILL: &str = "INSERT INTO access_blocks \
     (block, min_ts, max_ts, min_status, max_status, statuses, min_bytes, max_bytes, grams) \
     SELECT id >> 12, min(ts), max(ts), min(status), max(status), sum(DISTINCT 1 << (status & 63)), \
            min(bytes), max(bytes), text_grams(path, user_agent, src_ip, user) \
     FROM access_events WHERE id > ?1 AND id <= ?2 GROUP BY id >> 12 \
     ON CONFLICT (block) DO UPDATE SET \
        min_ts = min(min_ts, excluded.min_ts), max_ts = max(max_ts, excluded.max_ts), \
        min_status = min(min_status, excluded.min_status), max_status = max(max_status, excluded.max_status), \
        statuses = statuses | excluded.statuses, \
        min_bytes = min(min_bytes, excluded.min_bytes), max_bytes = max(max_bytes, excluded.max_bytes), \
        grams = grams_or(grams, excluded.grams)";

/// The last event the zones (and the other indexes) cover, or 0 when they are stale: the event
/// there is no longer the one indexed, so its id and those before it may have been handed out
/// again. An expression, so that it is read in the same snapshot as the rows it bounds.
const THROUGH: &str = "ifnull((SELECT CASE WHEN i.ts = (SELECT e.ts FROM access_events e WHERE e.id = i.event) \
     THEN i.event ELSE 0 END FROM access_indexed_through i WHERE i.only = 1), 0)";

/// The last event the zones cover (0 when they are stale, see `THROUGH`).
pub fn through(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached(&format!("SELECT {THROUGH}"))?.query_row([], |r| r.get(0))
}

/// A SQL expression for the lowest id an event at or after `at` (ms) can have: the first block
/// whose zone reaches `at`, or the first id the zones do not cover.
pub fn lowest_id_since(at: i64, params: &mut Vec<Value>) -> String {
    params.push(Value::Integer(at));
    format!(
        "min(ifnull((SELECT min(block) FROM access_blocks WHERE max_ts >= ?), {}) << {BLOCK_SHIFT}, {THROUGH} + 1)",
        i64::MAX >> BLOCK_SHIFT
    )
}

/// A SQL expression for the highest id an event before `at` (ms) can have: the last block whose
/// zone starts before `at`, or the newest such event after the ids the zones cover.
pub fn highest_id_before(at: i64, params: &mut Vec<Value>) -> String {
    params.push(Value::Integer(at));
    params.push(Value::Integer(at));
    format!(
        "max(ifnull(((SELECT max(block) FROM access_blocks WHERE min_ts < ?) << {BLOCK_SHIFT}) + {}, 0), \
         ifnull((SELECT id FROM access_events WHERE id > {THROUGH} AND +ts < ? ORDER BY id DESC LIMIT 1), 0))",
        BLOCK - 1
    )
}

/// What a filter's positive terms (time, status, size, text) require of a block's zone; `None`
/// when it has none of them, so no block can be ruled out.
#[derive(Debug, Clone, PartialEq)]
pub struct Zoned {
    /// A condition on a row of `access_blocks`, and its parameters.
    pub(super) sql: String,
    pub(super) params: Vec<Value>,
}

impl Zoned {
    pub fn of(needles: &[Needle]) -> Option<Zoned> {
        let mut clauses = Vec::new();
        let mut params = Vec::new();
        let mut text = Grams::default();
        let mut any_text = false;
        // Free text (no column) is searched in the text columns, whose bytes a zone keeps.
        let kept = |column: Option<&str>| column.is_none_or(|c| grams::TEXT_COLUMNS.contains(&c));
        for needle in needles {
            match *needle {
                Needle::Text { column, ref pieces } if kept(column) => {
                    for piece in pieces {
                        any_text |= text.require(piece);
                    }
                }
                Needle::Address { column, ref ip } if kept(Some(column)) => any_text |= text.require(ip),
                Needle::Range { column, low, high } => {
                    let (lo, hi) = match column {
                        "ts" => ("min_ts", "max_ts"),
                        "status" => ("min_status", "max_status"),
                        "bytes" => ("min_bytes", "max_bytes"),
                        _ => continue,
                    };
                    clauses.push(format!("{hi} >= ? AND {lo} <= ?"));
                    params.extend([Value::Integer(low), Value::Integer(high)]);
                    if column == "status" && low == high {
                        clauses.push("(statuses >> ?) & 1".into());
                        params.push(Value::Integer(low & 63));
                    }
                }
                _ => {}
            }
        }
        if any_text {
            clauses.push("grams_hold(grams, ?)".into());
            params.push(Value::Blob(text.to_blob()));
        }
        (!clauses.is_empty()).then(|| Zoned { sql: clauses.join(" AND "), params })
    }

    /// The highest id at or below `below` that may hold a match: `below` itself when it lies
    /// after what the zones cover, else the end of the newest block at or below it whose zone
    /// allows a match, or 0 when none does.
    pub fn highest_possible(&self, conn: &Connection, below: i64) -> rusqlite::Result<i64> {
        let through = through(conn)?;
        if below > through || below <= 0 {
            return Ok(below.max(0));
        }
        // Newest block first, stopping at the first that may match.
        let sql =
            format!("SELECT block FROM access_blocks WHERE block <= ? AND ({}) ORDER BY block DESC LIMIT 1", self.sql);
        let mut params = vec![Value::Integer(below >> BLOCK_SHIFT)];
        params.extend(self.params.iter().cloned());
        let block: Option<i64> =
            conn.prepare_cached(&sql)?.query_row(params_from_iter(params), |r| r.get(0)).optional()?;
        Ok(block.map_or(0, |b| below.min((b << BLOCK_SHIFT) + BLOCK - 1)))
    }
}
