//! Walking a file tree: every entry's attributes from `lstat`, and each regular file's SHA-256,
//! streamed and hashed on every core. Symlinks are recorded, never followed.

use std::collections::BTreeMap;
use std::fs::{self, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};

/// What an entry is, as `lstat` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

impl Kind {
    /// The manifest's one-letter code (as `find -printf %y` writes it).
    pub fn code(self) -> char {
        match self {
            Kind::File => 'f',
            Kind::Dir => 'd',
            Kind::Symlink => 'l',
            Kind::Fifo => 'p',
            Kind::Socket => 's',
            Kind::CharDevice => 'c',
            Kind::BlockDevice => 'b',
        }
    }

    pub fn from_code(c: char) -> Option<Kind> {
        Some(match c {
            'f' => Kind::File,
            'd' => Kind::Dir,
            'l' => Kind::Symlink,
            'p' => Kind::Fifo,
            's' => Kind::Socket,
            'c' => Kind::CharDevice,
            'b' => Kind::BlockDevice,
            _ => return None,
        })
    }

    /// How an operator reads it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::CharDevice => "char device",
            Kind::BlockDevice => "block device",
        }
    }

    fn of(meta: &Metadata) -> Kind {
        let t = meta.file_type();
        if t.is_dir() {
            Kind::Dir
        } else if t.is_symlink() {
            Kind::Symlink
        } else if t.is_fifo() {
            Kind::Fifo
        } else if t.is_socket() {
            Kind::Socket
        } else if t.is_char_device() {
            Kind::CharDevice
        } else if t.is_block_device() {
            Kind::BlockDevice
        } else {
            Kind::File
        }
    }
}

/// One entry of a tree: its path relative to the root (`.` for the root itself) and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: Vec<u8>,
    pub kind: Kind,
    /// Bytes of a regular file's content, or of a symlink's target; 0 for the rest.
    pub size: u64,
    /// Permission bits with setuid, setgid and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Seconds and nanoseconds since the epoch.
    pub mtime: (i64, u32),
    /// Regular files only.
    pub sha256: Option<[u8; 32]>,
    /// Symlinks only.
    pub target: Option<Vec<u8>>,
}

impl Entry {
    fn from_meta(path: Vec<u8>, meta: &Metadata) -> Entry {
        let kind = Kind::of(meta);
        Entry {
            path,
            kind,
            size: if matches!(kind, Kind::File | Kind::Symlink) { meta.size() } else { 0 },
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            mtime: (meta.mtime(), meta.mtime_nsec().clamp(0, 999_999_999) as u32),
            sha256: None,
            target: None,
        }
    }
}

/// What a walk found: entries it could read whole, sorted by path, and those it could not, with why.
#[derive(Debug, Default)]
pub struct Walked {
    pub entries: Vec<Entry>,
    /// Path → why it could not be read (permission denied, vanished during the walk, changed
    /// while being read, a directory that could not be listed). Never also in `entries`.
    pub unreadable: BTreeMap<Vec<u8>, String>,
    /// Directories whose contents are unknown (they are in `unreadable` too).
    pub unlisted: Vec<Vec<u8>>,
    /// What `lstat` said of the unreadable entries it could see (no content hash): a mode or an
    /// owner that changed is still reported when the content cannot be read.
    pub partial: BTreeMap<Vec<u8>, Entry>,
}

/// Why a walk could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("cannot read the root {path}: {why}")]
    Root { path: PathBuf, why: String },
    #[error("the root {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("bad exclude pattern '{pattern}': {why}")]
    Exclude { pattern: String, why: String },
}

/// Exclude patterns, gitignore-like: a pattern without `/` matches an entry's name at any depth
/// (`*.log`, `cache`); one with `/` matches the path from the root (`var/cache/**`, `/tmp`), where
/// `*` stays within one name and `**` crosses folders. An excluded directory is not entered.
#[derive(Debug, Clone)]
pub struct Excludes {
    names: GlobSet,
    paths: GlobSet,
}

impl Excludes {
    pub fn new(patterns: &[String]) -> Result<Excludes, WalkError> {
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        for pattern in patterns {
            let bad = |e: globset::Error| WalkError::Exclude { pattern: pattern.clone(), why: e.kind().to_string() };
            let trimmed = pattern.trim_start_matches('/').trim_end_matches('/');
            if trimmed.is_empty() {
                return Err(WalkError::Exclude { pattern: pattern.clone(), why: "it matches nothing".into() });
            }
            let glob = GlobBuilder::new(trimmed).literal_separator(true).backslash_escape(true).build().map_err(bad)?;
            if pattern.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| WalkError::Exclude { pattern: patterns.join(" "), why: e.kind().to_string() })
        };
        Ok(Excludes { names: build(names)?, paths: build(paths)? })
    }

    pub fn none() -> Excludes {
        Excludes { names: GlobSet::empty(), paths: GlobSet::empty() }
    }

    fn matches(&self, rel: &[u8], name: &[u8]) -> bool {
        let as_path = |b: &[u8]| Path::new(std::ffi::OsStr::from_bytes(b)).to_path_buf();
        (!self.names.is_empty() && self.names.is_match(as_path(name)))
            || (!self.paths.is_empty() && self.paths.is_match(as_path(rel)))
    }
}

/// Bytes read from a file at a time.
const CHUNK: usize = 256 * 1024;

/// Walks `root` (not following symlinks below it, not entering other file systems — a mount point
/// is recorded, its contents are not), then hashes every regular file on `threads` threads.
pub fn walk(root: &Path, excludes: &Excludes, threads: usize) -> Result<Walked, WalkError> {
    let root_meta =
        fs::symlink_metadata(root).map_err(|e| WalkError::Root { path: root.to_owned(), why: file_reason(&e) })?;
    if !root_meta.is_dir() {
        return Err(WalkError::NotADirectory(root.to_owned()));
    }
    let device = root_meta.dev();
    let mut out = Walked::default();
    out.entries.push(Entry::from_meta(b".".to_vec(), &root_meta));
    let mut dirs: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some(dir) = dirs.pop() {
        let full = join(root, &dir);
        let listing = match fs::read_dir(&full) {
            Ok(l) => l,
            Err(e) => {
                let rel = if dir.is_empty() { b".".to_vec() } else { dir };
                unlisted(&mut out, rel, &e);
                continue;
            }
        };
        for item in listing {
            let item = match item {
                Ok(i) => i,
                Err(e) => {
                    let rel = if dir.is_empty() { b".".to_vec() } else { dir.clone() };
                    unlisted(&mut out, rel, &e);
                    break;
                }
            };
            let name = item.file_name();
            let name = name.as_bytes();
            let mut rel = dir.clone();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name);
            if excludes.matches(&rel, name) {
                continue;
            }
            // DirEntry::metadata is an lstat relative to the open directory.
            match item.metadata() {
                Ok(meta) => {
                    let mut entry = Entry::from_meta(rel.clone(), &meta);
                    match entry.kind {
                        Kind::Dir if meta.dev() == device => dirs.push(rel),
                        Kind::Symlink => match fs::read_link(join(root, &rel)) {
                            Ok(target) => entry.target = Some(target.as_os_str().as_bytes().to_vec()),
                            Err(e) => {
                                out.unreadable.insert(rel.clone(), io_reason(&e));
                                out.partial.insert(rel, entry);
                                continue;
                            }
                        },
                        _ => {}
                    }
                    out.entries.push(entry);
                }
                Err(e) => {
                    out.unreadable.insert(rel, io_reason(&e));
                }
            }
        }
    }
    out.entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    hash_all(root, &mut out, threads.max(1));
    Ok(out)
}

fn unlisted(out: &mut Walked, rel: Vec<u8>, e: &io::Error) {
    // The directory's own attributes are known, but without its contents it is not whole.
    if let Some(at) = out.entries.iter().position(|entry| entry.path == rel) {
        let entry = out.entries.remove(at);
        out.partial.insert(rel.clone(), entry);
    }
    out.unreadable.insert(rel.clone(), format!("cannot list its contents: {}", io_reason(e)));
    out.unlisted.push(rel);
}

/// Hashes the regular files of `out` in place, on `threads` threads taking files in turn.
fn hash_all(root: &Path, out: &mut Walked, threads: usize) {
    let files: Vec<usize> = (0..out.entries.len()).filter(|i| out.entries[*i].kind == Kind::File).collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Entry, String>)>> = Mutex::new(Vec::with_capacity(files.len()));
    let entries = &out.entries;
    std::thread::scope(|scope| {
        for _ in 0..threads.min(files.len()).max(1) {
            scope.spawn(|| {
                let mut buf = vec![0u8; CHUNK];
                let mut mine = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = files.get(k) else { break };
                    mine.push((i, hash_file(root, &entries[i], &mut buf)));
                }
                results.lock().unwrap_or_else(|p| p.into_inner()).extend(mine);
            });
        }
    });
    let mut gone = Vec::new();
    for (i, result) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        match result {
            Ok(entry) => out.entries[i] = entry,
            Err(why) => {
                out.unreadable.insert(out.entries[i].path.clone(), why);
                out.partial.insert(out.entries[i].path.clone(), out.entries[i].clone());
                gone.push(i);
            }
        }
    }
    if !gone.is_empty() {
        gone.sort_unstable();
        let mut index = 0;
        out.entries.retain(|_| {
            let keep = gone.binary_search(&index).is_err();
            index += 1;
            keep
        });
    }
}

/// A regular file's content hash and the attributes that go with it. The file is opened without
/// following symlinks and without blocking (a FIFO put in its place cannot hang the walk), must be
/// the same file `lstat` saw, and must not change while it is read (one retry), or it is unreadable.
fn hash_file(root: &Path, seen: &Entry, buf: &mut [u8]) -> Result<Entry, String> {
    let path = join(root, &seen.path);
    let mut last_change = String::new();
    for _ in 0..2 {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => "replaced by a symlink during the walk".to_string(),
                _ => io_reason(&e),
            })?;
        let before = file.metadata().map_err(|e| io_reason(&e))?;
        if !before.is_file() {
            return Err(format!("replaced by a {} during the walk", Kind::of(&before).name()));
        }
        let mut hasher = Sha256::new();
        let mut read: u64 = 0;
        loop {
            match file.read(buf) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    read += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_reason(&e)),
            }
        }
        let after = file.metadata().map_err(|e| io_reason(&e))?;
        let stable = read == after.size()
            && before.size() == after.size()
            && (before.mtime(), before.mtime_nsec()) == (after.mtime(), after.mtime_nsec())
            && (before.ctime(), before.ctime_nsec()) == (after.ctime(), after.ctime_nsec());
        if stable {
            let mut entry = Entry::from_meta(seen.path.clone(), &after);
            entry.sha256 = Some(hasher.finalize().into());
            return Ok(entry);
        }
        last_change = "changed while being read (twice)".to_string();
    }
    Err(last_change)
}

/// `root` joined with a relative path (`.` and the empty path are the root).
pub fn join(root: &Path, rel: &[u8]) -> PathBuf {
    if rel.is_empty() || rel == b"." {
        root.to_owned()
    } else {
        root.join(std::ffi::OsStr::from_bytes(rel))
    }
}

/// An I/O error as an operator reads it: "permission denied", not "Permission denied (os error 13)".
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::NotFound => "vanished during the walk".into(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

/// An I/O error on a file named by the operator (a key, a root), not met during a walk: a missing
/// one is "no such file", not "vanished during the walk".
pub fn file_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".into(),
        _ => io_reason(e),
    }
}

/// The threads hashing uses: every core.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry a walk would have recorded for `rel` before it changed.
    fn seen(root: &Path, rel: &str) -> Entry {
        Entry::from_meta(rel.as_bytes().to_vec(), &fs::symlink_metadata(root.join(rel)).unwrap())
    }

    #[test]
    fn a_file_that_vanishes_or_is_replaced_after_lstat_is_unreadable_never_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut buf = vec![0u8; CHUNK];
        fs::write(root.join("gone"), "x").unwrap();
        let gone = seen(root, "gone");
        fs::remove_file(root.join("gone")).unwrap();
        assert_eq!(hash_file(root, &gone, &mut buf), Err("vanished during the walk".into()));

        // A FIFO put where a file was: opening it must not wait for a writer.
        fs::write(root.join("pipe"), "x").unwrap();
        let pipe = seen(root, "pipe");
        fs::remove_file(root.join("pipe")).unwrap();
        assert!(std::process::Command::new("mkfifo").arg(root.join("pipe")).status().unwrap().success());
        assert_eq!(hash_file(root, &pipe, &mut buf), Err("replaced by a fifo during the walk".into()));

        fs::write(root.join("link"), "x").unwrap();
        let link = seen(root, "link");
        fs::remove_file(root.join("link")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
        assert_eq!(hash_file(root, &link, &mut buf), Err("replaced by a symlink during the walk".into()));
    }

    #[test]
    fn excludes_match_names_anywhere_and_paths_from_the_root() {
        let x = Excludes::new(&["*.log".into(), "var/cache/**".into(), "/tmp".into()]).unwrap();
        assert!(x.matches(b"a/b/app.log", b"app.log"));
        assert!(x.matches(b"var/cache/x/y", b"y"));
        assert!(x.matches(b"tmp", b"tmp"));
        assert!(!x.matches(b"src/tmp", b"tmp"), "a pattern with / is anchored at the root");
        assert!(!x.matches(b"var/cache", b"cache"));
        assert!(Excludes::new(&["[".into()]).is_err());
    }
}
