//! Baseline against a fresh walk: what was added, removed, changed (each attribute before → after)
//! or could not be read.

use serde_json::{json, Map, Value};

use super::walk::{Entry, Walked};

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
/// `error` (why) and `before` the baseline's entry, if it had one.
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
                let keys: Vec<String> = b.keys().chain(n.keys()).cloned().collect();
                let (mut before, mut after) = (Map::new(), Map::new());
                for key in keys {
                    let (x, y) = (b.get(&key), n.get(&key));
                    if x != y {
                        before.insert(key.clone(), x.cloned().unwrap_or(Value::Null));
                        after.insert(key, y.cloned().unwrap_or(Value::Null));
                    }
                }
                if !before.is_empty() {
                    out.push(Change { path: baseline[i].path.clone(), kind: ChangeKind::Changed, before, after });
                }
                i += 1;
                j += 1;
            }
        }
    }
    // Unreadable entries the baseline never had.
    for (path, why) in &now.unreadable {
        if baseline.binary_search_by(|e| e.path.as_slice().cmp(path)).is_err() {
            out.push(Change {
                path: path.clone(),
                kind: ChangeKind::Unreadable,
                before: Map::new(),
                after: error(why),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
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
