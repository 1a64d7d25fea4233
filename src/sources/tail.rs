//! Following a log file the way `tail -F` does, without losing or repeating a line: through rename
//! rotation (the old file is read to its end first), copytruncate (the file shrinks), files that
//! do not exist yet, and a partial last line (held back until its newline arrives). The position
//! is the byte after the last whole line, so a restart resumes exactly where it stopped.

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
}

/// Longest line kept; a longer one is cut here (and still counted as one line).
const MAX_LINE: usize = 1 << 20;

impl Tail {
    /// Starts at `resume` if it still names the file at `path`, else at the beginning.
    pub fn new(path: &Path, resume: Option<Position>) -> Tail {
        let mut tail =
            Tail { path: path.to_owned(), file: None, pos: Position::default(), partial: Vec::new(), pending: 0 };
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

    /// Every whole line added since the last call, oldest first.
    pub fn read_new(&mut self) -> std::io::Result<Vec<String>> {
        let mut lines = Vec::new();
        let current = std::fs::metadata(&self.path).ok();
        // Rotated by rename (or removed): finish the file we have open, then move on.
        if let (Some(_), Some(meta)) = (&self.file, &current) {
            if meta.ino() != self.pos.inode {
                self.drain(&mut lines)?;
                self.file = None;
                self.partial.clear();
                self.pending = 0;
                self.pos = Position { inode: meta.ino(), offset: 0 };
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

    fn drain(&mut self, lines: &mut Vec<String>) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else { return Ok(()) };
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        // Where `buf` starts in the file.
        let base = self.pos.offset + self.pending;
        let mut start = 0;
        for (i, byte) in buf.iter().enumerate() {
            if *byte == b'\n' {
                let mut line = std::mem::take(&mut self.partial);
                let room = MAX_LINE.saturating_sub(line.len());
                line.extend_from_slice(&buf[start..i][..(i - start).min(room)]);
                lines.push(String::from_utf8_lossy(&line).trim_end_matches('\r').to_string());
                self.pos.offset = base + i as u64 + 1;
                self.pending = 0;
                start = i + 1;
            }
        }
        let rest = &buf[start..];
        let room = MAX_LINE.saturating_sub(self.partial.len());
        self.partial.extend_from_slice(&rest[..rest.len().min(room)]);
        self.pending += rest.len() as u64;
        Ok(())
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
        assert_eq!(t.read_new().unwrap(), ["3", "4", "5"]);
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
}
