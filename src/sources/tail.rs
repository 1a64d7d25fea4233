//! Following a log file the way `tail -F` does, without losing or repeating a line: through rename
//! rotation (the old file is read to its end first), copytruncate (the file shrinks), files that
//! do not exist yet, and a partial last line (held back until its newline arrives). The position
//! is the byte after the last whole line, so a restart resumes exactly where it stopped. A file is
//! read at most [`CHUNK`] bytes at a time, so a multi-gigabyte log met for the first time is taken
//! in bounded steps, each stored with the position after it, never whole.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where reading stands: which file (by inode) and the byte after the last whole line read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub inode: u64,
    pub offset: u64,
}

pub struct Tail {
    path: PathBuf,
    file: Option<File>,
    pos: Position,
    /// The start of a line whose newline has not arrived yet (at most `MAX_LINE` bytes of it)…
    partial: Vec<u8>,
    /// …and how many bytes it really has so far.
    pending: u64,
    /// Most bytes read per call.
    chunk: usize,
    /// Whether the last call stopped at `chunk` bytes with more of the file (possibly) waiting.
    more: bool,
}

/// Most bytes [`Tail::read_new`] reads from a file at once (1 MiB).
pub const CHUNK: usize = 1 << 20;

/// Longest line kept; a longer one is cut here (and still counted as one line).
const MAX_LINE: usize = 1 << 20;

impl Tail {
    /// Starts at `resume` if it still names the file at `path`, else at the beginning.
    pub fn new(path: &Path, resume: Option<Position>) -> Tail {
        Tail::with_chunk(path, resume, CHUNK)
    }

    /// Like [`Tail::new`], reading at most `chunk` bytes per call.
    pub fn with_chunk(path: &Path, resume: Option<Position>, chunk: usize) -> Tail {
        let mut tail = Tail {
            path: path.to_owned(),
            file: None,
            pos: Position::default(),
            partial: Vec::new(),
            pending: 0,
            chunk: chunk.max(1),
            more: false,
        };
        if let Some(p) = resume {
            if let Ok(meta) = std::fs::metadata(path) {
                if meta.ino() == p.inode && meta.len() >= p.offset {
                    tail.pos = p;
                }
            }
        }
        tail
    }

    pub fn position(&self) -> Position {
        self.pos
    }

    /// Whether the last [`Tail::read_new`] stopped at its bound rather than at the end of the file:
    /// call again at once to read on.
    pub fn more(&self) -> bool {
        self.more
    }

    /// The whole lines added since the last call, oldest first, from at most one chunk of the file
    /// (a line cut by the chunk's end comes whole in a later call). [`Tail::position`] is then the
    /// byte after the last of them, and [`Tail::more`] says whether the file has more already.
    pub fn read_new(&mut self) -> std::io::Result<Vec<String>> {
        let mut lines = Vec::new();
        self.more = false;
        let current = std::fs::metadata(&self.path).ok();
        // Rotated by rename (or removed): finish the file we have open, then move on.
        if let (Some(_), Some(meta)) = (&self.file, &current) {
            if meta.ino() != self.pos.inode {
                if !self.drain(&mut lines)? {
                    return Ok(lines);
                }
                self.file = None;
                self.partial.clear();
                self.pending = 0;
                self.pos = Position { inode: meta.ino(), offset: 0 };
                if !lines.is_empty() {
                    // The old file's last lines make this call's chunk; the new file comes next.
                    self.more = true;
                    return Ok(lines);
                }
            }
        } else if self.file.is_some() && current.is_none() {
            self.drain(&mut lines)?;
            return Ok(lines);
        }
        let Some(meta) = current else { return Ok(lines) };
        if self.file.is_none() {
            let mut file = File::open(&self.path)?;
            if meta.ino() != self.pos.inode {
                self.pos = Position { inode: meta.ino(), offset: 0 };
            }
            file.seek(SeekFrom::Start(self.pos.offset))?;
            self.file = Some(file);
        }
        // Truncated in place (copytruncate): start over from the top.
        if meta.len() < self.pos.offset + self.pending {
            self.partial.clear();
            self.pending = 0;
            self.pos.offset = 0;
            if let Some(f) = self.file.as_mut() {
                f.seek(SeekFrom::Start(0))?;
            }
        }
        self.drain(&mut lines)?;
        Ok(lines)
    }

    /// Reads on from the open file, at most one chunk; true when it reached the file's end.
    fn drain(&mut self, lines: &mut Vec<String>) -> std::io::Result<bool> {
        let Some(file) = self.file.as_mut() else { return Ok(true) };
        let mut buf = Vec::new();
        file.take(self.chunk as u64).read_to_end(&mut buf)?;
        let at_end = buf.len() < self.chunk;
        self.more = !at_end;
        // Where `buf` starts in the file.
        let base = self.pos.offset + self.pending;
        let mut start = 0;
        for i in memchr::memchr_iter(b'\n', &buf) {
            let mut line = std::mem::take(&mut self.partial);
            let room = MAX_LINE.saturating_sub(line.len());
            line.extend_from_slice(&buf[start..i][..(i - start).min(room)]);
            lines.push(String::from_utf8_lossy(&line).trim_end_matches('\r').to_string());
            self.pos.offset = base + i as u64 + 1;
            self.pending = 0;
            start = i + 1;
        }
        let rest = &buf[start..];
        let room = MAX_LINE.saturating_sub(self.partial.len());
        self.partial.extend_from_slice(&rest[..rest.len().min(room)]);
        self.pending += rest.len() as u64;
        Ok(at_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn a_file_that_appears_later_then_grows_with_a_partial_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut t = Tail::new(&path, None);
        assert!(t.read_new().unwrap().is_empty(), "not there yet: nothing, no error");
        append(&path, "one\ntw");
        assert_eq!(t.read_new().unwrap(), ["one"]);
        assert_eq!(t.position().offset, 4, "the partial line is not consumed");
        append(&path, "o\nthree\n");
        assert_eq!(t.read_new().unwrap(), ["two", "three"]);
    }

    #[test]
    fn rename_rotation_reads_the_old_file_to_its_end_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        append(&path, "1\n2\n");
        let mut t = Tail::new(&path, None);
        assert_eq!(t.read_new().unwrap(), ["1", "2"]);
        append(&path, "3\n");
        std::fs::rename(&path, dir.path().join("a.log.1")).unwrap();
        append(&dir.path().join("a.log.1"), "4\n");
        append(&path, "5\n");
        assert_eq!(t.read_new().unwrap(), ["3", "4"], "the old file to its end…");
        assert!(t.more());
        assert_eq!(t.read_new().unwrap(), ["5"], "…then the new one");
        append(&path, "6\n");
        assert_eq!(t.read_new().unwrap(), ["6"]);
    }

    #[test]
    fn copytruncate_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        append(&path, "aaaa\nbbbb\n");
        let mut t = Tail::new(&path, None);
        assert_eq!(t.read_new().unwrap().len(), 2);
        std::fs::copy(&path, dir.path().join("a.log.1")).unwrap();
        std::fs::OpenOptions::new().write(true).truncate(true).open(&path).unwrap();
        append(&path, "c\n");
        assert_eq!(t.read_new().unwrap(), ["c"]);
    }

    #[test]
    fn a_restart_resumes_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        append(&path, "1\n2\n3");
        let mut t = Tail::new(&path, None);
        assert_eq!(t.read_new().unwrap(), ["1", "2"]);
        let saved = t.position();
        drop(t);
        append(&path, "\n4\n");
        let mut again = Tail::new(&path, Some(saved));
        assert_eq!(again.read_new().unwrap(), ["3", "4"], "no duplicates, no gaps");
        // A saved position for another file (rotated while we were down) starts from the top.
        let other = Position { inode: saved.inode + 1, offset: 2 };
        assert_eq!(Tail::new(&path, Some(other)).read_new().unwrap().len(), 4);
    }

    /// Reads until the end of what is there, checking that no call reads more than one chunk: its
    /// lines are at most a chunk, plus the start of a line the chunk before cut.
    fn read_in_chunks(t: &mut Tail, chunk: usize) -> Vec<(Vec<String>, Position)> {
        let mut calls = Vec::new();
        loop {
            let lines = t.read_new().unwrap();
            let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
            let carried = lines.first().map_or(0, String::len);
            assert!(bytes <= chunk + carried, "one call gave {bytes} bytes of lines, more than a chunk of {chunk}");
            let more = t.more();
            calls.push((lines, t.position()));
            if !more {
                return calls;
            }
        }
    }

    fn numbered(range: std::ops::Range<usize>) -> String {
        range.map(|i| format!("line {i} {}\n", "x".repeat(i % 37))).collect()
    }

    #[test]
    fn a_file_much_larger_than_a_chunk_is_read_a_chunk_at_a_time_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let text = numbered(0..2_000);
        append(&path, &text);
        let mut t = Tail::with_chunk(&path, None, 1_000);
        let calls = read_in_chunks(&mut t, 1_000);
        assert!(calls.len() > 40, "{} calls", calls.len());
        let mut read = String::new();
        for (lines, position) in &calls {
            lines.iter().for_each(|l| read.extend([l.as_str(), "\n"]));
            assert_eq!(position.offset, read.len() as u64, "the position is the byte after the lines given");
        }
        assert_eq!(read, text, "every line once, in order");
        assert!(t.read_new().unwrap().is_empty() && !t.more());
    }

    #[test]
    fn a_restart_after_some_chunks_continues_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let text = numbered(0..500);
        append(&path, &text);
        let mut t = Tail::with_chunk(&path, None, 700);
        let mut read = String::new();
        for _ in 0..3 {
            t.read_new().unwrap().iter().for_each(|l| read.extend([l.as_str(), "\n"]));
            assert!(t.more());
        }
        let saved = t.position();
        assert_eq!(saved.offset, read.len() as u64);
        drop(t);
        let mut again = Tail::with_chunk(&path, Some(saved), 700);
        for (lines, _) in read_in_chunks(&mut again, 700) {
            lines.iter().for_each(|l| read.extend([l.as_str(), "\n"]));
        }
        assert_eq!(read, text, "no duplicate, no gap");
    }

    #[test]
    fn a_line_longer_than_a_chunk_comes_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let long = "y".repeat(2_500);
        append(&path, &format!("short\n{long}\nafter\n"));
        let mut t = Tail::with_chunk(&path, None, 1_000);
        let mut lines = Vec::new();
        loop {
            lines.extend(t.read_new().unwrap());
            if !t.more() {
                break;
            }
        }
        assert_eq!(lines, ["short", long.as_str(), "after"]);
    }

    #[test]
    fn rotation_reads_the_old_file_to_its_end_a_chunk_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        append(&path, "first\n");
        let mut t = Tail::with_chunk(&path, None, 500);
        assert_eq!(t.read_new().unwrap(), ["first"]);
        let old = numbered(0..100);
        append(&path, &old);
        std::fs::rename(&path, dir.path().join("a.log.1")).unwrap();
        let new = numbered(100..200);
        append(&path, &new);
        let mut read = String::new();
        for (lines, _) in read_in_chunks(&mut t, 500) {
            lines.iter().for_each(|l| read.extend([l.as_str(), "\n"]));
        }
        assert_eq!(read, format!("{old}{new}"));
        assert_eq!(t.position().offset, new.len() as u64);
    }
}
