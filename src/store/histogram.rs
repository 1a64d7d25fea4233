//! Events over time for the histogram above the Access log and the Alerts pane: counts per
//! interval in four classes, read from the per-minute and per-hour counts the indexer keeps
//! (`access_counts`), so an unfiltered histogram costs what its intervals do, not what the store
//! holds. A filter is counted from the rows its indexes list, else from the newest events only.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::filter::Filter;
use super::window::Listing;

/// The interval one column stands for, finest first: `+` and `-` step through them.
pub const ZOOMS: [i64; 7] = [60_000, 300_000, 900_000, 3_600_000, 6 * 3_600_000, 86_400_000, 7 * 86_400_000];

/// How `ZOOMS[zoom]` reads: `1 min`, `6 h`, `1 day`.
pub fn interval_name(zoom: usize) -> &'static str {
    ["1 min", "5 min", "15 min", "1 h", "6 h", "1 day", "1 week"][zoom.min(ZOOMS.len() - 1)]
}

/// The zoom a pane starts at: a minute per column for events, a quarter of an hour for alerts
/// (which are rarer).
pub fn default_zoom(alerts: bool) -> usize {
    if alerts {
        2
    } else {
        0
    }
}

/// Classes per interval, least severe first: status below 300 (2xx), 3xx, 4xx, 5xx and up; alerts
/// of priority notice and below, warning, error, critical and above.
pub const CLASSES: usize = 4;

/// Events a histogram reads one by one at most: the part of the store the indexer has not
/// counted yet, or a filter its indexes do not serve. Beyond that it says how much it counted.
pub const SCAN_CAP: i64 = 100_000;

/// What to count: `buckets` intervals of `bucket_ms`, the newest one holding the newest event.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub listing: Listing,
    pub filter: Option<Filter>,
    pub bucket_ms: i64,
    pub buckets: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// Where the newest interval ends (exclusive), ms since the epoch.
    pub end_ms: i64,
    pub bucket_ms: i64,
    /// Per interval, oldest first: events per class, least severe first (none when nothing is
    /// stored).
    pub counts: Vec<[u64; CLASSES]>,
    /// Only the newest events were counted: this many of about this many.
    pub partial: Option<(u64, u64)>,
}

impl Histogram {
    /// The largest number of events in one interval.
    pub fn peak(&self) -> u64 {
        self.counts.iter().map(|c| c.iter().sum::<u64>()).max().unwrap_or(0)
    }
}

/// The class of an HTTP status.
pub fn status_class(status: i64) -> usize {
    match status {
        ..=299 => 0,
        300..=399 => 1,
        400..=499 => 2,
        _ => 3,
    }
}

/// The class of a Falco priority rank (0 = Emergency).
pub fn priority_class(rank: i64) -> usize {
    match rank {
        ..=2 => 3,
        3 => 2,
        4 => 1,
        _ => 0,
    }
}

/// Counts what `q` asks for (Access log and Alerts; any other listing gets an empty histogram).
pub fn load(conn: &Connection, q: &Query) -> rusqlite::Result<Histogram> {
    let (table, class): (&str, fn(i64) -> usize) = match q.listing {
        Listing::Access => ("access_events", status_class),
        Listing::Alerts => ("alerts", priority_class),
        _ => return Ok(Histogram::default()),
    };
    let bucket = q.bucket_ms.max(60_000);
    // One aggregate a statement: SQLite reads a max() off an index only when it is alone.
    let max = |column: &str| -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached(&format!("SELECT max({column}) FROM {table}"))?.query_row([], |r| r.get(0))
    };
    let newest = match (max("id")?, q.listing) {
        (Some(id), Listing::Access) => newest_access_ts(conn, id)?.map(|ts| (ts, id)),
        (Some(id), _) => max("ts")?.map(|ts| (ts, id)),
        (None, _) => None,
    };
    let Some((newest_ts, newest_id)) = newest else {
        // Nothing stored: no intervals to show.
        return Ok(Histogram { bucket_ms: bucket, ..Default::default() });
    };
    let end = newest_ts.div_euclid(bucket) * bucket + bucket;
    let mut h = Histogram { end_ms: end, bucket_ms: bucket, counts: vec![[0; CLASSES]; q.buckets], partial: None };
    let begin = end - bucket * q.buckets as i64;
    let column = if q.listing == Listing::Access { "status" } else { "priority" };
    let narrowed = match (&q.filter, q.listing) {
        (Some(f), Listing::Access) => super::search::narrow(conn, f)?,
        _ => None,
    };
    match (&q.filter, narrowed, q.listing) {
        (None, _, Listing::Access) => {
            // Counted up to the indexed position; the events after it are read, the newest first.
            let (through, valid) = super::indexer::position(conn)?;
            let through = if valid { through.min(newest_id) } else { 0 };
            if through > 0 {
                add_counts(conn, &mut h, begin)?;
            }
            let from = through.max(newest_id - SCAN_CAP);
            add_rows(conn, &mut h, begin, class, &rows_sql(table, column, from, None), vec![])?;
            if from > through {
                h.partial = Some(((through + newest_id - from) as u64, newest_id as u64));
            }
        }
        (Some(_), Some(narrowed), _) => {
            add_rows(conn, &mut h, begin, class, &rows_sql(table, column, 0, Some(&narrowed)), narrowed.params)?;
        }
        (filter, _, _) => {
            let from = (newest_id - SCAN_CAP).max(0);
            let params = filter.as_ref().map(|f| f.params.clone()).unwrap_or_default();
            add_rows(conn, &mut h, begin, class, &rows_sql(table, column, from, filter.as_ref()), params)?;
            // Rows arrive roughly in time order: when the newest row left out is older than the
            // histogram, nothing in it was left out.
            let left_out: Option<i64> = conn
                .query_row(&format!("SELECT ts FROM {table} WHERE id <= ? ORDER BY id DESC LIMIT 1"), [from], |r| {
                    r.get(0)
                })
                .optional()?;
            if left_out.is_some_and(|ts| ts >= begin) {
                h.partial = Some(((newest_id - from) as u64, newest_id as u64));
            }
        }
    }
    Ok(h)
}

/// The newest access event's time. Access events have no time index (schema 22), and `max(ts)`
/// would read every row: the zones give the newest time of the events they cover, and the events
/// after those are read, no more than the newest [`SCAN_CAP`] of them (as their counts are).
fn newest_access_ts(conn: &Connection, newest_id: i64) -> rusqlite::Result<Option<i64>> {
    let through = super::zones::through(conn)?;
    let zoned: Option<i64> = if through > 0 {
        conn.prepare_cached("SELECT max(max_ts) FROM access_blocks WHERE block <= ?")?
            .query_row([through >> super::zones::BLOCK_SHIFT], |r| r.get(0))?
    } else {
        None
    };
    let from = through.max(newest_id - SCAN_CAP);
    let after: Option<i64> =
        conn.prepare_cached("SELECT max(ts) FROM access_events WHERE id > ?")?.query_row([from], |r| r.get(0))?;
    Ok(zoned.max(after))
}

/// Rows after id `from` inside the histogram's time window (bound as the first two parameters)
/// that the filter keeps: their time and class column. The time terms are kept off the time
/// index (`+ts`): a window of weeks would walk all of it, while the ids after `from` are few.
fn rows_sql(table: &str, column: &str, from: i64, filter: Option<&Filter>) -> String {
    let filter = filter.map(|f| format!(" AND ({})", f.sql)).unwrap_or_default();
    format!("SELECT ts, {column} FROM {table} WHERE +ts >= ? AND +ts < ? AND id > {from}{filter}")
}

fn add_rows(
    conn: &Connection,
    h: &mut Histogram,
    begin: i64,
    class: fn(i64) -> usize,
    sql: &str,
    params: Vec<Value>,
) -> rusqlite::Result<()> {
    let mut all = vec![Value::Integer(begin), Value::Integer(h.end_ms)];
    all.extend(params);
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(all))?;
    while let Some(r) = rows.next()? {
        let (ts, value): (i64, i64) = (r.get(0)?, r.get(1)?);
        let at = ((ts - begin) / h.bucket_ms) as usize;
        if let Some(slot) = h.counts.get_mut(at) {
            slot[class(value)] += 1;
        }
    }
    Ok(())
}

/// The indexer's counts inside the window, per hour when an interval is whole hours.
fn add_counts(conn: &Connection, h: &mut Histogram, begin: i64) -> rusqlite::Result<()> {
    let span: i64 = if h.bucket_ms % 3_600_000 == 0 { 3_600_000 } else { 60_000 };
    let mut stmt = conn.prepare_cached(
        "SELECT (start - ?1) / ?2, status, sum(n) FROM access_counts \
         WHERE span = ?3 AND start >= ?1 AND start < ?4 GROUP BY 1, 2",
    )?;
    let mut rows = stmt.query([begin, h.bucket_ms, span, h.end_ms])?;
    while let Some(r) = rows.next()? {
        let (at, status, n): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        if let Some(slot) = usize::try_from(at).ok().and_then(|at| h.counts.get_mut(at)) {
            slot[status_class(status)] += n.max(0) as u64;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::access::{self, AccessEvent};
    use crate::store::indexer::{catch_up, index_chunk};

    fn events(n: usize, start: i64) -> Vec<AccessEvent> {
        (0..n).map(|i| AccessEvent { ts: start + (i as i64 % 7) * 1000, status: 200, ..Default::default() }).collect()
    }

    /// Without a time index the newest time comes from the zones and the events after them: the
    /// same as `max(ts)` whether nothing, part or all of the store is indexed, with the newest
    /// event among the oldest ids (a late import after it) or among the newest.
    #[test]
    fn the_newest_access_time_is_max_ts_through_the_zones() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("s.db"), crate::store::Access::ReadWrite).unwrap();
        access::insert_many(&conn, &events(9_000, 1_790_000_500_000)).unwrap();
        access::insert_many(&conn, &events(20_000, 1_700_000_000_000)).unwrap();
        let truth = |conn: &Connection| -> (Option<i64>, i64) {
            conn.query_row("SELECT max(ts), max(id) FROM access_events", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
        };
        let check = |conn: &Connection, when: &str| {
            let (max_ts, newest_id) = truth(conn);
            assert_eq!(newest_access_ts(conn, newest_id).unwrap(), max_ts, "{when}");
        };
        check(&conn, "nothing indexed");
        index_chunk(&crate::store::index_db::open_writer_beside(&conn).unwrap(), 10_000).unwrap();
        check(&conn, "the newest event's block indexed, the late import not");
        catch_up(&conn).unwrap();
        check(&conn, "all indexed");
        access::insert_many(&conn, &events(5, 1_790_009_000_000)).unwrap();
        check(&conn, "newer events after the indexed ones");
        let h = load(&conn, &Query { listing: Listing::Access, filter: None, bucket_ms: 60_000, buckets: 10 }).unwrap();
        assert_eq!(h.end_ms, 1_790_009_040_000, "the histogram ends after the newest event's minute");
    }
}
