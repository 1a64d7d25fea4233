//! The newest alerts or access events by their own time (not by arrival: imports arrive late) that
//! a filter keeps, and how many more it keeps: what the headless lists print.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::filter::Filter;
use super::window::Row;
use super::{access, alerts};

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

/// Up to `limit` rows of `stream` that `filter` keeps, newest first by time.
pub fn by_time(conn: &Connection, stream: Stream, filter: Option<&Filter>, limit: usize) -> rusqlite::Result<Vec<Row>> {
    let select = match stream {
        Stream::Alerts => alerts::SELECT,
        Stream::Access => access::SELECT,
    };
    let (condition, mut params) = condition(filter);
    params.push(Value::Integer(limit as i64));
    let mut stmt = conn.prepare(&format!("{select}{condition} ORDER BY ts DESC, id DESC LIMIT ?"))?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| match stream {
        Stream::Alerts => alerts::from_row(r).map(Row::Alert),
        Stream::Access => access::from_row(r).map(Row::Access),
    })?;
    rows.collect()
}

/// How many rows of `stream` `filter` keeps, counted no further than `cap`.
pub fn count_up_to(conn: &Connection, stream: Stream, filter: Option<&Filter>, cap: usize) -> rusqlite::Result<usize> {
    let (condition, params) = condition(filter);
    let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {}{condition} LIMIT {cap})", stream.table());
    conn.query_row(&sql, params_from_iter(params.iter()), |r| r.get::<_, i64>(0)).map(|n| n as usize)
}
