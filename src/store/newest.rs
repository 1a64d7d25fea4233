//! The newest alerts or access events by their own time (not by arrival: imports arrive late) that
//! a filter keeps, and how many more it keeps: what the headless lists print.
//!
//! Alerts are read through their time index. Access events have none (schema version 22: every
//! stored row paid for it); they are read in the zone map's time order instead (`store::zones`):
//! first the events no zone covers yet, then block by block from the block whose newest event is
//! newest, until the next block's newest event is older than the last of the rows kept.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::access::{self, AccessEvent};
use super::alerts;
use super::filter::Filter;
use super::window::Row;
use super::zones::{self, Zoned};

/// A stream a headless list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Alerts,
    Access,
}

impl Stream {
    fn table(self) -> &'static str {
        match self {
            Stream::Alerts => "alerts",
            Stream::Access => "access_events",
        }
    }
}

fn condition(filter: Option<&Filter>) -> (String, Vec<Value>) {
    match filter {
        Some(f) => (format!(" WHERE ({})", f.sql), f.params.clone()),
        None => (String::new(), Vec::new()),
    }
}

/// Up to `limit` rows of `stream` that `filter` keeps, newest first by time (ties newest id first).
pub fn by_time(conn: &Connection, stream: Stream, filter: Option<&Filter>, limit: usize) -> rusqlite::Result<Vec<Row>> {
    match stream {
        Stream::Alerts => {
            let (condition, mut params) = condition(filter);
            params.push(Value::Integer(limit as i64));
            let sql = format!("{}{condition} ORDER BY ts DESC, id DESC LIMIT ?", alerts::SELECT);
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(params.iter()), |r| alerts::from_row(r).map(Row::Alert))?;
            rows.collect()
        }
        Stream::Access => Ok(access_by_time(conn, filter, limit)?.into_iter().map(Row::Access).collect()),
    }
}

/// The access events of [`by_time`], read in the zones' time order: only each candidate's time
/// and id, then the whole rows of those kept (a sort of full rows, as SQLite would make of the
/// events no zone covers yet, builds every row it looks at).
fn access_by_time(conn: &Connection, filter: Option<&Filter>, limit: usize) -> rusqlite::Result<Vec<AccessEvent>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let (condition, params) = match filter {
        Some(f) => (format!(" AND ({})", f.sql), f.params.clone()),
        None => (String::new(), Vec::new()),
    };
    let sql = format!(
        "SELECT ts, id FROM access_events WHERE id BETWEEN ? AND ?{condition} ORDER BY ts DESC, id DESC LIMIT {limit}"
    );
    let mut between = conn.prepare(&sql)?;
    // The newest (time, id) pairs so far, newest first.
    let mut kept: Vec<(i64, i64)> = Vec::new();
    let mut read = |from: i64, to: i64, kept: &mut Vec<(i64, i64)>| -> rusqlite::Result<()> {
        let mut all = vec![Value::Integer(from), Value::Integer(to)];
        all.extend(params.iter().cloned());
        for pair in between.query_map(params_from_iter(all), |r| Ok((r.get(0)?, r.get(1)?)))? {
            kept.push(pair?);
        }
        kept.sort_unstable_by_key(|&pair| std::cmp::Reverse(pair));
        kept.truncate(limit);
        Ok(())
    };
    if filter.is_some_and(|f| f.listed) {
        // The index's few rows, found by id and sorted.
        read(0, i64::MAX, &mut kept)?;
        return whole_rows(conn, &kept);
    }
    let through = zones::through(conn)?;
    read(through + 1, i64::MAX, &mut kept)?;
    // The blocks a match may lie in, newest first by their newest event.
    let zoned = filter.and_then(|f| Zoned::of(&f.needles));
    let (rule, mut block_params) = match &zoned {
        Some(z) => (format!(" AND ({})", z.sql), z.params.clone()),
        None => (String::new(), Vec::new()),
    };
    block_params.insert(0, Value::Integer(through >> zones::BLOCK_SHIFT));
    let mut blocks = conn.prepare(&format!(
        "SELECT block, max_ts FROM access_blocks WHERE block <= ?{rule} ORDER BY max_ts DESC, block DESC"
    ))?;
    let mut newest_first = blocks.query(params_from_iter(block_params))?;
    while let Some(zone) = newest_first.next()? {
        let (block, newest): (i64, i64) = (zone.get(0)?, zone.get(1)?);
        if kept.len() == limit && kept.last().is_some_and(|&(ts, _)| newest < ts) {
            break;
        }
        let first = block << zones::BLOCK_SHIFT;
        read(first, (first + zones::BLOCK - 1).min(through), &mut kept)?;
    }
    whole_rows(conn, &kept)
}

/// The whole rows of `kept`'s ids, in its order. A row deleted since it was listed (a store whose
/// newest events were dropped) is left out.
fn whole_rows(conn: &Connection, kept: &[(i64, i64)]) -> rusqlite::Result<Vec<AccessEvent>> {
    let mut row = conn.prepare_cached(&format!("{} WHERE id = ?", access::SELECT))?;
    let rows = kept.iter().map(|&(_, id)| row.query_row([id], access::from_row).optional());
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.into_iter().flatten().collect())
}

/// How many rows of `stream` `filter` keeps, counted no further than `cap`.
pub fn count_up_to(conn: &Connection, stream: Stream, filter: Option<&Filter>, cap: usize) -> rusqlite::Result<usize> {
    let (condition, params) = condition(filter);
    let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {}{condition} LIMIT {cap})", stream.table());
    conn.query_row(&sql, params_from_iter(params.iter()), |r| r.get::<_, i64>(0)).map(|n| n as usize)
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::store::filter::compile;
    use crate::store::indexer::{catch_up, index_chunk};

    /// What the time index answered: every row the filter keeps, sorted.
    fn sorted(conn: &Connection, filter: Option<&Filter>, limit: usize) -> Vec<(i64, i64)> {
        let (condition, params) = condition(filter);
        let sql = format!("SELECT ts, id FROM access_events{condition} ORDER BY ts DESC, id DESC LIMIT {limit}");
        let mut stmt = conn.prepare(&sql).unwrap();
        stmt.query_map(params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }

    fn listed(conn: &Connection, filter: Option<&Filter>, limit: usize) -> Vec<(i64, i64)> {
        let rows = by_time(conn, Stream::Access, filter, limit).unwrap();
        rows.into_iter()
            .map(|r| match r {
                Row::Access(e) => (e.ts, e.id),
                other => panic!("not an access event: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_newest_access_events_by_time_through_the_zones_as_the_index_gave_them() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("s.db"), crate::store::Access::ReadWrite).unwrap();
        let mut rng = SmallRng::seed_from_u64(21);
        // Live rows, then an old log imported late, then live rows again: ids and times disagree,
        // and many rows share a time (a second's worth of requests), so ties are broken by id.
        let mut events = Vec::new();
        for (n, start) in [(9_000, 1_790_000_000_000), (12_000, 1_700_000_000_000), (7_000, 1_790_000_500_000)] {
            let mut ts = start;
            for _ in 0..n {
                ts += rng.gen_range(0..3) * 1000;
                events.push(AccessEvent {
                    ts,
                    src_ip: format!("203.0.113.{}", rng.gen_range(1..9)),
                    path: ["/login", "/", "/api"][rng.gen_range(0..3)].into(),
                    status: [200, 401, 404][rng.gen_range(0..3)],
                    ..Default::default()
                });
            }
        }
        access::insert_many(&conn, &events).unwrap();
        let filters =
            ["", "status:401", "ip:203.0.113.4 path:/login", "since:2026-09-01 until:2026-09-22", "status:500"];
        let now = 1_790_001_000_000;
        // Nothing indexed (all of it the tail), part of it, all of it.
        for step in [None, Some(10_000), Some(i64::MAX)] {
            match step {
                Some(rows) if rows < i64::MAX => {
                    index_chunk(&crate::store::index_db::open_writer_beside(&conn).unwrap(), rows).unwrap();
                }
                Some(_) => {
                    catch_up(&conn).unwrap();
                }
                None => {}
            }
            for text in filters {
                let filter = compile(text, &access::FIELDS, now).unwrap();
                for limit in [0, 1, 50, 5_000] {
                    let want = sorted(&conn, filter.as_ref(), limit);
                    assert_eq!(listed(&conn, filter.as_ref(), limit), want, "{text:?}, {limit} rows, indexed {step:?}");
                }
            }
        }
        assert_eq!(listed(&conn, None, 3).len(), 3);
    }
}
