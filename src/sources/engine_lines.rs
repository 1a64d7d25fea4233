//! The engine's log frames (`<RFC 3339 time> <text>`, as the logs API gives them with
//! `timestamps`) turned into whole lines, each read once: a cursor holds the time of the last
//! frame of the last whole line and how many frames carried that same time, so a stream opened
//! again from that second skips exactly what was stored before. A line the engine split into
//! partial frames (longer than 16 KiB) is joined again, and cut at [`MAX_LINE`] bytes.

use serde::{Deserialize, Serialize};

/// Longest line kept; the rest of a longer line is dropped (the line still counts as one).
pub const MAX_LINE: usize = 64 * 1024;

/// Where reading a container's log stands: the last whole line's last frame time (ns since the
/// epoch, the engine's clock) and how many frames read had exactly that time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cursor {
    /// The container the position is in (a container of the same name made anew starts afresh).
    pub container: String,
    pub ts: i64,
    pub at_ts: u64,
}

impl Cursor {
    /// The whole second to ask the engine for lines `since`.
    pub fn since_seconds(&self) -> i32 {
        i32::try_from(self.ts.div_euclid(1_000_000_000)).unwrap_or(0).max(0)
    }
}

/// A whole line, with the engine's time of its last frame (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub ts_ms: i64,
    pub text: String,
}

/// Reads frames of one opened stream against a committed cursor.
#[derive(Debug)]
pub struct Lines {
    /// Where the last whole line read ends: what may be committed.
    committed: Cursor,
    /// Where reading stands, partial line included.
    reading: Cursor,
    /// Where the stream was opened: frames up to here were read before.
    resume: Cursor,
    /// Frames seen in this stream at the resume time, while skipping what was read before.
    skipped_at_ts: u64,
    partial: Vec<u8>,
    /// The time and a hash of the last frame taken: the engine gives a line twice now and then
    /// (its json-file reader, following a file as it rotates), and a repeat is not a new line.
    last: Option<(i64, u64)>,
}

/// The engine's time at the start of a frame, and the text after it.
fn split(frame: &[u8]) -> Option<(i64, &[u8])> {
    let space = memchr::memchr(b' ', frame)?;
    let stamp = std::str::from_utf8(&frame[..space]).ok()?;
    let ts = chrono::DateTime::parse_from_rfc3339(stamp).ok()?.timestamp_nanos_opt()?;
    Some((ts, &frame[space + 1..]))
}

impl Lines {
    /// Starts a stream opened at `cursor.since_seconds()`.
    pub fn new(cursor: Cursor) -> Lines {
        Lines {
            reading: cursor.clone(),
            resume: cursor.clone(),
            committed: cursor,
            skipped_at_ts: 0,
            partial: Vec::new(),
            last: None,
        }
    }

    /// The position after the last whole line returned.
    pub fn cursor(&self) -> &Cursor {
        &self.committed
    }

    /// Takes one frame; returns the lines it completes. A frame without the engine's time (which
    /// the engine always writes) is taken as text of the line under way.
    pub fn frame(&mut self, frame: &[u8], out: &mut Vec<Line>) {
        let (ts, mut text) = match split(frame) {
            Some(split) => split,
            None => (self.reading.ts, frame),
        };
        // Older than what this stream gave already, or the same frame again: the engine repeating.
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut h);
            h.finish()
        };
        // (The parts of a long line the engine split carry one time and may be alike: only a
        // whole line repeated is a repeat.)
        let whole = text.ends_with(b"\n") && self.partial.is_empty();
        if self.last.is_some_and(|(last, last_hash)| ts < last || (whole && ts == last && hash == last_hash)) {
            return;
        }
        self.last = Some((ts, hash));
        if ts < self.resume.ts {
            return;
        }
        if ts == self.resume.ts && self.skipped_at_ts < self.resume.at_ts {
            self.skipped_at_ts += 1;
            return;
        }
        if ts > self.reading.ts {
            self.reading.ts = ts;
            self.reading.at_ts = 1;
        } else {
            self.reading.at_ts += 1;
        }
        // A frame may hold several lines (a TTY's raw stream); the last may be partial.
        loop {
            let (piece, rest, ended) = match memchr::memchr(b'\n', text) {
                Some(at) => (&text[..at], &text[at + 1..], true),
                None => (text, &text[text.len()..], false),
            };
            let room = MAX_LINE.saturating_sub(self.partial.len());
            self.partial.extend_from_slice(&piece[..piece.len().min(room)]);
            if !ended {
                break;
            }
            let mut line = String::from_utf8_lossy(&self.partial).into_owned();
            if line.ends_with('\r') {
                line.pop();
            }
            self.partial.clear();
            out.push(Line { ts_ms: ts.div_euclid(1_000_000), text: line });
            if rest.is_empty() {
                break;
            }
            text = rest;
        }
        if self.partial.is_empty() {
            self.committed = self.reading.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(second: u32, nanos: u32, text: &str) -> Vec<u8> {
        format!("2026-12-05T10:00:{second:02}.{nanos:09}Z {text}").into_bytes()
    }

    fn read(lines: &mut Lines, frames: &[Vec<u8>]) -> Vec<String> {
        let mut out = Vec::new();
        for f in frames {
            lines.frame(f, &mut out);
        }
        out.into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn a_stream_opened_again_from_the_cursor_gives_each_line_once() {
        let frames =
            [frame(1, 5, "a\n"), frame(2, 7, "b\n"), frame(2, 7, "c\n"), frame(2, 9, "d\n"), frame(3, 0, "e\n")];
        let mut first = Lines::new(Cursor::default());
        assert_eq!(read(&mut first, &frames[..3]), ["a", "b", "c"]);
        let cursor = first.cursor().clone();
        assert_eq!((cursor.at_ts, cursor.since_seconds() % 60), (2, 2));
        // The engine gives everything from that second again, and more.
        let mut again = Lines::new(cursor);
        assert_eq!(read(&mut again, &frames[1..]), ["d", "e"]);
    }

    #[test]
    fn two_lines_at_the_same_time_one_read_before_are_told_apart_by_count() {
        let frames = [frame(2, 7, "b\n"), frame(2, 7, "c\n")];
        let mut first = Lines::new(Cursor::default());
        assert_eq!(read(&mut first, &frames[..1]), ["b"]);
        let mut again = Lines::new(first.cursor().clone());
        assert_eq!(read(&mut again, &frames), ["c"]);
    }

    #[test]
    fn a_line_split_by_the_engine_is_joined_cut_and_committed_only_whole() {
        let mut lines = Lines::new(Cursor::default());
        let big = "x".repeat(MAX_LINE);
        let out = read(&mut lines, &[frame(1, 0, "ok\n"), frame(1, 1, &big), frame(1, 2, "tail")]);
        assert_eq!(out, ["ok"]);
        let half_way = lines.cursor().clone();
        assert_eq!(half_way.at_ts, 1, "the cursor stays after the last whole line");
        let out = read(&mut lines, &[frame(1, 3, "end\n")]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), MAX_LINE, "cut, still one line");
        // Opened again half-way through the split line: it is read whole from its first frame.
        let mut again = Lines::new(half_way);
        let out = read(&mut again, &[frame(1, 0, "ok\n"), frame(1, 1, "x"), frame(1, 2, "y"), frame(1, 3, "z\n")]);
        assert_eq!(out, ["xyz"]);
    }

    #[test]
    fn a_frame_the_engine_gives_twice_is_one_line() {
        let mut lines = Lines::new(Cursor::default());
        let out = read(&mut lines, &[frame(1, 0, "a\n"), frame(1, 0, "a\n"), frame(0, 9, "old\n"), frame(1, 1, "b\n")]);
        assert_eq!(out, ["a", "b"]);
    }

    #[test]
    fn text_that_looks_like_a_time_is_text() {
        let mut lines = Lines::new(Cursor::default());
        let out = read(&mut lines, &[frame(5, 0, "2030-01-01T00:00:00Z forged\r\n")]);
        assert_eq!(out, ["2030-01-01T00:00:00Z forged"]);
        assert_eq!(lines.cursor().since_seconds() % 60, 5, "the engine's time, not the line's");
    }
}
