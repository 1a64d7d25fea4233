//! The small aggregate the header and the Alerts pane title show: unacknowledged alerts per
//! priority, alerts per minute over the last hour, source health, and the integrity targets whose
//! manifest's signature is invalid.

use rusqlite::Connection;

use super::status::{self, SourceStatus};

/// Minutes covered by the alerts sparkline.
pub const SPARK_MINUTES: usize = 60;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overview {
    /// Unacknowledged alerts per priority rank (0 = Emergency).
    pub unacked: [u64; 8],
    /// Alerts per minute, oldest first; the last entry is the current minute.
    pub per_minute: Vec<u64>,
    pub sources: Vec<SourceStatus>,
    /// Integrity targets whose newest run found the manifest's signature invalid: the loudest state.
    pub signature_invalid: Vec<String>,
}

pub fn load(conn: &Connection, now_ms: i64) -> rusqlite::Result<Overview> {
    let mut unacked = [0u64; 8];
    let mut stmt =
        conn.prepare_cached("SELECT priority, count(*) FROM alerts WHERE acked_at IS NULL GROUP BY priority")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (rank, n) = row?;
        if let Some(slot) = unacked.get_mut(rank.clamp(0, 7) as usize) {
            *slot += n.max(0) as u64;
        }
    }
    let minute = 60_000;
    let end = now_ms - now_ms.rem_euclid(minute) + minute;
    let start = end - SPARK_MINUTES as i64 * minute;
    let mut per_minute = vec![0u64; SPARK_MINUTES];
    let mut stmt =
        conn.prepare_cached("SELECT (ts - ?1) / 60000, count(*) FROM alerts WHERE ts >= ?1 AND ts < ?2 GROUP BY 1")?;
    for row in stmt.query_map([start, end], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (bucket, n) = row?;
        if let Some(slot) = per_minute.get_mut(bucket as usize) {
            *slot = n.max(0) as u64;
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT g.name FROM integrity_targets g JOIN integrity_runs r \
         ON r.id = (SELECT max(id) FROM integrity_runs WHERE target = g.name) \
         WHERE r.signature_ok = 0 ORDER BY g.name LIMIT 20",
    )?;
    let signature_invalid = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(Overview { unacked, per_minute, sources: status::list(conn)?, signature_invalid })
}
