//! Baseline against a fresh walk: what was added, removed, changed (each attribute before → after)
//! or could not be read.

use serde_json::{json, Map, Value};

use super::walk::{Entry, Kind, Walked};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Changed,
    Added,
    Removed,
    Unreadable,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 4] =
        [ChangeKind::Changed, ChangeKind::Added, ChangeKind::Removed, ChangeKind::Unreadable];

    /// The store's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Changed => "changed",
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Unreadable => "unreadable",
        }
    }
}

/// One entry that differs. For `Changed`, `before` and `after` hold only the attributes that
/// differ; for `Added` and `Removed` the whole entry on its side; for `Unreadable`, `after` holds
/// `error` (why) and `before` the baseline's entry, if it had one. An entry that cannot be read is
/// reported twice when more is known: `Unreadable`, and `Changed` (the attributes `lstat` still
/// shows, such as a mode, that differ) or `Added` (new since the baseline).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub path: Vec<u8>,
    pub kind: ChangeKind,
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
}

impl Change {
    /// The path as text (bytes that are not UTF-8 shown as U+FFFD; the manifest keeps them exactly).
    pub fn display_path(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// Every attribute an entry has, as an operator reads it.
pub fn attributes(e: &Entry) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(e.kind.name()));
    m.insert("size".into(), json!(e.size));
    m.insert("mode".into(), json!(format!("{:04o}", e.mode)));
    m.insert("uid".into(), json!(e.uid));
    m.insert("gid".into(), json!(e.gid));
    m.insert("mtime".into(), json!(mtime_text(e.mtime)));
    if let Some(h) = e.sha256 {
        m.insert("sha256".into(), json!(hex::encode(h)));
    }
    if let Some(t) = &e.target {
        m.insert("target".into(), json!(String::from_utf8_lossy(t)));
    }
    m
}

/// `2026-11-26 12:00:00.123456789 UTC`.
pub fn mtime_text((secs, nanos): (i64, u32)) -> String {
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.9f UTC").to_string(),
        None => format!("{secs}.{nanos:09}"),
    }
}

/// Compares a baseline's entries (sorted by path) with a walk. Entries under a directory the walk
/// could not list are not called removed: the directory is reported unreadable instead.
pub fn compare(baseline: &[Entry], now: &Walked) -> Vec<Change> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let under_unlisted = |path: &[u8]| {
        now.unlisted
            .iter()
            .any(|d| d.as_slice() == b"." || (path.len() > d.len() && path.starts_with(d) && path[d.len()] == b'/'))
    };
    let removed_or_unreadable = |e: &Entry, out: &mut Vec<Change>| {
        if let Some(why) = now.unreadable.get(&e.path) {
            out.push(Change {
                path: e.path.clone(),
                kind: ChangeKind::Unreadable,
                before: attributes(e),
                after: error(why),
            });
            if let Some(seen) = now.partial.get(&e.path) {
                // The content is unknown, so its hash is not compared; the rest is.
                let (mut b, mut n) = (attributes(e), attributes(seen));
                if seen.sha256.is_none() {
                    b.remove("sha256");
                    n.remove("sha256");
                }
                if let Some(changed) = differ(&e.path, &b, &n) {
                    out.push(changed);
                }
            }
        } else if !under_unlisted(&e.path) {
            out.push(Change {
                path: e.path.clone(),
                kind: ChangeKind::Removed,
                before: attributes(e),
                after: Map::new(),
            });
        }
    };
    while i < baseline.len() || j < now.entries.len() {
        let order = match (baseline.get(i), now.entries.get(j)) {
            (Some(b), Some(n)) => b.path.cmp(&n.path),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, _) => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                removed_or_unreadable(&baseline[i], &mut out);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let n = &now.entries[j];
                out.push(Change {
                    path: n.path.clone(),
                    kind: ChangeKind::Added,
                    before: Map::new(),
                    after: attributes(n),
                });
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (b, n) = (attributes(&baseline[i]), attributes(&now.entries[j]));
                out.extend(differ(&baseline[i].path, &b, &n));
                i += 1;
                j += 1;
            }
        }
    }
    // Unreadable entries the baseline never had: new, so added too.
    for (path, why) in &now.unreadable {
        if baseline.binary_search_by(|e| e.path.as_slice().cmp(path)).is_err() {
            out.push(Change {
                path: path.clone(),
                kind: ChangeKind::Unreadable,
                before: Map::new(),
                after: error(why),
            });
            let after = now.partial.get(path).map_or_else(|| error(why), attributes);
            out.push(Change { path: path.clone(), kind: ChangeKind::Added, before: Map::new(), after });
        }
    }
    out.sort_by(|a, b| (&a.path, a.kind).cmp(&(&b.path, b.kind)));
    out
}

/// The attributes that differ between two sides of one path, as a `Changed`, if any do.
fn differ(path: &[u8], b: &Map<String, Value>, n: &Map<String, Value>) -> Option<Change> {
    let (mut before, mut after) = (Map::new(), Map::new());
    for key in b.keys().chain(n.keys()) {
        let (x, y) = (b.get(key), n.get(key));
        if x != y && !before.contains_key(key) {
            before.insert(key.clone(), x.cloned().unwrap_or(Value::Null));
            after.insert(key.clone(), y.cloned().unwrap_or(Value::Null));
        }
    }
    (!before.is_empty()).then(|| Change { path: path.to_vec(), kind: ChangeKind::Changed, before, after })
}

fn error(why: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("error".into(), json!(why));
    m
}

/// The order attributes are shown in.
const ORDER: [&str; 8] = ["type", "sha256", "size", "mode", "uid", "gid", "mtime", "target"];

/// A JSON attribute value as text: strings bare, absent as `—`.
pub fn value_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Each attribute of a changed entry as (name, before, after), in a fixed order.
pub fn diff_rows(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<(String, String, String)> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort_by_key(|k| (ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()), k.to_string()));
    keys.dedup();
    keys.into_iter().map(|k| (k.clone(), value_text(before.get(k)), value_text(after.get(k)))).collect()
}

/// An entry's attributes on one line: `file, 120 bytes, mode 0644, uid 0, gid 0, sha256 9b1c…`.
pub fn describe(attrs: &Map<String, Value>) -> String {
    if let Some(why) = attrs.get("error") {
        return value_text(Some(why));
    }
    let get = |k: &str| value_text(attrs.get(k));
    let mut parts = vec![get("type")];
    if attrs.contains_key("sha256") || get("type") == "file" {
        parts.push(format!("{} bytes", get("size")));
    }
    parts.push(format!("mode {}", get("mode")));
    parts.push(format!("uid {}", get("uid")));
    parts.push(format!("gid {}", get("gid")));
    parts.push(format!("mtime {}", get("mtime")));
    if attrs.contains_key("sha256") {
        parts.push(format!("sha256 {}", get("sha256")));
    }
    if attrs.contains_key("target") {
        parts.push(format!("→ {}", get("target")));
    }
    parts.join(", ")
}

/// What an operator must see before accepting a tree: set-uid or set-gid bits that are new,
/// symlinks that point out of the tree, and entries that cannot be read — each as (path, what).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    pub setuid: Vec<(String, String)>,
    pub outside: Vec<(String, String)>,
    pub unreadable: Vec<(String, String)>,
}

impl Warnings {
    /// From the changes since a trusted baseline: only what is new is warned of. `now` is the tree
    /// as walked (sorted by path), which says what a changed entry is.
    pub fn of_changes(changes: &[Change], now: &[Entry], root: &[u8]) -> Warnings {
        let is_directory =
            |path: &[u8]| now.binary_search_by(|e| e.path.as_slice().cmp(path)).is_ok_and(|i| now[i].kind == Kind::Dir);
        let mut w = Warnings::default();
        for c in changes {
            let path = c.display_path();
            match c.kind {
                ChangeKind::Added | ChangeKind::Changed => {
                    let bits = |m: &Map<String, Value>| mode_of(m).map_or(0, |mode| mode & 0o6000);
                    let gained = bits(&c.after) & !bits(&c.before);
                    // A set-gid folder only passes its group on; a file is what runs as another user.
                    if gained != 0 && !is_directory(&c.path) {
                        w.setuid.push((path.clone(), format!("mode {}", value_text(c.after.get("mode")))));
                    }
                    if let Some(Value::String(target)) = c.after.get("target") {
                        if points_outside(&c.path, target.as_bytes(), root) {
                            w.outside.push((path, format!("→ {target}")));
                        }
                    }
                }
                ChangeKind::Unreadable => w.unreadable.push((path, value_text(c.after.get("error")))),
                ChangeKind::Removed => {}
            }
        }
        w
    }

    /// From a whole tree, when there is no trusted baseline to compare with: every one is warned of.
    pub fn of_tree(entries: &[Entry], root: &[u8]) -> Warnings {
        let mut w = Warnings::default();
        for e in entries {
            let path = String::from_utf8_lossy(&e.path).into_owned();
            if e.mode & 0o6000 != 0 && e.kind != Kind::Dir {
                w.setuid.push((path.clone(), format!("mode {:04o}", e.mode)));
            }
            if let Some(target) = &e.target {
                if points_outside(&e.path, target, root) {
                    w.outside.push((path, format!("→ {}", String::from_utf8_lossy(target))));
                }
            }
        }
        w
    }
}

fn mode_of(attrs: &Map<String, Value>) -> Option<u32> {
    attrs.get("mode").and_then(Value::as_str).and_then(|m| u32::from_str_radix(m, 8).ok())
}

/// Whether a symlink at `path` (relative to the tree's root) whose target is `target` resolves,
/// by its text alone, to somewhere outside the tree at `root`.
pub fn points_outside(path: &[u8], target: &[u8], root: &[u8]) -> bool {
    if target.starts_with(b"/") {
        // Absolute: inside only when, with `..` resolved, it is under the root's own path.
        let mut resolved: Vec<&[u8]> = Vec::new();
        for part in target.split(|b| *b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    resolved.pop();
                }
                name => resolved.push(name),
            }
        }
        let root: Vec<&[u8]> = root.split(|b| *b == b'/').filter(|p| !p.is_empty()).collect();
        return !resolved.starts_with(&root);
    }
    let mut depth = path.split(|b| *b == b'/').filter(|p| !p.is_empty() && *p != b".").count().saturating_sub(1);
    for part in target.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if depth == 0 => return true,
            b".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_out_of_the_tree_are_told_by_their_text() {
        let root = b"/srv/acme";
        assert!(!points_outside(b"etc/current", b"app.conf", root));
        assert!(!points_outside(b"etc/up", b"..", root), "etc/.. is the root");
        assert!(points_outside(b"etc/up2", b"../..", root));
        assert!(points_outside(b"link", b"../x", root));
        assert!(!points_outside(b"a/b/link", b"../../c/./d", root));
        assert!(points_outside(b"a/b/link", b"x/../../../..", root));
        assert!(points_outside(b"etc/hosts", b"/etc/shadow", root));
        assert!(!points_outside(b"x", b"/srv/acme/etc/hosts", root));
        assert!(points_outside(b"x", b"/srv/acme/../other", root));
        assert!(points_outside(b"x", b"/srv/acmeother", root), "a prefix of a name is not under it");
    }
}
