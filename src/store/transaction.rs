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

/// A bulk load: one write transaction committed every batch and begun again, with a
/// bigger page cache; its checkpoints are a [`LogKeeper`]'s, started before it (SQLite's automatic
/// ones if none could start). [`Batched::finish`] or [`Batched::abandon`] ends it;
/// [`Batched::restore`] puts SQLite's checkpoints back.
pub struct Batched<'c> {
    conn: &'c Connection,
}

impl<'c> Batched<'c> {
    pub fn begin(conn: &'c Connection) -> rusqlite::Result<Batched<'c>> {
        conn.execute_batch("PRAGMA cache_size = -16384")?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Batched { conn })
    }

    /// Commits the batch so far and keeps the log with `keeper`; [`Batched::begin_batch`] goes on
    /// (apart, so that the caller counts what is committed even if no new batch can begin).
    pub fn commit_batch(&self, keeper: Option<&LogKeeper>) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT")?;
        if let Some(keeper) = keeper {
            keeper.committed(self.conn);
        }
        Ok(())
    }

    /// Begins the next batch.
    pub fn begin_batch(&self) -> rusqlite::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")
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
struct Checkpointer {
    wake: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
    /// Held through each pass: the writer copying the log itself takes it too, so that its
    /// checkpoint is not refused for this one's.
    copying: std::sync::Arc<std::sync::Mutex<()>>,
}

impl Checkpointer {
    /// A checkpointer for `conn`'s store, on a thread named `name`. None for a store in memory, or
    /// when no connection or thread can be had (the writer's own checkpoints then do it all).
    fn start(conn: &Connection, name: &str) -> Option<Checkpointer> {
        let path = conn.path().filter(|p| !p.is_empty())?;
        let own = super::open(std::path::Path::new(path), super::Access::ReadWrite).ok()?;
        let (wake, woken) = std::sync::mpsc::channel::<()>();
        let copying = std::sync::Arc::new(std::sync::Mutex::new(()));
        let pass = copying.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // One pass covers every commit so far. PASSIVE never waits for the writer;
                    // what it cannot copy now, the next pass will.
                    while woken.try_recv().is_ok() {}
                    let _pass = pass.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    checkpoint_passive(&own);
                }
            })
            .ok()?;
        Some(Checkpointer { wake, thread, copying })
    }

    /// Copies the rest of the log on the writer's `conn`, after the pass under way when `wait`
    /// (else, during one, not at all: that pass copies, and the next commit tries again).
    fn copy_here(&self, conn: &Connection, wait: bool) {
        let pass = if wait {
            Ok(self.copying.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
        } else {
            self.copying.try_lock()
        };
        if pass.is_ok() {
            checkpoint_passive(conn);
        }
    }

    /// After a commit: copy what it wrote.
    fn wake(&self) {
        let _ = self.wake.send(());
    }

    /// Waits for the pass under way, so that a final checkpoint has the log to itself.
    fn finish(self) {
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

/// Log frames (pages) from which the checkpointer copies the log into the database after each
/// commit: SQLite's own automatic checkpoint threshold (16 MiB of 16 KiB pages).
const WAKE_FRAMES: i64 = 1_000;
/// Log frames from which the writer copies it itself after its commits, so the log stays bounded.
pub const WAL_LIMIT_FRAMES: i64 = 4 * WAKE_FRAMES;

thread_local! {
    /// The frames in the write-ahead log after the last commit on this thread that wrote some
    /// (noted by [`note_log`] on the writer's thread).
    static LOG_FRAMES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// SQLite's hook after each commit on the writer's connection: notes how long the log is.
/// Setting it turns SQLite's automatic checkpoints off on that connection (they are this hook).
fn note_log(_: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    LOG_FRAMES.with(|f| f.set(i64::from(frames)));
    Ok(())
}

/// A writer's checkpoints (the collector's and an import's): on a checkpointer beside the
/// writer instead of SQLite's automatic ones, which run inside whichever commit crosses the
/// threshold and held a live source's writes up to ~80 ms. A log is only started over from its
/// beginning by a write that finds it wholly copied, which a checkpoint beside a busy writer may
/// never leave it (the writer commits again while it copies: an import's log grew to the size of
/// its store, 1.2 GB at 10M rows); so from [`WAL_LIMIT_FRAMES`] the writer copies the last few
/// frames itself after a commit (what the checkpointer copied it need not), and the log stays
/// bounded.
pub struct LogKeeper {
    checkpointer: Checkpointer,
    /// Whether the writer waits for a pass under way before it copies the rest (an import: no one
    /// waits on its commits) or goes on (the collector: a live source waits on its writes).
    waits: bool,
}

impl LogKeeper {
    /// Starts on the writer's thread, its checkpointer on a thread named `name`. None for a store
    /// in memory or one the writer may not write (a read-only console's), or when no
    /// checkpointer can start: the writer's automatic checkpoints then stay on. Setting
    /// `wal_autocheckpoint` on the connection afterwards ends the keeping (it replaces the hook).
    pub fn start(conn: &Connection, name: &str, waits: bool) -> Option<LogKeeper> {
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
            return None;
        }
        let checkpointer = Checkpointer::start(conn, name)?;
        conn.wal_hook(Some(note_log));
        Some(LogKeeper { checkpointer, waits })
    }

    /// After a commit on the writer's thread: wakes the checkpointer once the log is long, and
    /// copies the rest of it here once it is too long.
    pub fn committed(&self, conn: &Connection) {
        let frames = LOG_FRAMES.with(std::cell::Cell::get);
        if frames >= WAL_LIMIT_FRAMES {
            self.checkpointer.copy_here(conn, self.waits);
            LOG_FRAMES.with(|f| f.set(0));
        } else if frames >= WAKE_FRAMES {
            self.checkpointer.wake();
        }
    }

    /// Waits for the checkpointer's pass under way and stops it.
    pub fn finish(self) {
        self.checkpointer.finish();
    }
}
