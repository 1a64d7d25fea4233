//! Write transactions and checkpoints: an immediate transaction around a unit of work, the long
//! batched one a bulk import keeps, and SQLite's count of other connections' commits.

use rusqlite::Connection;

/// Runs `f` in one immediate transaction (the write lock taken at once, so two writers never both
/// read and then fail to write): committed when it succeeds, rolled back when it or the commit
/// fails.
pub fn immediate<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = f(conn).and_then(|v| conn.execute_batch("COMMIT").map(|()| v).map_err(E::from));
    if done.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    done
}

/// A bulk load: one write transaction committed every batch and begun again at once, with a
/// bigger page cache and the write-ahead log's automatic checkpoints off (a checkpointer of its
/// own copies the pages, see [`checkpoint_passive`]). [`Batched::finish`] or [`Batched::abandon`] ends
/// it; [`Batched::restore`] puts the checkpoints back.
pub struct Batched<'c> {
    conn: &'c Connection,
}

impl<'c> Batched<'c> {
    pub fn begin(conn: &'c Connection) -> rusqlite::Result<Batched<'c>> {
        conn.execute_batch("PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 0")?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Batched { conn })
    }

    /// Commits the batch so far and goes on in a new transaction.
    pub fn commit_batch(&self) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT; BEGIN IMMEDIATE")
    }

    /// Commits the last batch.
    pub fn finish(self) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT")
    }

    /// Rolls the open batch back (the batches committed before it stay).
    pub fn abandon(conn: &Connection) {
        let _ = conn.execute_batch("ROLLBACK");
    }

    /// After the load: the rest of the log into the database and its file back to nothing, then
    /// the automatic checkpoints back on. A console reading an older snapshot keeps a truncating
    /// checkpoint from finishing: it does what it can at once and the next checkpoint the rest.
    pub fn restore(conn: &Connection) -> rusqlite::Result<()> {
        let _ = conn.busy_timeout(std::time::Duration::ZERO);
        let _ = conn.execute_batch("PRAGMA main.wal_checkpoint(TRUNCATE)");
        conn.busy_timeout(super::BUSY_TIMEOUT).and_then(|()| conn.execute_batch("PRAGMA wal_autocheckpoint = 1000"))
    }
}

/// Copies committed pages from the write-ahead log into the database file without waiting for the
/// writer; what it cannot copy now, the next call will.
pub fn checkpoint_passive(conn: &Connection) {
    let _ = conn.execute_batch("PRAGMA main.wal_checkpoint(PASSIVE)");
}

/// Copies the write-ahead log into the database on a connection and thread of its own, woken after
/// a writer's commits, so that the writer's work and the copying overlap (an import's writer and
/// the collector's).
pub struct Checkpointer {
    wake: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    /// A checkpointer for `conn`'s store, on a thread named `name`. None for a store in memory, or
    /// when no connection or thread can be had (the writer's own checkpoints then do it all).
    pub fn start(conn: &Connection, name: &str) -> Option<Checkpointer> {
        let path = conn.path().filter(|p| !p.is_empty())?;
        let own = super::open(std::path::Path::new(path), super::Access::ReadWrite).ok()?;
        let (wake, woken) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // One pass covers every commit so far. PASSIVE never waits for the writer;
                    // what it cannot copy now, the next pass will.
                    while woken.try_recv().is_ok() {}
                    checkpoint_passive(&own);
                }
            })
            .ok()?;
        Some(Checkpointer { wake, thread })
    }

    /// After a commit: copy what it wrote.
    pub fn wake(&self) {
        let _ = self.wake.send(());
    }

    /// Waits for the pass under way, so that a final checkpoint has the log to itself.
    pub fn finish(self) {
        drop(self.wake);
        let _ = self.thread.join();
    }
}

/// SQLite's count of commits by other connections, as `reader` sees it, to the store and to the
/// indexes beside it (`store::index_db`; both only grow, so their sum changes whenever either
/// does); `None` when it cannot say.
pub fn data_version(reader: &Connection) -> Option<i64> {
    let store = reader.query_row("PRAGMA main.data_version", [], |r| r.get::<_, i64>(0)).ok()?;
    let indexes = reader.query_row("PRAGMA idx.data_version", [], |r| r.get::<_, i64>(0)).unwrap_or(0);
    Some(store + indexes)
}
