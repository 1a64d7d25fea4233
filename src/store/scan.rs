//! A filtered Access log window that no index answers quickly (a rare status or size, text under
//! three characters, negations only, a store the indexer has not caught up with), searched newest
//! first in slices of ids: the rows found so far show at once, and the pane says how far the
//! search has got; blocks of ids whose zones rule out a match (`store::zones`: by time, status,
//! size or the bytes of their text) are passed over unread. The filter's own SQL decides every
//! row, so the rows are the plain query's.

use std::time::{Duration, Instant};

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, ErrorCode};

use super::access;
use super::filter::Filter;
use super::window::{self, Around, Listing, Page, Query, Row, Searched};
use super::zones::Zoned;

/// Ids per slice when a search starts; a slice that reads quickly makes the next one larger.
const FIRST_SLICE: i64 = 16_384;
const LARGEST_SLICE: i64 = 1 << 20;
/// A slice that takes less than this is followed by one twice as large.
const QUICK_SLICE: Duration = Duration::from_millis(10);

/// A window being searched newest first.
#[derive(Debug, Clone)]
pub struct Scan {
    query: Query,
    filter: Filter,
    wanted: usize,
    /// Found so far, newest first.
    rows: Vec<Row>,
    /// Every id above `below` and up to `top` has been searched.
    below: i64,
    top: i64,
    /// Ids above `top` up to here arrived since the search began, and are searched next.
    newest: i64,
    slice: i64,
    /// What the filter's time window, status, size or text asks of a block's zone, to skip the
    /// blocks that cannot match.
    zoned: Option<Zoned>,
}

/// What [`load`] found: the whole window, or a search to carry on with.
#[derive(Debug)]
pub enum Answer {
    Page(Page),
    Scan(Box<Scan>),
}

/// Whether a window query is one a [`Scan`] can answer: the Access log's newest rows, filtered.
pub fn scannable(q: &Query) -> bool {
    q.listing == Listing::Access && q.filter.is_some() && q.around == Around::Newest && q.count_newer_than.is_none()
}

/// The window `q` asks for when SQLite finds it within `budget`; past that, a filtered Access log
/// window becomes a [`Scan`] (any other window is loaded whole, however long it takes).
pub fn load(conn: &Connection, q: &Query, now_ms: i64, budget: Duration) -> rusqlite::Result<Answer> {
    if !scannable(q) {
        return window::load(conn, q, now_ms).map(Answer::Page);
    }
    if q.filter.as_ref().map_or(Ok(false), |f| ruled_out(conn, f))? {
        return Ok(Answer::Page(Page { at_newest: true, at_oldest: true, ..Page::default() }));
    }
    match within(conn, budget, || window::load(conn, q, now_ms))? {
        Some(page) => Ok(Answer::Page(page)),
        None => Ok(Answer::Scan(Box::new(Scan::start(conn, q)?))),
    }
}

/// Whether an Access log filter's time window, status, size or text is one that no block's zone
/// allows (`store::zones`): then nothing matches, and that can be said at once.
pub fn ruled_out(conn: &Connection, filter: &Filter) -> rusqlite::Result<bool> {
    match Zoned::of(&filter.needles) {
        Some(zoned) => Ok(zoned.highest_possible(conn, newest(conn)?)? == 0),
        None => Ok(false),
    }
}

/// `f`'s answer if SQLite gives it within `budget`, `None` if the budget ran out first (SQLite
/// interrupts the statement; nothing is left half-done on a read).
pub fn within<T>(
    conn: &Connection,
    budget: Duration,
    f: impl FnOnce() -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let deadline = Instant::now() + budget;
    conn.progress_handler(10_000, Some(move || Instant::now() >= deadline));
    let answer = f();
    conn.progress_handler(0, None::<fn() -> bool>);
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::OperationInterrupted => Ok(None),
        Err(e) => Err(e),
    }
}

impl Scan {
    /// A search for `q` (see [`scannable`]) from the newest stored row.
    pub fn start(conn: &Connection, q: &Query) -> rusqlite::Result<Scan> {
        let newest = newest(conn)?;
        Ok(Scan {
            query: q.clone(),
            filter: q.filter.clone().unwrap_or_else(|| Filter {
                text: String::new(),
                sql: "1".into(),
                params: vec![],
                needles: vec![],
                listed: false,
            }),
            wanted: 2 * q.per_side.max(1),
            rows: Vec::new(),
            below: newest,
            top: newest,
            newest,
            slice: FIRST_SLICE,
            zoned: q.filter.as_ref().and_then(|f| Zoned::of(&f.needles)),
        })
    }

    /// The query this search answers.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Whether `q` asks for what this search finds (a refresh of the same view).
    pub fn answers(&self, q: &Query) -> bool {
        q.filter == self.query.filter && q.per_side == self.query.per_side && scannable(q)
    }

    /// Rows stored since the search began are searched before older ones.
    pub fn refresh(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.newest = newest(conn)?.max(self.top);
        Ok(())
    }

    /// Enough rows found, or every id searched.
    pub fn done(&self) -> bool {
        self.newest == self.top && (self.rows.len() >= self.wanted || self.below <= 0)
    }

    /// Searches one slice: the newly arrived rows if any, else the next older ids.
    pub fn step(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if self.newest > self.top {
            let found = self.fetch(conn, self.top, self.newest, self.wanted)?;
            self.top = self.newest;
            let mut rows = found;
            rows.append(&mut self.rows);
            rows.truncate(self.wanted);
            self.rows = rows;
            return Ok(());
        }
        if self.done() {
            return Ok(());
        }
        if let Some(zoned) = &self.zoned {
            // Blocks whose zones rule out a match count as searched without being read.
            self.below = zoned.highest_possible(conn, self.below)?;
            if self.done() {
                return Ok(());
            }
        }
        let from = (self.below - self.slice).max(0);
        let started = Instant::now();
        let found = self.fetch(conn, from, self.below, self.wanted - self.rows.len())?;
        self.rows.extend(found);
        self.below = from;
        if started.elapsed() < QUICK_SLICE {
            self.slice = (self.slice * 2).min(LARGEST_SLICE);
        }
        Ok(())
    }

    /// Steps until done or `budget` is spent (at least one step).
    pub fn run(&mut self, conn: &Connection, budget: Duration) -> rusqlite::Result<()> {
        let started = Instant::now();
        loop {
            self.step(conn)?;
            if self.done() || started.elapsed() >= budget {
                return Ok(());
            }
        }
    }

    /// Steps until done.
    pub fn finish(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        while !self.done() {
            self.step(conn)?;
        }
        Ok(())
    }

    /// How far the search has got.
    pub fn searched(&self) -> Searched {
        Searched { searched: (self.top - self.below).max(0) as u64, of: self.top.max(0) as u64 }
    }

    /// The window as found so far; while searching it says how far.
    pub fn page(&self) -> Page {
        let at_oldest = self.below <= 0 && self.rows.len() < self.wanted;
        Page {
            rows: self.rows.clone(),
            focus: 0,
            at_newest: true,
            at_oldest,
            newer_count: None,
            searched: (!self.done()).then(|| self.searched()),
        }
    }

    /// Rows with ids in `(from, to]` that the filter keeps, newest first, at most `limit`.
    fn fetch(&self, conn: &Connection, from: i64, to: i64, limit: usize) -> rusqlite::Result<Vec<Row>> {
        let sql =
            format!("{} WHERE id > ? AND id <= ? AND ({}) ORDER BY id DESC LIMIT ?", access::SELECT, self.filter.sql);
        let mut params = vec![Value::Integer(from), Value::Integer(to)];
        params.extend(self.filter.params.iter().cloned());
        params.push(Value::Integer(limit as i64));
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(params), |r| access::from_row(r).map(Row::Access))?;
        rows.collect()
    }
}

fn newest(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT ifnull(max(id), 0) FROM access_events", [], |r| r.get(0))
}
