//! Bulk intake: whole access logs and Falco output, parsed and stored in large transactions.

pub mod fingerprint;
pub mod judging;
pub mod progress;

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use color_eyre::eyre::eyre;
use rusqlite::Connection;

use crate::detect::judge::Verdict;
use crate::detect::Rules;
use crate::parse::{combined, falco};
use crate::store::transaction::{Batched, LogKeeper};
use crate::store::{access, alerts};

use self::judging::Judging;
use self::progress::Meter;

/// Rows per transaction when importing, and the most text: lines near the 64 KiB a column keeps
/// would otherwise make one transaction, and the write-ahead log with it, gigabytes long.
const BATCH: usize = 50_000;
const BATCH_TEXT: usize = 16 << 20;
/// How long a quiet input waits before what it gave is committed (a live `falco | rampart ingest
/// falco -` shows each alert within this of Falco writing it).
const IDLE_COMMIT: std::time::Duration = std::time::Duration::from_millis(200);

/// What an import did: every line is accounted for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub lines: u64,
    pub stored: u64,
    pub unparsed: u64,
    /// The first few rejected lines, with why.
    pub examples: Vec<String>,
    /// What the detection rules judged while the rows were stored (see [`Alongside::rules`]).
    pub judged: Verdict,
}

/// What an import does besides storing its rows.
#[derive(Default)]
pub struct Alongside<'a> {
    /// Judge the access events with these rules as they are stored ([`judging`]).
    pub rules: Option<&'a Rules>,
    /// Count bytes and lines here as they are read (for [`progress::Bar`]).
    pub meter: Option<Arc<Meter>>,
}

impl Counts {
    fn reject(&mut self, line_no: u64, why: &str) {
        self.unparsed += 1;
        if self.examples.len() < 5 {
            self.examples.push(format!("line {line_no}: {why}"));
        }
    }
}

/// One kind of import: how a line becomes rows of a chunk, and how a chunk is stored.
trait Intake: Send + 'static {
    type Chunk: Send + 'static;
    fn chunk(&self) -> Self::Chunk;
    /// Parses `line` into `chunk`, or says why it is not a row.
    fn parse(&self, line: &str, chunk: &mut Self::Chunk) -> Result<(), String>;
    /// Rows in the chunk, about how many bytes of text they hold, and whether it is big enough
    /// to hand over.
    fn rows(chunk: &Self::Chunk) -> usize;
    fn text_len(chunk: &Self::Chunk) -> usize;
    fn full(chunk: &Self::Chunk) -> bool;
    fn store(conn: &Connection, chunk: &Self::Chunk) -> rusqlite::Result<()>;
    /// The access events of a stored chunk, for the detection rules; none by default.
    fn events(_chunk: Self::Chunk) -> Option<access::Bulk> {
        None
    }
}

/// Access events the parser hands over at a time, and the text it makes room for (about 130 bytes
/// a line: more only for unusually long lines).
const CHUNK_ROWS: usize = 8_192;
const CHUNK_TEXT: usize = CHUNK_ROWS * 160;

/// Combined-format access log lines of one file, for one tenant.
struct AccessIntake {
    tenant: String,
    source: String,
}

impl Intake for AccessIntake {
    type Chunk = access::Bulk;

    fn chunk(&self) -> access::Bulk {
        access::Bulk::with_capacity(CHUNK_ROWS, CHUNK_TEXT)
    }

    fn parse(&self, line: &str, chunk: &mut access::Bulk) -> Result<(), String> {
        let fields = combined::fields(line).map_err(|why| why.to_string())?;
        chunk.push(&fields.row(&self.tenant, &self.source));
        Ok(())
    }

    fn rows(chunk: &access::Bulk) -> usize {
        chunk.len()
    }

    fn text_len(chunk: &access::Bulk) -> usize {
        chunk.text_len()
    }

    fn full(chunk: &access::Bulk) -> bool {
        chunk.len() >= CHUNK_ROWS || chunk.text_len() >= 8 << 20
    }

    fn store(conn: &Connection, chunk: &access::Bulk) -> rusqlite::Result<()> {
        access::insert_bulk(conn, chunk)
    }

    fn events(chunk: access::Bulk) -> Option<access::Bulk> {
        Some(chunk)
    }
}

/// Falco JSON lines.
struct FalcoIntake;

impl Intake for FalcoIntake {
    type Chunk = Vec<alerts::Alert>;

    fn chunk(&self) -> Vec<alerts::Alert> {
        Vec::new()
    }

    fn parse(&self, line: &str, chunk: &mut Vec<alerts::Alert>) -> Result<(), String> {
        chunk.push(falco::parse(line)?);
        Ok(())
    }

    fn rows(chunk: &Vec<alerts::Alert>) -> usize {
        chunk.len()
    }

    fn text_len(chunk: &Vec<alerts::Alert>) -> usize {
        chunk.iter().map(|a| a.output.len() + a.output_fields_json.len() + a.tags.len()).sum()
    }

    fn full(chunk: &Vec<alerts::Alert>) -> bool {
        chunk.len() >= 1_024
    }

    fn store(conn: &Connection, chunk: &Vec<alerts::Alert>) -> rusqlite::Result<()> {
        chunk.iter().try_for_each(|a| alerts::insert(conn, a))
    }
}

/// What the reader hands on: a line, or word that it has read all the input there is for now.
enum Input<'a> {
    Line(&'a str),
    /// A read came back short: a pipe's writer (`falco | rampart ingest falco -`) has nothing more
    /// yet, so what was read so far should be stored now rather than when a chunk fills.
    CaughtUp,
}

/// Calls `each` with every line of `input` (without its line ending; invalid UTF-8 replaced, so
/// that a stray byte costs one odd character, not the import), reading in large blocks; `each`
/// returns false to stop.
fn for_each_line(input: impl Read, each: impl FnMut(Input<'_>) -> bool) -> std::io::Result<()> {
    lines_in_blocks(input, 1 << 20, each)
}

fn lines_in_blocks(mut input: impl Read, block: usize, mut each: impl FnMut(Input<'_>) -> bool) -> std::io::Result<()> {
    let mut buf = vec![0u8; block];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0); // a line longer than the buffer
        }
        let wanted = buf.len() - filled;
        let n = match input.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let end = filled + n;
        let mut start = 0;
        // The whole lines read so far are checked as UTF-8 at once (nearly always they are, and
        // one check of a megabyte is far cheaper than a check per line); a block that is not is
        // read line by line, each bad byte costing one character.
        let whole = memchr::memrchr(b'\n', &buf[filled..end]).map_or(0, |nl| filled + nl + 1);
        let checked = simdutf8::basic::from_utf8(&buf[..whole]).ok();
        for nl in memchr::memchr_iter(b'\n', &buf[filled..end]) {
            let (at, next) = (filled + nl, filled + nl + 1);
            let line = match checked {
                Some(block) => Cow::Borrowed(&block[start..at]),
                None => text(&buf[start..at]),
            };
            start = next;
            if !each(Input::Line(line.strip_suffix('\r').unwrap_or(&line))) {
                return Ok(());
            }
        }
        if n == 0 {
            if start < end {
                each(Input::Line(&text(&buf[start..end])));
            }
            return Ok(());
        }
        if n < wanted && !each(Input::CaughtUp) {
            return Ok(());
        }
        buf.copy_within(start..end, 0);
        filled = end - start;
    }
}

/// A line as text: as it is when it is UTF-8, else with each bad byte replaced.
fn text(line: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(line) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(line),
    }
}

/// Counts the bytes read through it into a [`Meter`].
struct Counted<R> {
    inner: R,
    meter: Arc<Meter>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Parses on one thread while storing on this one, in transactions of `BATCH` rows (or
/// `BATCH_TEXT` of text), with a third thread copying the write-ahead log into the store as it
/// grows (a [`LogKeeper`]'s) and, when asked, a fourth judging the stored access events
/// ([`judging`]). Whatever stops an import early, the rows of the
/// transactions committed before it stay (judged or not, as the rules' position says), and the
/// error says how many they are.
fn in_batches<I: Intake>(
    conn: &Connection,
    input: impl Read + Send + 'static,
    intake: I,
    alongside: Alongside<'_>,
) -> color_eyre::Result<Counts> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<I::Chunk>(8);
    let meter = alongside.meter.unwrap_or_default();
    let published = meter.clone();
    let parser = std::thread::Builder::new().name("ingest-parse".into()).spawn(move || {
        let mut counts = Counts::default();
        let mut chunk = intake.chunk();
        let input = Counted { inner: input, meter: published.clone() };
        let read = for_each_line(input, |input| {
            let hand_over = match input {
                Input::Line(line) => {
                    counts.lines += 1;
                    if line.trim().is_empty() {
                        counts.reject(counts.lines, "empty line");
                    } else if let Err(why) = intake.parse(line, &mut chunk) {
                        counts.reject(counts.lines, &why);
                    }
                    I::full(&chunk)
                }
                Input::CaughtUp => I::rows(&chunk) > 0,
            };
            if !hand_over {
                return true;
            }
            published.lines.store(counts.lines, Ordering::Relaxed);
            tx.send(std::mem::replace(&mut chunk, intake.chunk())).is_ok()
        });
        published.lines.store(counts.lines, Ordering::Relaxed);
        let _ = tx.send(chunk);
        (counts, read)
    })?;
    // Before the batch begins: its checkpointer opens a connection of its own to the store.
    let keeper = LogKeeper::start(conn, "ingest-ckpt", true);
    let mut judging = alongside.rules.and_then(|rules| Judging::start(conn, rules));
    let mut committed = 0u64;
    let (mut pending, mut pending_text) = (0u64, 0usize);
    let mut judged = Verdict::default();
    let stored = (|| -> rusqlite::Result<()> {
        let bulk = Batched::begin(conn)?;
        loop {
            // A full batch is committed at once; so is what a quiet input gave, after a short wait.
            let idle = match rx.recv_timeout(IDLE_COMMIT) {
                Ok(chunk) => {
                    I::store(conn, &chunk)?;
                    pending += I::rows(&chunk) as u64;
                    pending_text += I::text_len(&chunk);
                    if let (Some(judging), Some(events)) = (judging.as_mut(), I::events(chunk)) {
                        judging.stored(conn.last_insert_rowid(), events);
                    }
                    false
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => true,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if let Some(judging) = judging.as_mut() {
                judging.record_ready(conn)?;
            }
            if pending >= BATCH as u64 || pending_text >= BATCH_TEXT || (idle && pending > 0) {
                bulk.commit_batch(keeper.as_ref())?;
                committed += std::mem::take(&mut pending);
                pending_text = 0;
                bulk.begin_batch()?;
            }
        }
        if let Some(judging) = judging.take() {
            judged = judging.finish(conn)?;
        }
        bulk.finish()?;
        committed += pending;
        Ok(())
    })();
    if stored.is_err() {
        Batched::abandon(conn);
    }
    if let Some(keeper) = keeper {
        keeper.finish();
    }
    // The rows are committed whatever the checkpoint manages.
    let restored = Batched::restore(conn);
    let (mut counts, read) =
        parser.join().map_err(|_| eyre!("the parsing thread panicked; {committed} rows were stored"))?;
    stored.map_err(|e| eyre!("the store refused a write after {committed} rows were stored: {e}"))?;
    read.map_err(|e| {
        eyre!("reading stopped after line {}: {e}; the {committed} rows before it were stored", counts.lines)
    })?;
    restored?;
    counts.stored = committed;
    counts.judged = judged;
    Ok(counts)
}

/// Imports combined-format access logs for `tenant`.
pub fn access_file(
    conn: &Connection,
    path: &Path,
    tenant: &str,
    alongside: Alongside<'_>,
) -> color_eyre::Result<Counts> {
    let file = std::fs::File::open(path).map_err(|e| eyre!("cannot read {}: {e}", path.display()))?;
    let source = format!("ingest:{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("file"));
    in_batches(conn, file, AccessIntake { tenant: tenant.to_string(), source }, alongside)
}

/// Imports Falco JSON lines, then maps the new alerts to tenants by container id or name.
pub fn falco_lines(
    conn: &Connection,
    input: impl Read + Send + 'static,
    alongside: Alongside<'_>,
) -> color_eyre::Result<Counts> {
    let before = alerts::last_id(conn)?;
    let counts = in_batches(conn, input, FalcoIntake, alongside)?;
    alerts::assign_tenants(conn, before)?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], block: usize) -> Vec<String> {
        let mut out = Vec::new();
        lines_in_blocks(input, block, |i| {
            if let Input::Line(l) = i {
                out.push(l.to_string());
            }
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_across_blocks_crlf_a_missing_last_newline_and_long_lines() {
        let text = b"first\r\nsecond\n\nthird is much longer than the block\nlast";
        let want = ["first", "second", "", "third is much longer than the block", "last"];
        for block in [1, 4, 7, 64, 1 << 20] {
            assert_eq!(lines(text, block), want, "block of {block} bytes");
        }
        assert!(lines(b"", 4).is_empty());
        assert_eq!(lines(b"one\n", 4), ["one"], "a final newline ends the last line, it does not start one");
    }

    #[test]
    fn invalid_utf8_costs_a_character_not_the_line() {
        // Every block size: a character split between two reads, a bad byte in a block of good
        // lines, and the good lines after it.
        let text = b"caf\xc3\xa9 ok\nbad \xff byte\r\nfine \xe2\x9c\x93\nlast";
        for block in 1..=40 {
            assert_eq!(
                lines(text, block),
                ["caf\u{e9} ok", "bad \u{fffd} byte", "fine \u{2713}", "last"],
                "block of {block} bytes"
            );
        }
    }

    #[test]
    fn the_reader_stops_when_asked() {
        let mut seen = 0;
        lines_in_blocks(&b"a\nb\nc\n"[..], 2, |i| {
            seen += matches!(i, Input::Line(_)) as usize;
            seen < 2
        })
        .unwrap();
        assert_eq!(seen, 2);
    }
}
