//! Judging stored access events in id order, a bounded chunk at a time, from where the rules stand.
//!
//! One position in the store says how far the rules have judged; a chunk's alerts and the move of
//! that position are committed together, and only if nobody else moved it first. The collector
//! and any number of imports may judge at once: each event is judged once.

use rusqlite::Connection;

use super::{Detection, Detector, Rules};
use crate::store::detections::{self, Recorded};
use crate::store::{access, tenants, transaction};

/// Most events judged at a time: about ten milliseconds of reading and ten of rules, then a commit.
pub const CHUNK: usize = 10_000;
/// Most events replayed to bring the rules' windows up to where judging resumes.
const RECALL: i64 = 10_000;

/// The events after `from` up to and including `through`, judged, and the alerts they raised.
#[derive(Debug)]
pub struct Judged {
    pub from: i64,
    pub through: i64,
    pub events: usize,
    pub found: Vec<Detection>,
}

/// The rules, their windows, and the position they have judged up to.
pub struct Judge {
    rules: Rules,
    detector: Detector,
    position: i64,
    /// The rules saw events past the position in a read that failed part-way: their windows go
    /// back to the position before they see anything again, so that no event counts twice.
    saw_ahead: bool,
}

impl Judge {
    /// Rules that will judge the events after the store's position.
    pub fn at_stored_position(conn: &Connection, rules: Rules) -> rusqlite::Result<Judge> {
        let mut judge = Judge { detector: Detector::new(rules.clone()), rules, position: 0, saw_ahead: false };
        judge.refresh_context(conn)?;
        judge.resume_at(conn, detections::position(conn)?)?;
        Ok(judge)
    }

    /// The last event judged (by this judge, whether or not that is stored yet).
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Reads again which addresses belong to which tenant's containers, and which tenants are isolated.
    pub fn refresh_context(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.detector.addresses = tenants::container_addresses(conn)?;
        self.detector.isolated = tenants::isolated_since(conn)?;
        Ok(())
    }

    /// Goes on from after event `position` (where someone else's judging left the store): the
    /// rules start afresh, then see again the events just before it without raising anything,
    /// so that an attack already alerted on is not alerted on twice and one that began there is
    /// still counted from its start.
    pub fn resume_at(&mut self, conn: &Connection, position: i64) -> rusqlite::Result<()> {
        // Read first: a read that fails leaves the rules as they were.
        let recent = events(conn, position.saturating_sub(RECALL), position, RECALL as usize)?;
        let mut detector = Detector::new(self.rules.clone());
        detector.addresses = std::mem::take(&mut self.detector.addresses);
        detector.isolated = std::mem::take(&mut self.detector.isolated);
        let newest = recent.iter().map(|e| e.ts).max().unwrap_or(0);
        let remembered = newest.saturating_sub(detector.memory_ms());
        for e in recent.iter().filter(|e| e.ts >= remembered) {
            detector.observe(e);
        }
        // What those events added to open incidents was stored with them.
        detector.flush();
        self.detector = detector;
        self.position = position;
        self.saw_ahead = false;
        Ok(())
    }

    /// Judges the next events after the position (at most [`CHUNK`], none after `last` when
    /// given) and moves past them; `None` when there are none. The caller stores the result with
    /// [`detections::record`] and, if that says the store moved on, calls [`Judge::resume_at`].
    /// The events are read one at a time, never held together: what the collector runs all day.
    pub fn next(&mut self, conn: &Connection, last: Option<i64>) -> rusqlite::Result<Option<Judged>> {
        if self.saw_ahead {
            self.resume_at(conn, self.position)?;
        }
        let (from, mut through, mut events, mut found) = (self.position, None, 0, Vec::new());
        let detector = &mut self.detector;
        let read = access::each_for_rules(conn, from, last.unwrap_or(i64::MAX), CHUNK, |e| {
            found.extend(detector.observe(&e));
            (through, events) = (Some(e.id), events + 1);
        });
        if let Err(e) = read {
            // Part of the chunk was seen, and will be read again.
            self.saw_ahead |= through.is_some();
            return Err(e);
        }
        let Some(through) = through else { return Ok(None) };
        found.extend(self.detector.flush());
        self.position = through;
        Ok(Some(Judged { from, through, events, found }))
    }

    /// Judges rows just stored as events `first`, `first + 1`, … in their order, and moves past
    /// them; `None` when there are none. No unjudged event may lie between the position and
    /// `first` (the caller makes sure), so the judged chunk runs from the position through the
    /// last of these rows. Long text is seen as [`Judge::next`] sees it read back: its first 64 KiB.
    pub fn judge_rows<'a>(&mut self, first: i64, rows: impl Iterator<Item = access::Row<'a>>) -> Option<Judged> {
        let mut found = Vec::new();
        let mut id = first - 1;
        for row in rows {
            id += 1;
            let row = access::Row { path: capped(row.path), user_agent: capped(row.user_agent), ..row };
            found.extend(self.detector.observe_row(id, &row));
        }
        if id < first {
            return None;
        }
        found.extend(self.detector.flush());
        let from = std::mem::replace(&mut self.position, id);
        Some(Judged { from, through: id, events: (id - first + 1) as usize, found })
    }

    /// Judges `batch`, the events (in id order) that follow the position; `None` when it is empty.
    fn judge(&mut self, batch: &[access::AccessEvent]) -> Option<Judged> {
        let through = batch.last()?.id;
        let mut found: Vec<Detection> = batch.iter().flat_map(|e| self.detector.observe(e)).collect();
        found.extend(self.detector.flush());
        let from = std::mem::replace(&mut self.position, through);
        Some(Judged { from, through, events: batch.len(), found })
    }
}

/// Reads the events after `after` up to `last`, chunk by chunk, on a thread of its own with its
/// own connection, so that reading the next chunk overlaps judging this one (each takes about
/// half the time on a store of a million imported events).
struct ReadAhead {
    chunks: std::sync::mpsc::Receiver<rusqlite::Result<Vec<access::AccessEvent>>>,
    _thread: std::thread::JoinHandle<()>,
}

impl ReadAhead {
    /// `None` for a store with no file (in memory), or when no second connection or thread can
    /// start (then the judge reads for itself).
    fn start(conn: &Connection, after: i64, last: i64) -> Option<ReadAhead> {
        let path = conn.path().filter(|p| !p.is_empty())?;
        let reader = crate::store::open(std::path::Path::new(path), crate::store::Access::ReadOnly).ok()?;
        let (tx, chunks) = std::sync::mpsc::sync_channel(2);
        let thread = std::thread::Builder::new().name("judge-read".into()).spawn(move || {
            let mut after = after;
            loop {
                let batch = events(&reader, after, last, CHUNK);
                let next = batch.as_ref().ok().and_then(|b| b.last()).map(|e| e.id);
                // Stops at the end, after an error, or when the judge stops listening.
                if tx.send(batch).is_err() {
                    return;
                }
                match next {
                    Some(id) => after = id,
                    None => return,
                }
            }
        });
        thread.ok().map(|thread| ReadAhead { chunks, _thread: thread })
    }

    fn next(&self) -> rusqlite::Result<Vec<access::AccessEvent>> {
        self.chunks.recv().unwrap_or_else(|_| Ok(Vec::new()))
    }
}

/// Access events with ids after `after` up to and including `through`, in id order, at most `limit`.
fn events(conn: &Connection, after: i64, through: i64, limit: usize) -> rusqlite::Result<Vec<access::AccessEvent>> {
    access::for_rules(conn, after, through, limit)
}

/// Longest text the rules look at in one column: a hostile megabyte-long path costs no more.
const TEXT_CAP: usize = crate::store::TEXT_CAP;

/// `text` cut to at most [`TEXT_CAP`] bytes, at a character's start.
fn capped(text: &str) -> &str {
    if text.len() <= TEXT_CAP {
        return text;
    }
    let mut end = TEXT_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What judging the backlog did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Events judged here.
    pub events: u64,
    /// Alerts those raised.
    pub alerts: u64,
    /// Events another process (a running collector) judged meanwhile.
    pub judged_elsewhere: u64,
}

/// Judges every stored access event the rules have not judged yet, up to the newest there is when
/// it starts, committing each chunk's alerts and position together (`conn` must not be inside a
/// transaction). Used after an import; a running collector may judge alongside without an event
/// being judged twice.
pub fn judge_backlog(conn: &Connection, rules: &Rules) -> rusqlite::Result<Verdict> {
    let last = access::last_id(conn)?;
    if detections::position(conn)? >= last {
        // Nothing to judge (an import judged alongside): no need to recall the rules' windows.
        return Ok(Verdict::default());
    }
    let mut judge = Judge::at_stored_position(conn, rules.clone())?;
    let mut verdict = Verdict::default();
    let mut ahead = ReadAhead::start(conn, judge.position(), last);
    loop {
        let batch = match &ahead {
            Some(ahead) => ahead.next()?,
            None => events(conn, judge.position(), last, CHUNK)?,
        };
        let Some(chunk) = judge.judge(&batch) else { break };
        let recorded =
            transaction::immediate(conn, |conn| detections::record(conn, chunk.from, chunk.through, &chunk.found));
        match recorded {
            Ok(Recorded::Stored) => {
                verdict.events += chunk.events as u64;
                verdict.alerts += detections::raised(&chunk.found) as u64;
            }
            Ok(Recorded::Moved { now }) => {
                verdict.judged_elsewhere += access::count_between(conn, chunk.from, now.min(last))?;
                judge.resume_at(conn, now)?;
                // What was read ahead follows the old position: read again from the new one.
                ahead = ahead.and_then(|_| ReadAhead::start(conn, now, last));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{self, Access};

    /// A read of the collector's chunk that fails part-way (here SQLite interrupted after the
    /// rules saw some of it) is read again, and the rules see each event once: the brute force is
    /// raised as if the read had never failed, not lost in the failed read's alerts and then
    /// counted into an incident nobody was told of.
    #[test]
    fn a_chunk_read_again_after_a_failed_read_is_judged_once() {
        let dir = tempfile::tempdir().unwrap();
        let conn = store::open(&dir.path().join("j.db"), Access::ReadWrite).unwrap();
        let failure = |i: i64| access::AccessEvent {
            ts: 1_790_000_000_000 + i * 1_000,
            tenant: "acme".into(),
            src_ip: "198.51.100.7".into(),
            method: "POST".into(),
            path: "/login".into(),
            status: 401,
            ..Default::default()
        };
        access::insert_many(&conn, &(0..2_000).map(failure).collect::<Vec<_>>()).unwrap();
        let judged = |fail_once: bool| {
            let mut judge = Judge::at_stored_position(&conn, Rules::default()).unwrap();
            if fail_once {
                let mut steps = 0;
                conn.progress_handler(
                    50,
                    Some(move || {
                        steps += 1;
                        steps == 40
                    }),
                );
                let failed = judge.next(&conn, None);
                conn.progress_handler(0, None::<fn() -> bool>);
                assert!(failed.is_err(), "the read was interrupted");
                assert!(judge.saw_ahead, "after the rules saw some of the chunk");
            }
            let mut found = Vec::new();
            while let Some(chunk) = judge.next(&conn, None).unwrap() {
                found.extend(chunk.found.into_iter().filter(|d| !d.update).map(|d| (d.alert.rule, d.events)));
            }
            (found, judge.position())
        };
        let whole = judged(false);
        assert_eq!(whole.0.len(), 1, "one brute force, one alert: {:?}", whole.0);
        assert_eq!(judged(true), whole);
    }
}
