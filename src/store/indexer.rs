//! The collector's indexer task (`keep_indexed`): fills, in chunks after the rows are stored, the
//! indexes over the access events that no import or live write waits for — a trigram index of the
//! text filters search, the rows of each source address, the histogram's counts
//! (`store::histogram`) and a zone map (`store::zones`). `store::search` plans filters over them.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use super::writer::{StoreWriter, Tables};

/// Events indexed per chunk when the collector's indexer starts, each chunk one transaction on
/// the writer; it then sizes each chunk from how long the last one took, aiming at
/// [`CHUNK_TARGET`] of the writer's time, but never below 5,000 rows: smaller chunks cost the
/// trigram index far more merging than they save the writer (1,000,000 events: 52.6 s in chunks
/// of ~700 rows, max 134 ms a chunk, against 15.5 s in chunks of 5,000, max 154 ms; 10,000,000:
/// 942 s against 146 s, and the small chunks' max was worse, 395 ms against 168 ms).
pub const CHUNK_ROWS: i64 = 5_000;
/// Writer time the indexer aims to take per chunk.
pub const CHUNK_TARGET: Duration = Duration::from_millis(20);
/// Chunk sizes the indexer keeps between.
const CHUNK_RANGE: (i64, i64) = (5_000, 20_000);

/// The next chunk's size after one of `rows` took `took`: scaled towards [`CHUNK_TARGET`], by at
/// most a factor of two either way so one slow commit does not swing it.
pub fn next_chunk(rows: i64, took: Duration) -> i64 {
    let took = took.as_secs_f64().max(1e-4);
    let scale = (CHUNK_TARGET.as_secs_f64() / took).clamp(0.5, 2.0);
    ((rows as f64 * scale) as i64).clamp(CHUNK_RANGE.0, CHUNK_RANGE.1)
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

/// Indexes everything stored, a chunk per transaction, on a connection of its own (tests and
/// benchmarks).
pub fn catch_up(conn: &Connection) -> rusqlite::Result<Progress> {
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let progress = index_chunk(conn, 40_000).and_then(|p| conn.execute_batch("COMMIT").map(|()| p));
        match progress {
            Ok(p) if p.caught_up() => return Ok(p),
            Ok(_) => {}
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}

/// The collector's indexer: a chunk at a time through the writer, so it never holds the write
/// lock for longer than one chunk and a source's writes interleave with it; resumes from the
/// stored position after a restart. Runs until the writer goes away.
pub async fn keep_indexed(writer: StoreWriter) {
    let mut rows = CHUNK_ROWS;
    loop {
        let step = writer
            .call(move |conn| {
                let started = std::time::Instant::now();
                (index_chunk(conn, rows).map(|p| (p, started.elapsed())), Tables::NONE)
            })
            .await;
        match step {
            Err(_) => return, // the writer has stopped: so has the collector
            Ok(Ok((p, _))) if p.caught_up() => tokio::time::sleep(IDLE).await,
            Ok(Ok((_, took))) => {
                rows = next_chunk(rows, took);
                tokio::task::yield_now().await
            }
            Ok(Err(e)) => {
                tracing::warn!("cannot index access events for filters (filters scan instead): {e}");
                tokio::time::sleep(AFTER_ERROR).await;
            }
        }
    }
}
