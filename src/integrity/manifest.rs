//! The manifest: a canonical text form of a walked tree — the same tree always gives the same bytes.
//!
//! ```text
//! rampart integrity manifest 1
//! tool rampart/0.1.0
//! host web-1
//! root /srv/acme
//! key SHA256:3f2a…
//! exclude *.log
//! entries 3
//! # path type size mode uid gid mtime sha256 target
//! . d 0 0755 0 0 1795694400.000000000 - -
//! app.conf f 120 0644 0 0 1795694400.123456789 9b1c… -
//! current l 8 0777 0 0 1795694400.000000000 - releases%2F7
//! ```
//!
//! Entries are sorted by path bytes. Paths, symlink targets, the root and exclude patterns are
//! written with every byte outside printable ASCII, and `%`, as `%XX` (a field that is exactly `-`
//! as `%2D`), so any file name fits on one line. No wall-clock time is written: two baselines of
//! an unchanged tree are byte for byte the same, and so are their verifications. When a baseline
//! was taken is kept outside the signed bytes (the store, the audit log, and the name a replaced
//! manifest is kept under).

use std::fmt::Write as _;

use super::walk::{Entry, Kind};

pub const MAGIC: &str = "rampart integrity manifest 1";
const COLUMNS: &str = "# path type size mode uid gid mtime sha256 target";

/// What the manifest says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `rampart/0.1.0`: the tool that wrote it.
    pub tool: String,
    pub host: String,
    /// The directory that was walked (as bytes: any path fits).
    pub root: Vec<u8>,
    /// The signing key's fingerprint (`SHA256:` and the hex SHA-256 of its SubjectPublicKeyInfo).
    pub key: String,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub header: Header,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the manifest: {why}")]
pub struct ManifestError {
    pub line: usize,
    pub why: String,
}

/// The canonical bytes of a header and entries (which must be sorted by path, as a walk gives them).
pub fn render(header: &Header, entries: &[Entry]) -> Vec<u8> {
    let mut out = String::with_capacity(128 + entries.len() * 120);
    let _ = writeln!(out, "{MAGIC}");
    let _ = writeln!(out, "tool {}", escape(header.tool.as_bytes()));
    let _ = writeln!(out, "host {}", escape(header.host.as_bytes()));
    let _ = writeln!(out, "root {}", escape(&header.root));
    let _ = writeln!(out, "key {}", escape(header.key.as_bytes()));
    for pattern in &header.exclude {
        let _ = writeln!(out, "exclude {}", escape(pattern.as_bytes()));
    }
    let _ = writeln!(out, "entries {}", entries.len());
    let _ = writeln!(out, "{COLUMNS}");
    for e in entries {
        let _ = writeln!(
            out,
            "{} {} {} {:04o} {} {} {}.{:09} {} {}",
            escape(&e.path),
            e.kind.code(),
            e.size,
            e.mode,
            e.uid,
            e.gid,
            e.mtime.0,
            e.mtime.1,
            e.sha256.map_or_else(|| "-".to_string(), hex::encode),
            e.target.as_deref().map_or_else(|| "-".to_string(), escape),
        );
    }
    out.into_bytes()
}

/// Reads a manifest written by [`render`]. Only ever called on bytes whose signature was verified.
pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ManifestError { line: 0, why: format!("not text: {e}") })?;
    let mut lines = text.split_terminator('\n').enumerate().map(|(i, l)| (i + 1, l)).peekable();
    let mut expect = |prefix: &str| -> Result<(usize, String), ManifestError> {
        match lines.next() {
            Some((n, l)) if l == prefix => Ok((n, String::new())),
            Some((n, l)) => match l.strip_prefix(prefix).and_then(|rest| rest.strip_prefix(' ')) {
                Some(value) => Ok((n, value.to_string())),
                None => Err(ManifestError { line: n, why: format!("expected '{prefix}'") }),
            },
            None => Err(ManifestError { line: 0, why: format!("ends before '{prefix}'") }),
        }
    };
    let text_field = |(line, v): (usize, String)| -> Result<String, ManifestError> {
        String::from_utf8(unescape(&v).ok_or_else(|| bad(line, "bad %-escape"))?).map_err(|_| bad(line, "not UTF-8"))
    };
    let (line, magic) = expect(MAGIC)?;
    if !magic.is_empty() {
        return Err(bad(line, &format!("expected '{MAGIC}'")));
    }
    let tool = text_field(expect("tool")?)?;
    let host = text_field(expect("host")?)?;
    let (line, root) = expect("root")?;
    let root = unescape(&root).ok_or_else(|| bad(line, "bad %-escape"))?;
    let key = text_field(expect("key")?)?;
    let mut exclude = Vec::new();
    let mut count = None;
    for (n, l) in lines.by_ref() {
        if let Some(p) = l.strip_prefix("exclude ") {
            exclude.push(text_field((n, p.to_string()))?);
        } else if let Some(c) = l.strip_prefix("entries ") {
            count = Some(c.parse::<usize>().map_err(|_| bad(n, "bad entry count"))?);
            break;
        } else {
            return Err(bad(n, "expected 'exclude' or 'entries'"));
        }
    }
    let count = count.ok_or_else(|| bad(0, "no 'entries' line"))?;
    match lines.next() {
        Some((_, l)) if l == COLUMNS => {}
        Some((n, _)) => return Err(bad(n, "expected the column line")),
        None => return Err(bad(0, "ends before the entries")),
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(count.min(1 << 24));
    for (n, l) in lines {
        let entry = parse_entry(l).ok_or_else(|| bad(n, "malformed entry"))?;
        if entries.last().is_some_and(|last| last.path >= entry.path) {
            return Err(bad(n, "entries out of order or repeated"));
        }
        entries.push(entry);
    }
    if entries.len() != count {
        return Err(bad(0, &format!("{} entries where the header says {count}", entries.len())));
    }
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        return Err(bad(0, "the last line is cut short"));
    }
    Ok(Manifest { header: Header { tool, host, root, key, exclude }, entries })
}

fn bad(line: usize, why: &str) -> ManifestError {
    ManifestError { line, why: why.to_string() }
}

fn parse_entry(line: &str) -> Option<Entry> {
    let mut f = line.split(' ');
    let path = unescape(f.next()?)?;
    let kind = Kind::from_code(single(f.next()?)?)?;
    let size = f.next()?.parse().ok()?;
    let mode = u32::from_str_radix(f.next()?, 8).ok()?;
    let uid = f.next()?.parse().ok()?;
    let gid = f.next()?.parse().ok()?;
    let (secs, nanos) = f.next()?.split_once('.')?;
    let mtime = (secs.parse().ok()?, nanos.parse().ok()?);
    let sha256 = match f.next()? {
        "-" => None,
        h => Some(hex::decode(h).ok()?.try_into().ok()?),
    };
    let target = match f.next()? {
        "-" => None,
        t => Some(unescape(t)?),
    };
    if f.next().is_some() || path.is_empty() {
        return None;
    }
    Some(Entry { path, kind, size, mode, uid, gid, mtime, sha256, target })
}

fn single(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

/// Every byte outside printable ASCII, and `%`, as `%XX`; a lone `-` as `%2D`.
pub fn escape(bytes: &[u8]) -> String {
    if bytes == b"-" {
        return "%2D".into();
    }
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x21..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &[u8]) -> Entry {
        Entry {
            path: path.to_vec(),
            kind: Kind::File,
            size: 3,
            mode: 0o4755,
            uid: 0,
            gid: 42,
            mtime: (1_795_694_400, 5),
            sha256: Some([7; 32]),
            target: None,
        }
    }

    #[test]
    fn any_name_round_trips_on_one_line() {
        let header = Header {
            tool: "rampart 0.1.0".into(),
            host: "web 1".into(),
            root: b"/srv/a b".to_vec(),
            key: "SHA256:00".into(),
            exclude: vec!["*.log".into(), "var/cache/**".into()],
        };
        let mut link = entry(b"z");
        link.kind = Kind::Symlink;
        link.sha256 = None;
        link.target = Some(b"-".to_vec());
        let entries = vec![entry(b"-"), entry(b"new\nline %41 \xff"), link];
        let bytes = render(&header, &entries);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text.lines().count(), 8 + 3 + 1, "{text}");
        assert!(text.contains("new%0Aline%20%2541%20%FF f 3 4755 0 42 1795694400.000000005 "), "{text}");
        let back = parse(&bytes).unwrap();
        assert_eq!(back.header, header);
        assert_eq!(back.entries, entries);
    }

    #[test]
    fn damaged_manifests_are_refused() {
        let header =
            Header { tool: "t".into(), host: "h".into(), root: b"/".to_vec(), key: "k".into(), exclude: vec![] };
        let good = render(&header, &[entry(b"a"), entry(b"b")]);
        assert!(parse(&good).is_ok());
        let cut = &good[..good.len() - 1];
        assert!(parse(cut).is_err(), "a cut last line");
        let text = String::from_utf8(good.clone()).unwrap();
        assert!(parse(text.replace("entries 2", "entries 3").as_bytes()).is_err());
        let swapped = text.replace("\na f", "\nc f");
        assert!(parse(swapped.as_bytes()).is_err(), "out of order");
    }
}
