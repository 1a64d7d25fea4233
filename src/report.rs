//! The incident report of one tenant: what the store holds about it over a time range, in time
//! order, as Markdown to paste into a ticket or as JSON for tools. Every text from outside is
//! cleaned of control characters, and Markdown's table and emphasis characters are escaped.

use serde_json::{json, Value};

use crate::store::incident::{Gathered, Traffic};
use crate::store::priority::Priority;
use crate::text::format::{duration, timestamp};

/// One thing that happened, at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub ts: i64,
    /// `alert`, `ban`, `unban`, `action` (an audit row), `integrity`.
    pub kind: &'static str,
    pub summary: String,
    /// Further lines: an isolation's containers, an integrity run's changed files.
    pub lines: Vec<String>,
    /// The entry as JSON.
    pub json: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub tenant: String,
    pub since: i64,
    pub until: i64,
    pub known_tenant: bool,
    pub addresses: Vec<String>,
    pub traffic: Vec<Traffic>,
    pub entries: Vec<Entry>,
}

/// Text from the store, one line, its control characters made visible, at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    crate::text::sanitize::clean(text, max).into_owned()
}

/// The most changed files listed per integrity run (the rest are counted).
const MAX_FILES: usize = 50;

impl Report {
    /// The report of `tenant` between two times written as `since:`/`until:` take them
    /// (`until` defaults to now); the error says what is wrong, in words.
    pub fn build(
        conn: &rusqlite::Connection,
        tenant: &str,
        since: &str,
        until: Option<&str>,
        now: i64,
    ) -> Result<Report, String> {
        let at = |text: &str| crate::store::filter::parse_time(text, now).map_err(|e| e.to_string());
        let since_ms = at(since)?;
        let until_ms = until.map(at).transpose()?.unwrap_or(now + 1);
        if since_ms >= until_ms {
            return Err(format!("--since {since} is not before --until {}", until.unwrap_or("now")));
        }
        let gathered = crate::store::incident::gather(conn, tenant, since_ms, until_ms)
            .map_err(|e| format!("cannot read the store: {e}"))?;
        Ok(Report::of(tenant, since_ms, until_ms, gathered))
    }

    pub fn of(tenant: &str, since: i64, until: i64, g: Gathered) -> Report {
        let mut entries = Vec::new();
        for a in &g.alerts {
            let priority = Priority::from_rank(a.priority);
            let from = a.src_ip.as_deref().map(|ip| format!(" from {}", clean(ip, 64))).unwrap_or_default();
            let drill = crate::store::drills::is_drill_actor(a.acked_by.as_deref());
            let acked = match a.acked_by.as_deref() {
                // A fire drill's alert: said as a drill's, not an incident's.
                Some(by) if drill => format!(" — DRILL, not an incident ({})", clean(by, 100)),
                Some(by) => format!(" (acknowledged by {})", clean(by, 100)),
                None => String::new(),
            };
            entries.push(Entry {
                ts: a.ts,
                kind: "alert",
                summary: format!("{} {}{from}{acked}", priority.name(), clean(&a.rule, 200)),
                lines: vec![clean(&a.output, 500)],
                json: json!({ "id": a.id, "priority": priority.name(), "rule": a.rule, "output": a.output,
                              "src_ip": a.src_ip, "acked_by": a.acked_by, "drill": drill }),
            });
        }
        for b in &g.bans {
            let length = if b.ban_seconds < 0 { "permanent".to_string() } else { duration(b.ban_seconds * 1000) };
            entries.push(Entry {
                ts: b.banned_at,
                kind: "ban",
                summary: format!(
                    "{} banned in {} ({length}, {} failures)",
                    clean(&b.ip, 64),
                    clean(&b.jail, 100),
                    b.failures
                ),
                lines: Vec::new(),
                json: json!({ "ip": b.ip, "jail": b.jail, "ban_seconds": b.ban_seconds, "failures": b.failures }),
            });
            if let Some(at) = b.unbanned_at.filter(|at| (since..until).contains(at)) {
                let by = b.unbanned_by.as_deref().map(|by| format!(" by {}", clean(by, 100))).unwrap_or_default();
                entries.push(Entry {
                    ts: at,
                    kind: "unban",
                    summary: format!("{} unbanned from {}{by}", clean(&b.ip, 64), clean(&b.jail, 100)),
                    lines: Vec::new(),
                    json: json!({ "ip": b.ip, "jail": b.jail, "by": b.unbanned_by }),
                });
            }
        }
        for a in &g.audit {
            let detail: Value = serde_json::from_str(&a.detail_json).unwrap_or(Value::Null);
            let ssh = a.ssh_client.as_deref().map(|c| format!(" from {}", clean(c, 64))).unwrap_or_default();
            let reason = a.reason.as_deref().map(|r| format!(" — \"{}\"", clean(r, 300))).unwrap_or_default();
            let message = detail["message"].as_str().map(|m| format!(": {}", clean(m, 300))).unwrap_or_default();
            // An isolation or restore says what became of each container and its networks.
            let lines: Vec<String> = detail["containers"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            let ok = if c["ok"].as_bool() == Some(true) { "ok" } else { "FAILED" };
                            let name = clean(c["container"].as_str().unwrap_or("?"), 100);
                            format!("{ok} {name}: {}", clean(c["detail"].as_str().unwrap_or(""), 300))
                        })
                        .collect()
                })
                .unwrap_or_default();
            entries.push(Entry {
                ts: a.ts,
                kind: "action",
                summary: format!(
                    "{} {} by {}{ssh}: {}{message}{reason}",
                    clean(&a.action, 40),
                    clean(&a.target, 200),
                    clean(&a.operator, 100),
                    clean(&a.outcome, 20)
                ),
                lines,
                json: json!({ "audit_id": a.id, "action": a.action, "target": a.target, "operator": a.operator,
                              "ssh_client": a.ssh_client, "reason": a.reason, "outcome": a.outcome, "detail": detail }),
            });
        }
        for r in &g.runs {
            let signature = match r.signature_ok {
                Some(true) => "signature valid",
                Some(false) => "SIGNATURE INVALID",
                None => "signature not checked",
            };
            let drift = r.modified + r.added + r.removed + r.unreadable;
            let verdict = if drift == 0 && r.signature_ok != Some(false) { "clean" } else { "drift" };
            let mut lines: Vec<String> =
                r.changes.iter().take(MAX_FILES).map(|(path, kind)| format!("{kind} {}", clean(path, 500))).collect();
            if r.changes.len() > MAX_FILES {
                lines.push(format!("… and {} more", r.changes.len() - MAX_FILES));
            }
            entries.push(Entry {
                ts: r.started,
                kind: "integrity",
                summary: format!(
                    "{} {verdict}: {} checked, {} modified, {} added, {} removed, {} unreadable; {signature}",
                    clean(&r.target, 100),
                    r.checked,
                    r.modified,
                    r.added,
                    r.removed,
                    r.unreadable
                ),
                lines,
                json: json!({ "target": r.target, "signature_ok": r.signature_ok, "checked": r.checked,
                              "modified": r.modified, "added": r.added, "removed": r.removed, "unreadable": r.unreadable,
                              "changes": r.changes.iter().map(|(p, k)| json!({"path": p, "kind": k})).collect::<Vec<_>>() }),
            });
        }
        // Time order; at one instant, what was seen before what was done about it.
        let rank = |kind: &str| ["alert", "integrity", "ban", "action", "unban"].iter().position(|k| *k == kind);
        entries.sort_by_key(|e| (e.ts, rank(e.kind)));
        Report {
            tenant: tenant.to_string(),
            since,
            until,
            known_tenant: g.exists,
            addresses: g.addresses,
            traffic: g.traffic,
            entries,
        }
    }

    fn count(&self, kind: &str) -> usize {
        self.entries.iter().filter(|e| e.kind == kind).count()
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let md = |s: &str| escape_md(s);
        let mut out = String::new();
        out.push_str(&format!("# Incident report: tenant {}\n\n", md(&clean(&self.tenant, 200))));
        out.push_str(&format!("From {} to {} (UTC).", timestamp(self.since), timestamp(self.until)));
        if !self.known_tenant {
            out.push_str(" The store knows no tenant of this name.");
        }
        out.push_str("\n\n## Summary\n\n");
        out.push_str(&format!(
            "- {} alerts, {} addresses involved, {} bans, {} unbans\n- {} actions audited, {} integrity runs\n\n",
            self.count("alert"),
            self.addresses.len(),
            self.count("ban"),
            self.count("unban"),
            self.count("action"),
            self.count("integrity")
        ));
        if !self.traffic.is_empty() {
            out.push_str("## Addresses involved\n\n");
            out.push_str("| address | requests | 4xx | 5xx | first | last | most requested |\n");
            out.push_str("|---|---:|---:|---:|---|---|---|\n");
            for t in &self.traffic {
                let paths: Vec<String> =
                    t.top_paths.iter().map(|(p, n)| format!("`{}` ×{n}", clean(p, 80).replace('`', "'"))).collect();
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} |\n",
                    md(&t.ip),
                    t.requests,
                    t.client_errors,
                    t.server_errors,
                    timestamp(t.first),
                    timestamp(t.last),
                    paths.join(", ").replace('|', "\\|")
                ));
            }
            out.push('\n');
        }
        out.push_str("## Timeline\n\n");
        if self.entries.is_empty() {
            out.push_str("Nothing recorded in this range.\n");
        }
        for e in &self.entries {
            out.push_str(&format!("- `{}` **{}** {}\n", timestamp(e.ts), e.kind, md(&e.summary)));
            for line in &e.lines {
                out.push_str(&format!("  - {}\n", md(line)));
            }
        }
        out
    }

    /// Writes the Markdown report into `dir` as `rampart-report-TENANT-YYYYMMDDTHHMMSSZ.md`, mode
    /// 0600 (it names addresses and operators), never over an existing file. Returns its path.
    pub fn write_into(&self, dir: &std::path::Path, now_ms: i64) -> std::io::Result<std::path::PathBuf> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt;
        let tenant: String = self
            .tenant
            .chars()
            .take(64)
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
            .collect();
        let at = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("rampart-report-{tenant}-{at}.md"));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        file.write_all(self.markdown().as_bytes())?;
        Ok(path)
    }

    /// The report as one JSON document.
    pub fn json(&self) -> Value {
        json!({
            "tenant": self.tenant,
            "since": timestamp(self.since),
            "until": timestamp(self.until),
            "known_tenant": self.known_tenant,
            "addresses": self.addresses,
            "traffic": self.traffic.iter().map(|t| json!({
                "ip": t.ip, "requests": t.requests, "client_errors": t.client_errors, "server_errors": t.server_errors,
                "first": timestamp(t.first), "last": timestamp(t.last),
                "top_paths": t.top_paths.iter().map(|(p, n)| json!({"path": p, "count": n})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "timeline": self.entries.iter().map(|e| {
                let mut v = json!({ "at": timestamp(e.ts), "kind": e.kind, "summary": e.summary });
                if let (Some(map), Some(more)) = (v.as_object_mut(), e.json.as_object()) {
                    map.extend(more.clone());
                }
                v
            }).collect::<Vec<_>>(),
        })
    }
}

/// Markdown's active characters escaped, so a hostile rule name or path cannot make a link,
/// an image, emphasis or a table cell of the report.
fn escape_md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '(' | ')') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cannot_be_made_to_link_or_break_a_table() {
        assert_eq!(escape_md("[x](http://evil) | *b*"), "\\[x\\]\\(http://evil\\) \\| \\*b\\*");
        assert_eq!(clean("a\u{1b}]0;t\u{7}b\nc", 100), "a^[]0;t^Gb^Jc");
    }
}
