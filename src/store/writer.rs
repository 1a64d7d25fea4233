//! The one writer: a thread that owns the write connection, drains a bounded channel, commits a
//! transaction per batch and then announces which tables changed; a checkpointer thread beside it
//! copies the write-ahead log into the database.

use std::ops::{BitOr, BitOrAssign};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{mpsc, Notify};

use super::transaction::LogKeeper;
use super::{access, alerts, bans, cursors, integrity, status, tails, tenants};

/// A set of tables, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tables(pub u32);

impl Tables {
    pub const NONE: Tables = Tables(0);
    pub const TENANTS: Tables = Tables(1);
    pub const ACCESS: Tables = Tables(2);
    pub const ALERTS: Tables = Tables(4);
    pub const BANS: Tables = Tables(8);
    pub const INTEGRITY: Tables = Tables(16);
    pub const AUDIT: Tables = Tables(32);
    pub const STATUS: Tables = Tables(64);
    pub const FLEET: Tables = Tables(128);
    pub const ALL: Tables = Tables(255);

    pub fn intersects(self, other: Tables) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Tables {
    type Output = Tables;
    fn bitor(self, rhs: Tables) -> Tables {
        Tables(self.0 | rhs.0)
    }
}

impl BitOrAssign for Tables {
    fn bitor_assign(&mut self, rhs: Tables) {
        self.0 |= rhs.0;
    }
}

/// "These tables changed" notes from the writer, coalesced until the console takes them.
#[derive(Debug, Default)]
pub struct ChangeNotes {
    pending: AtomicU32,
    notify: Notify,
}

impl ChangeNotes {
    pub fn announce(&self, tables: Tables) {
        if !tables.is_empty() {
            self.pending.fetch_or(tables.0, Ordering::AcqRel);
            self.notify.notify_one();
        }
    }

    /// Waits for at least one note, then returns and clears everything noted so far.
    pub async fn next(&self) -> Tables {
        loop {
            let taken = Tables(self.pending.swap(0, Ordering::AcqRel));
            if !taken.is_empty() {
                return taken;
            }
            self.notify.notified().await;
        }
    }

    pub fn take(&self) -> Tables {
        Tables(self.pending.swap(0, Ordering::AcqRel))
    }
}

/// Work done by the writer inside a transaction; it reports its own result (e.g. over a oneshot).
pub type Job = Box<dyn FnOnce(&Connection) -> Tables + Send>;

/// One write. Data writes are batched; jobs run alone in an immediate transaction.
pub enum Write {
    Access(access::AccessEvent),
    Alert(alerts::Alert),
    Ban(bans::Ban),
    Tenant {
        name: String,
        label_selector: String,
    },
    Container(tenants::Container),
    /// Everything the Docker source sees at (re)connection: replaces the containers table.
    SyncContainers(Vec<tenants::Container>),
    RemoveContainer(String),
    /// Fail2Ban's view: its complete list of current bans (when it has one), new history, its jails.
    SyncFail2ban {
        active: Option<Vec<bans::Ban>>,
        history: Vec<bans::Ban>,
        jails: Vec<String>,
    },
    IntegrityTarget(integrity::Target),
    IntegrityRun(integrity::Run, Vec<integrity::Change>),
    Status(status::SourceStatus),
    /// Lines read from a tailed file and where reading stands after them, stored atomically.
    Tailed {
        path: String,
        state: tails::TailState,
        rows: tails::Rows,
    },
    /// Rows a source read and its position after them (see [`cursors`]), stored atomically; rows
    /// whose keys were stored before are skipped.
    Cursored(cursors::Batch),
    Job(Job),
}

impl Write {
    /// Applies one write (the writer batches these; the demo seed uses it directly).
    pub fn apply(&self, conn: &Connection, now: i64) -> rusqlite::Result<Tables> {
        Ok(match self {
            Write::Access(e) => access::insert(conn, e).map(|()| Tables::ACCESS)?,
            Write::Alert(a) => {
                alerts::insert(conn, a)?;
                if a.tenant.is_none() {
                    alerts::assign_tenants(conn, conn.last_insert_rowid() - 1)?;
                }
                Tables::ALERTS
            }
            Write::Ban(b) => bans::insert(conn, b).map(|()| Tables::BANS)?,
            Write::Tenant { name, label_selector } => {
                tenants::upsert(conn, name, label_selector, now).map(|()| Tables::TENANTS)?
            }
            Write::Container(c) => {
                tenants::upsert(conn, &c.tenant, "", now)?;
                tenants::upsert_container(conn, c, now).map(|()| Tables::TENANTS)?
            }
            Write::SyncContainers(all) => tenants::sync(conn, all, now).map(|()| Tables::TENANTS)?,
            Write::RemoveContainer(id) => tenants::remove_container(conn, id).map(|()| Tables::TENANTS)?,
            Write::SyncFail2ban { active, history, jails } => {
                bans::sync_fail2ban(conn, active.as_deref(), history, jails, now).map(|()| Tables::BANS)?
            }
            Write::IntegrityTarget(t) => integrity::upsert_target(conn, t).map(|()| Tables::INTEGRITY)?,
            Write::IntegrityRun(r, c) => integrity::insert_run(conn, r, c).map(|_| Tables::INTEGRITY)?,
            Write::Status(s) => status::upsert(conn, s).map(|()| Tables::STATUS)?,
            Write::Tailed { path, state, rows } => {
                tails::store(conn, path, state, rows)?;
                match rows {
                    tails::Rows::Access(_) => Tables::ACCESS,
                    tails::Rows::Alerts(_) => Tables::ALERTS | Tables::TENANTS,
                    tails::Rows::Fleet(_) => Tables::FLEET,
                }
            }
            Write::Cursored(batch) => {
                let stored = cursors::store(conn, batch, now)?;
                // The counts and kept lines show in the Sources view.
                let counted = if stored.rows + stored.unparsed > 0 { Tables::STATUS } else { Tables::NONE };
                counted
                    | match (stored.rows, &batch.rows) {
                        (0, _) => Tables::NONE,
                        (_, tails::Rows::Access(_)) => Tables::ACCESS,
                        (_, tails::Rows::Alerts(_)) => Tables::ALERTS | Tables::TENANTS,
                        (_, tails::Rows::Fleet(_)) => Tables::FLEET,
                    }
            }
            Write::Job(_) => Tables::NONE,
        })
    }
}

/// Most writes committed in one transaction.
pub const MAX_BATCH: usize = 20_000;
/// Writes that may wait in the channel before senders wait (back-pressure, never loss).
pub const CHANNEL_CAPACITY: usize = 65_536;

/// The sending side, cheap to clone into every source task.
#[derive(Clone)]
pub struct StoreWriter {
    tx: mpsc::Sender<Write>,
}

impl StoreWriter {
    /// Starts the writer thread on `conn`. It ends when every `StoreWriter` is dropped, after
    /// committing everything sent.
    pub fn spawn(conn: Connection, notes: Arc<ChangeNotes>) -> (StoreWriter, JoinHandle<WriterStats>) {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                let keeper = LogKeeper::start(&conn, "store-ckpt", false);
                let stats = run(conn, rx, &notes, keeper.as_ref());
                if let Some(keeper) = keeper {
                    keeper.finish();
                }
                stats
            })
            .expect("spawning the store writer thread");
        (StoreWriter { tx }, handle)
    }

    pub async fn send(&self, w: Write) -> Result<(), WriterGone> {
        self.tx.send(w).await.map_err(|_| WriterGone)
    }

    /// Runs `f` on the writer inside an immediate transaction and returns its result once committed.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> (T, Tables) + Send + 'static,
    ) -> Result<T, WriterGone> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let (value, tables) = f(conn);
            let _ = tx.send(value);
            tables
        });
        self.send(Write::Job(job)).await?;
        rx.await.map_err(|_| WriterGone)
    }

    /// Answers once every write sent before it is done with (committed, or refused by the store
    /// and logged, see `commit_data`): what [`InFlight`] waits on.
    pub async fn committed_so_far(&self) -> Result<tokio::sync::oneshot::Receiver<()>, WriterGone> {
        let (done, committed) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |_| {
            let _ = done.send(());
            Tables::NONE
        });
        self.send(Write::Job(job)).await?;
        Ok(committed)
    }

    /// For code outside the async runtime (and tests).
    pub fn blocking_send(&self, w: Write) -> Result<(), WriterGone> {
        self.tx.blocking_send(w).map_err(|_| WriterGone)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store writer has stopped (see the log file for why)")]
pub struct WriterGone;

/// A source's last batch, until the writer is done with it. A source reading faster than the
/// store writes waits for it ([`InFlight::settled`]) before it sends the next, so it runs at most
/// one batch ahead of the writer and its memory holds a batch or two however far behind it starts
/// (the channel would otherwise queue everything it read).
#[derive(Debug, Default)]
pub struct InFlight(Option<tokio::sync::oneshot::Receiver<()>>);

impl InFlight {
    /// Waits until the writer is done with what was sent before [`InFlight::sent`]; false once
    /// the writer is gone.
    pub async fn settled(&mut self) -> bool {
        match self.0.take() {
            Some(done) => done.await.is_ok(),
            None => true,
        }
    }

    /// Marks everything sent to `writer` so far as the batch to wait for; false once the writer
    /// is gone.
    pub async fn sent(&mut self, writer: &StoreWriter) -> bool {
        self.0 = writer.committed_so_far().await.ok();
        self.0.is_some()
    }
}

/// What the writer did in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub written: u64,
    pub failed: u64,
    pub batches: u64,
}

fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<Write>,
    notes: &ChangeNotes,
    keeper: Option<&LogKeeper>,
) -> WriterStats {
    let mut stats = WriterStats::default();
    let mut batch: Vec<Write> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let mut changed = Tables::NONE;
        let mut data = Vec::with_capacity(batch.len());
        let committed = || {
            if let Some(keeper) = keeper {
                keeper.committed(&conn);
            }
        };
        for w in batch.drain(..) {
            match w {
                Write::Job(job) => {
                    // Commit the data before it, so the job sees it and the order is kept.
                    changed |= commit_data(&conn, &mut data, &mut stats);
                    changed |= run_job(&conn, job);
                    committed();
                }
                w => data.push(w),
            }
        }
        changed |= commit_data(&conn, &mut data, &mut stats);
        committed();
        notes.announce(changed);
    }
    stats
}

fn run_job(conn: &Connection, job: Job) -> Tables {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!("cannot start a transaction for an action: {e}");
    }
    let changed = job(conn);
    if let Err(e) = conn.execute_batch("COMMIT") {
        tracing::error!("cannot commit an action: {e}");
        let _ = conn.execute_batch("ROLLBACK");
    }
    changed
}

/// Commits `data` in one transaction; if that fails, each write alone, so one bad row loses
/// nothing but itself (and is logged).
fn commit_data(conn: &Connection, data: &mut Vec<Write>, stats: &mut WriterStats) -> Tables {
    if data.is_empty() {
        return Tables::NONE;
    }
    let now = super::now_ms();
    let attempt = || -> rusqlite::Result<Tables> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut changed = Tables::NONE;
        for w in data.iter() {
            match w.apply(conn, now) {
                Ok(t) => changed |= t,
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        conn.execute_batch("COMMIT")?;
        Ok(changed)
    };
    let changed = match attempt() {
        Ok(changed) => {
            stats.written += data.len() as u64;
            changed
        }
        Err(e) => {
            tracing::warn!("a batch of {} writes failed ({e}); writing them one by one", data.len());
            let _ = conn.execute_batch("ROLLBACK");
            let mut changed = Tables::NONE;
            for w in data.iter() {
                // Each in its own transaction, so that a write of several rows (lines and the
                // position after them) still happens whole or not at all.
                let one = conn.execute_batch("BEGIN IMMEDIATE").and_then(|()| w.apply(conn, now));
                match one.and_then(|t| conn.execute_batch("COMMIT").map(|()| t)) {
                    Ok(t) => {
                        changed |= t;
                        stats.written += 1;
                    }
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        stats.failed += 1;
                        tracing::error!("a write was refused by the store: {e}");
                    }
                }
            }
            changed
        }
    };
    stats.batches += 1;
    data.clear();
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::transaction::WAL_LIMIT_FRAMES;

    /// A source that awaits [`StoreWriter::committed_so_far`] before its next batch runs at most
    /// one batch ahead: when the answer comes, what it sent before is in the store for any reader.
    #[tokio::test]
    async fn committed_so_far_answers_once_what_was_sent_before_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = crate::store::open(&path, crate::store::Access::ReadWrite).unwrap();
        let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
        let reader = crate::store::open(&path, crate::store::Access::ReadOnly).unwrap();
        for n in 1..=20i64 {
            let events = (0..500).map(|i| access::AccessEvent { ts: n * 1000 + i, ..Default::default() });
            for event in events {
                writer.send(Write::Access(event)).await.unwrap();
            }
            writer.committed_so_far().await.unwrap().await.unwrap();
            let stored: i64 = reader.query_row("SELECT count(*) FROM access_events", [], |r| r.get(0)).unwrap();
            assert_eq!(stored, n * 500);
        }
        drop(writer);
        thread.join().unwrap();
    }

    #[test]
    fn the_write_ahead_log_stays_bounded_under_steady_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = crate::store::open(&path, crate::store::Access::ReadWrite).unwrap();
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
        let job = |sql: &'static str| -> Write {
            Write::Job(Box::new(move |conn| {
                conn.execute_batch(sql).unwrap();
                Tables::NONE
            }))
        };
        writer.blocking_send(job("CREATE TABLE filler (b BLOB)")).unwrap();
        // 200 MB in 800 commits as fast as the writer takes them, three times the log the limit
        // allows; each write notes how long the log is when it starts.
        let wal = dir.path().join("s.db-wal");
        let largest = Arc::new(std::sync::atomic::AtomicU64::new(0));
        for _ in 0..800 {
            let (wal, largest) = (wal.clone(), largest.clone());
            let write: Job = Box::new(move |conn| {
                largest.fetch_max(std::fs::metadata(&wal).map_or(0, |m| m.len()), Ordering::Relaxed);
                conn.execute_batch("INSERT INTO filler VALUES (randomblob(262144))").unwrap();
                Tables::NONE
            });
            writer.blocking_send(Write::Job(write)).unwrap();
        }
        drop(writer);
        let stats = thread.join().unwrap();
        let largest = largest.load(Ordering::Relaxed);
        assert_eq!(stats.failed, 0);
        let bound = 2 * WAL_LIMIT_FRAMES as u64 * page as u64;
        assert!(largest <= bound, "the log reached {largest} bytes (bound {bound})");
        let reader = crate::store::open(&path, crate::store::Access::ReadOnly).unwrap();
        let rows: i64 = reader.query_row("SELECT count(*) FROM filler", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 800);
    }
}
