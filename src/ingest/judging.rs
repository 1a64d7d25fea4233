//! The detection rules judging an import's access events on a thread of their own while the import
//! goes on, each chunk's alerts and the rules' new position recorded in the import's transaction.
//!
//! The rows are judged from the packed batch just inserted, not read back: the import holds the
//! write lock, so a batch's rows are consecutive ids after the last one it inserted. This goes on
//! only while each batch follows the rules' position directly; when events not judged yet lie
//! before a batch (stored before the import, or by another writer between its transactions), or
//! a running collector moved the position first (a chunk is recorded only if the position still
//! stands where it started, [`detections::record`]), it stops, and what is left is judged after the
//! import from the stored position ([`judge::judge_backlog`]), in short transactions. No event
//! is judged twice, none is skipped.

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::detect::judge::{self, Judge, Judged, Verdict};
use crate::detect::Rules;
use crate::store::access::Bulk;
use crate::store::detections::{self, Recorded};

/// Batches that may wait for the rules before the import waits for them (a few MB each).
const QUEUE: usize = 8;

/// Rows handed over: a batch stored with ids from `first` on.
type Stored = (i64, Bulk);

/// A judged chunk, or why judging alongside cannot go on.
type Outcome = Result<Judged, String>;

/// The judging thread and the two lines to it: stored batches in, judged chunks out.
pub struct Judging {
    batches: Option<SyncSender<Stored>>,
    judged: Receiver<Outcome>,
    thread: Option<JoinHandle<()>>,
    /// Where the last batch handed over ended, to see that the next follows it.
    last: Option<i64>,
    verdict: Verdict,
}

impl Judging {
    /// Starts judging with `rules` on a read connection of its own; `None` for a store in memory
    /// or when no thread can start (the import is then judged after it is stored).
    pub fn start(conn: &Connection, rules: &Rules) -> Option<Judging> {
        let path = conn.path().filter(|p| !p.is_empty())?;
        let reader = crate::store::open(std::path::Path::new(path), crate::store::Access::ReadOnly).ok()?;
        let (batches, incoming) = sync_channel::<Stored>(QUEUE);
        let (out, judged) = channel();
        let rules = rules.clone();
        let thread = std::thread::Builder::new()
            .name("ingest-judge".into())
            .spawn(move || judge_batches(&reader, rules, &incoming, &out))
            .ok()?;
        Some(Judging { batches: Some(batches), judged, thread: Some(thread), last: None, verdict: Verdict::default() })
    }

    /// `bulk` was just inserted in the caller's transaction, its last row as event `last`. Waits
    /// while the rules are a full queue behind.
    pub fn stored(&mut self, last: i64, bulk: Bulk) {
        let first = last - bulk.len() as i64 + 1;
        if bulk.is_empty() {
            return;
        }
        if self.last.is_some_and(|prev| first <= prev) {
            // Not after the batch before: nothing here can be trusted to follow in order.
            return self.stop();
        }
        self.last = Some(last);
        if let Some(batches) = &self.batches {
            if batches.send((first, bulk)).is_err() {
                self.stop();
            }
        }
    }

    /// Records the chunks judged so far, in the caller's transaction.
    pub fn record_ready(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        while let Ok(outcome) = self.judged.try_recv() {
            self.record(conn, outcome)?;
        }
        Ok(())
    }

    /// No more rows: waits for the rules to judge the rest and records it, in the caller's
    /// transaction. Returns what was judged alongside.
    pub fn finish(mut self, conn: &Connection) -> rusqlite::Result<Verdict> {
        self.batches = None;
        // The thread is still ours while its last chunks come in (a judging that has stopped
        // records nothing); it ends once it has judged what it was given.
        while let Ok(outcome) = self.judged.recv() {
            self.record(conn, outcome)?;
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Ok(self.verdict)
    }

    fn record(&mut self, conn: &Connection, outcome: Outcome) -> rusqlite::Result<()> {
        if self.stopped() {
            return Ok(());
        }
        let chunk = match outcome {
            Ok(chunk) => chunk,
            Err(why) => {
                tracing::info!("judging the import alongside stopped ({why}); the rest is judged after it");
                self.stop();
                return Ok(());
            }
        };
        match detections::record(conn, chunk.from, chunk.through, &chunk.found)? {
            Recorded::Stored => {
                self.verdict.events += chunk.events as u64;
                self.verdict.alerts += detections::raised(&chunk.found) as u64;
            }
            Recorded::Moved { now } => {
                tracing::info!("the collector judged up to event {now} first; the rest is judged after the import");
                self.stop();
            }
        }
        Ok(())
    }

    fn stopped(&self) -> bool {
        self.batches.is_none() && self.thread.is_none()
    }

    /// Stops judging alongside: nothing more is handed over or recorded. The thread ends once
    /// it finds no more batches coming.
    fn stop(&mut self) {
        self.batches = None;
        self.thread = None;
    }
}

/// The thread: judges each batch (and whatever lies before it) and hands the chunks back.
fn judge_batches(reader: &Connection, rules: Rules, incoming: &Receiver<Stored>, out: &Sender<Outcome>) {
    let mut judge = match Judge::at_stored_position(reader, rules) {
        Ok(judge) => judge,
        Err(e) => {
            let _ = out.send(Err(format!("cannot read the rules' position: {e}")));
            return;
        }
    };
    for (first, bulk) in incoming {
        // Events stored before this batch and not judged yet are left to the judging after the
        // import, in short transactions of their own: judged here, they would hold the store's
        // write lock (which the import keeps) for as long as a backlog of any size takes.
        if judge.position() < first - 1 {
            let between = crate::store::access::any_between(reader, judge.position(), first);
            match between {
                Ok(false) => {}
                Ok(true) => {
                    let why = format!("events after {} are not judged yet", judge.position());
                    let _ = out.send(Err(why));
                    return;
                }
                Err(e) => {
                    let _ = out.send(Err(format!("cannot read access events: {e}")));
                    return;
                }
            }
        }
        if judge.position() >= first {
            let why = format!("the rules stand at event {}, past the import's {first}", judge.position());
            let _ = out.send(Err(why));
            return;
        }
        if let Some(chunk) = judge.judge_rows(first, bulk.rows()) {
            if out.send(Ok(chunk)).is_err() {
                return;
            }
        }
    }
}

/// Judges what is left after an import (nothing, unless judging alongside stopped or could not
/// start), adding it to what was judged alongside.
pub fn rest(conn: &Connection, rules: &Rules, alongside: Verdict) -> rusqlite::Result<Verdict> {
    let after = judge::judge_backlog(conn, rules)?;
    Ok(Verdict {
        events: alongside.events + after.events,
        alerts: alongside.alerts + after.alerts,
        judged_elsewhere: alongside.judged_elsewhere + after.judged_elsewhere,
    })
}
