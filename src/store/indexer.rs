//! The collector's indexer task (`keep_indexed`): fills, in chunks after the rows are stored, the
//! indexes over the access events that no import or live write waits for — a trigram index of the
//! text filters search, the rows of each source address, the histogram's counts
//! (`store::histogram`) and a zone map (`store::zones`). `store::search` plans filters over them.
//! They live in a file of their own (`store::index_db`), written on the indexer's own connection,
//! so its transactions never hold the store's writer.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

/// Events indexed per chunk when the collector's indexer starts, each chunk one transaction on
/// the indexes' file; it then sizes each chunk from how long the last one took, aiming at
/// [`CHUNK_TARGET`]. Small chunks used to cost the trigram index far more
/// merging than they saved the writer (FTS5 merged inside the commits); the indexer now merges in
/// steps of its own ([`Indexer`]), so a chunk is only the new rows.
pub const CHUNK_ROWS: i64 = 2_000;
/// Time the indexer aims to take per chunk or merge step (the commit comes on top). When the
/// indexes shared the store's file this was the writer's time too (at 1,000,000 events a source
/// at 10,000 events/s waited p99 21-28 ms, max 31-54 ms); now it only keeps the steps short
/// enough that the indexer's commits (and what a console reads) move along.
pub const CHUNK_TARGET: Duration = Duration::from_millis(10);
/// Chunk sizes the indexer keeps between.
const CHUNK_RANGE: (i64, i64) = (500, 20_000);
/// Leaf pages of FTS5 merging per step at first, and the range a step keeps between.
const MERGE_PAGES: i64 = 64;
const MERGE_RANGE: (i64, i64) = (16, 1_000);

/// The next chunk's size after one of `rows` took `took`: scaled towards [`CHUNK_TARGET`], by at
/// most a factor of two either way so one slow commit does not swing it.
fn next_chunk(rows: i64, took: Duration) -> i64 {
    rescale(rows, took, CHUNK_RANGE)
}

fn rescale(size: i64, took: Duration, range: (i64, i64)) -> i64 {
    let took = took.as_secs_f64().max(1e-4);
    let scale = (CHUNK_TARGET.as_secs_f64() / took).clamp(0.5, 2.0);
    ((size as f64 * scale) as i64).clamp(range.0, range.1)
}

/// The FTS5 tables the indexer fills, whose segments it merges in steps of its own.
const FTS_TABLES: [&str; 2] = ["access_text", "access_ip"];

/// Stops FTS5 merging inside commits (`automerge` 0): left on, whichever chunk's commit crossed
/// its threshold merged a level there and then, holding the writer up to ~150 ms at 10,000,000
/// events. The indexer merges instead, a bounded step at a time ([`Indexer::step`]). Stored in
/// each table's `_config`, so setting it again is harmless.
pub fn merge_in_steps(conn: &Connection) -> rusqlite::Result<()> {
    for t in FTS_TABLES {
        let set: Option<i64> =
            conn.query_row(&format!("SELECT v FROM {t}_config WHERE k = 'automerge'"), [], |r| r.get(0)).optional()?;
        if set != Some(0) {
            conn.execute(&format!("INSERT INTO {t} ({t}, rank) VALUES ('automerge', 0)"), [])?;
        }
    }
    Ok(())
}

/// Up to `pages` leaf pages of merging on `table`'s segments (a level of at least four segments,
/// or a merge under way); the rows it changed (each page written is one, as is each index
/// entry and each input row deleted when a merge ends), fewer than two when it had nothing to
/// do (FTS5's documentation).
fn merge(conn: &Connection, table: &str, pages: i64) -> rusqlite::Result<u64> {
    let before = conn.total_changes();
    conn.prepare_cached(&format!("INSERT INTO {table} ({table}, rank) VALUES ('merge', ?1)"))?.execute([pages])?;
    Ok(conn.total_changes() - before)
}

/// What one [`Indexer::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Indexed the next chunk of `rows` events at most (none when caught up).
    Chunk { rows: i64, progress: Progress },
    /// A step of merging an FTS5 table's segments.
    Merge,
}

/// The collector's indexer between its steps, each a transaction of its own on the indexes' file: a
/// chunk of new events, then merge steps until the FTS5 tables have nothing left to merge (so
/// their segments stay few and searches fast), each chunk and step sized from how long the last
/// took.
#[derive(Debug)]
pub struct Indexer {
    rows: i64,
    /// The pages of a merge step, for each of [`FTS_TABLES`].
    pages: [i64; 2],
    /// Which of [`FTS_TABLES`] may have merging to do, since the last chunk.
    merging: Vec<usize>,
    tuned: bool,
    /// Where the last chunk left the indexes (-1 before the first).
    through: i64,
    caught_up: bool,
}

impl Default for Indexer {
    fn default() -> Self {
        Indexer {
            rows: CHUNK_ROWS,
            pages: [MERGE_PAGES; 2],
            merging: Vec::new(),
            tuned: false,
            through: -1,
            caught_up: false,
        }
    }
}

impl Indexer {
    /// One bounded piece of work, inside the caller's transaction: a merge step while the last
    /// chunk left some, else the next chunk.
    pub fn step(&mut self, conn: &Connection) -> rusqlite::Result<Step> {
        if !self.tuned {
            merge_in_steps(conn)?;
            self.tuned = true;
        }
        let started = std::time::Instant::now();
        while let Some(&table) = self.merging.first() {
            let pages = self.pages[table];
            let changed = merge(conn, FTS_TABLES[table], pages)?;
            if changed >= 2 {
                // A step that ran out of work before its pages says nothing of what they cost:
                // only one that wrote them all may make the next one bigger.
                let took = started.elapsed();
                if took > CHUNK_TARGET || changed >= pages as u64 {
                    self.pages[table] = rescale(pages, took, MERGE_RANGE);
                }
                return Ok(Step::Merge);
            }
            self.merging.remove(0);
        }
        let rows = self.rows;
        let progress = index_chunk(conn, rows)?;
        self.caught_up = progress.caught_up();
        if progress.through != self.through {
            self.through = progress.through;
            self.merging = vec![0, 1];
        }
        if !self.caught_up {
            self.rows = next_chunk(rows, started.elapsed());
        }
        Ok(Step::Chunk { rows, progress })
    }

    /// Chunks of `rows` from now on, whatever they take (tests, to make many small segments).
    #[cfg(test)]
    pub(super) fn fix_chunk_rows(&mut self, rows: i64) {
        self.rows = rows;
    }

    /// Whether everything stored is indexed and merged: nothing to do until new events come.
    pub fn idle(&self) -> bool {
        self.caught_up && self.merging.is_empty()
    }
}

/// How often an idle indexer looks for new events, and how long it waits after an error.
const IDLE: Duration = Duration::from_millis(500);
const AFTER_ERROR: Duration = Duration::from_secs(2);

/// How far the indexes reach: every event with an id up to `through` is indexed; `newest` is the
/// newest stored event's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub through: i64,
    pub newest: i64,
}

impl Progress {
    pub fn caught_up(&self) -> bool {
        self.through >= self.newest
    }
}

/// The id of the last access event the indexes cover; 0 when they cover none.
pub fn indexed_through(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(position(conn)?.0)
}

/// The indexed position, and whether the event there is still the one that was indexed (when
/// it is not, the newest events were deleted and their ids handed out again: the indexes list
/// other rows' text for those ids and must be rebuilt).
pub(super) fn position(conn: &Connection) -> rusqlite::Result<(i64, bool)> {
    let at = conn
        .query_row(
            "SELECT event, ts = ifnull((SELECT e.ts FROM access_events e WHERE e.id = event), -1) \
             FROM access_indexed_through WHERE only = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(at.unwrap_or((0, true)))
}

fn newest(conn: &Connection) -> rusqlite::Result<i64> {
    super::access::last_id(conn)
}

/// The text is indexed as a filter sees it (a NUL byte as `^@`, see `store::VISIBLE_NUL`).
const INSERT_TEXT: &str = "INSERT INTO access_text (rowid, path, user_agent, src_ip, user) \
     SELECT id, ifnull(visible_nul(path), path), ifnull(visible_nul(user_agent), user_agent), \
     ifnull(visible_nul(src_ip), src_ip), ifnull(visible_nul(user), user) \
     FROM access_events WHERE id > ?1 AND id <= ?2";
/// Each event's address as one token (see schema version 15), so `MATCH '"203.0.113.7"'` lists
/// exactly the rows of that address.
const INSERT_IP: &str =
    "INSERT INTO access_ip (rowid, src_ip) SELECT id, src_ip FROM access_events WHERE id > ?1 AND id <= ?2";
const MOVE: &str = "INSERT INTO access_indexed_through (only, event, ts) \
     VALUES (1, ?1, ifnull((SELECT ts FROM access_events WHERE id = ?1), -1)) \
     ON CONFLICT (only) DO UPDATE SET event = excluded.event, ts = excluded.ts";

/// Indexes at most the next `rows` ids after the indexed position and moves the position past
/// them: all or nothing, inside the caller's transaction. If the newest events were deleted
/// (their ids can then be handed out again) the indexes start over from the first event.
pub fn index_chunk(conn: &Connection, rows: i64) -> rusqlite::Result<Progress> {
    let (through, valid) = position(conn)?;
    let newest = newest(conn)?;
    conn.execute_batch("SAVEPOINT index_chunk")?;
    let done = (|| -> rusqlite::Result<Progress> {
        let mut from = through;
        if newest < through || !valid {
            conn.execute_batch(
                "INSERT INTO access_text (access_text) VALUES ('delete-all'); \
                 INSERT INTO access_ip (access_ip) VALUES ('delete-all'); \
                 DELETE FROM access_counts; DELETE FROM access_blocks;",
            )?;
            from = 0;
        }
        let upto = newest.min(from.saturating_add(rows.max(1)));
        if upto != through || from != through {
            conn.prepare_cached(INSERT_TEXT)?.execute([from, upto])?;
            conn.prepare_cached(INSERT_IP)?.execute([from, upto])?;
            conn.prepare_cached(super::counts::COUNT_NEW)?.execute([from, upto])?;
            conn.prepare_cached(super::zones::FILL)?.execute([from, upto])?;
            conn.prepare_cached(MOVE)?.execute([upto])?;
        }
        Ok(Progress { through: upto, newest })
    })();
    match done {
        Ok(progress) => {
            conn.execute_batch("RELEASE index_chunk")?;
            Ok(progress)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO index_chunk; RELEASE index_chunk");
            Err(e)
        }
    }
}

/// Indexes everything stored, a step per transaction as the collector's indexer does, on an
/// indexer's connection of its own to the store `conn` is open on (tests and benchmarks).
pub fn catch_up(conn: &Connection) -> rusqlite::Result<Progress> {
    let indexes = super::index_db::open_writer_beside(conn)?;
    let mut indexer = Indexer::default();
    loop {
        let step = super::transaction::immediate(&indexes, |conn| indexer.step(conn))?;
        if let (Step::Chunk { progress, .. }, true) = (step, indexer.idle()) {
            return Ok(progress);
        }
    }
}

/// The collector's indexer for the store at `db`: a step at a time, each a transaction of its own
/// on the indexes' file (`store::index_db::open_writer`), on a blocking thread; resumes from the
/// stored position after a restart. When the file is removed or replaced under it, it starts again
/// on a new one. Runs until its task is dropped.
pub async fn keep_indexed(db: PathBuf) {
    if let Some(why) = super::index_db::not_kept(&db) {
        tracing::warn!("{why}");
        return;
    }
    let mut indexer = Indexer::default();
    let mut open: Option<(Connection, u64)> = None;
    loop {
        let db = db.clone();
        let ran = tokio::task::spawn_blocking(move || {
            let file = super::index_db::path_of(&db);
            if open.as_ref().is_some_and(|(_, ino)| inode(&file) != Some(*ino)) {
                open = None;
                indexer = Indexer::default();
            }
            let step = match open.take() {
                Some(o) => Ok(o),
                None => reopen(&db),
            }
            .and_then(|(c, ino)| {
                let step = super::transaction::immediate(&c, |c| indexer.step(c));
                open = Some((c, ino));
                step
            });
            (indexer, open, step)
        })
        .await;
        let Ok((back, kept, step)) = ran else { return };
        indexer = back;
        open = kept;
        match step {
            Ok(_) if indexer.idle() => tokio::time::sleep(IDLE).await,
            Ok(_) => tokio::task::yield_now().await,
            Err(e) => {
                tracing::warn!("cannot index access events for filters (filters scan instead): {e}");
                tokio::time::sleep(AFTER_ERROR).await;
            }
        }
    }
}

fn inode(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| m.ino())
}

/// The indexer's connection to the indexes of the store at `db`, made ready (and made anew when
/// missing) by a read-write open of the store first, and the file's inode.
fn reopen(db: &std::path::Path) -> rusqlite::Result<(Connection, u64)> {
    let cannot = |why: String| {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN), Some(why))
    };
    drop(super::open(db, super::Access::ReadWrite).map_err(|e| cannot(e.to_string()))?);
    let conn = super::index_db::open_writer(db)?;
    let ino = inode(&super::index_db::path_of(db)).ok_or_else(|| cannot("the indexes' file went away".into()))?;
    Ok((conn, ino))
}
