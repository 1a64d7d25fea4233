//! The detail popup: every field of one row, wrapped and scrollable.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::app::state::State;
use crate::pane::Pane;
use crate::store::related::{self, Related};
use crate::store::unparsed;
use crate::store::window::Row;
use crate::text::format;
use crate::text::sanitize;

/// Every field of a row as (name, value) pairs, values as an operator would want to read them.
pub fn fields(row: &Row) -> Vec<(&'static str, String)> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let opt_time = |v: Option<i64>| v.map_or_else(|| "—".into(), format::timestamp);
    match row {
        Row::Tenant(t) => [
            ("tenant", t.name.clone()),
            ("status", t.status.clone()),
            ("isolated at", opt_time(t.isolated_at)),
            ("isolated by", opt(&t.isolated_by)),
            ("reason", opt(&t.reason)),
            (
                "re-isolated",
                match (t.reisolated_at, &t.reisolated) {
                    (Some(at), Some(what)) => format!("{} — {what}", format::timestamp(at)),
                    _ => String::new(),
                },
            ),
            ("containers", format!("{} running of {}", t.running, t.containers)),
            ("networks", if t.networks.is_empty() { "—".into() } else { t.networks.replace(',', ", ") }),
            ("alerts, last hour", t.alerts_1h.to_string()),
            ("active bans", t.active_bans.to_string()),
            ("integrity drift", t.drift.map_or_else(|| "never verified".into(), |d| format!("{d} files"))),
            ("segmentation", segmentation(t)),
            ("containers", containers(&t.containers_json)),
        ]
        .into_iter()
        // Said only where the isolation was applied again by itself.
        .filter(|(name, value)| *name != "re-isolated" || !value.is_empty())
        .collect(),
        Row::Alert(a) => vec![
            ("id", a.id.to_string()),
            ("time", format::timestamp(a.ts)),
            ("priority", a.priority.to_string()),
            ("rule", a.rule.clone()),
            ("source", a.source.clone()),
            ("hostname", a.hostname.clone()),
            ("tenant", opt(&a.tenant)),
            ("source ip", opt(&a.src_ip)),
            ("tags", a.tags.clone()),
            ("output", a.output.clone()),
            ("output fields", pretty_json(&a.output_fields_json)),
            (
                "acknowledged",
                match (&a.acked_by, a.acked_at) {
                    (Some(by), Some(at)) => format!("by {by} at {}", format::timestamp(at)),
                    _ => "no".into(),
                },
            ),
        ],
        Row::Access(e) => vec![
            ("id", e.id.to_string()),
            ("time", format::timestamp(e.ts)),
            ("tenant", e.tenant.clone()),
            ("source ip", e.src_ip.clone()),
            ("user", opt(&e.user)),
            ("method", e.method.clone()),
            ("path", e.path.clone()),
            ("status", e.status.to_string()),
            ("bytes", e.bytes.to_string()),
            ("user agent", e.user_agent.clone()),
            ("target tenant", opt(&e.target_tenant)),
            ("flags", flag_names(e.flags)),
            ("source", e.source.clone()),
            ("host", opt(&e.host)),
        ],
        Row::Ban(b) => vec![
            ("ip", b.ip.clone()),
            ("jail", b.jail.clone()),
            ("banned at", format::timestamp(b.banned_at)),
            ("ban time", if b.ban_seconds < 0 { "permanent".into() } else { format::duration(b.ban_seconds * 1000) }),
            ("expires", b.expires_at().map_or_else(|| "never".into(), format::timestamp)),
            ("times banned", b.ban_count.to_string()),
            ("failures", b.failures.to_string()),
            ("tenant", opt(&b.tenant)),
            ("source", b.source.clone()),
            ("matched lines", matches(&b.matches_json)),
            (
                "unbanned",
                match (&b.unbanned_by, b.unbanned_at) {
                    (Some(by), Some(at)) => format!("by {by} at {}", format::timestamp(at)),
                    _ => "no".into(),
                },
            ),
        ],
        Row::Integrity(t) => {
            let mut f = vec![
                ("target", t.target.name.clone()),
                ("tenant", opt(&t.target.tenant)),
                ("root", t.target.root.clone()),
                ("manifest", t.target.manifest_path.clone()),
            ];
            match &t.run {
                None => f.push(("last run", "never verified".into())),
                Some(r) => f.extend([
                    ("last run", format::timestamp(r.started)),
                    ("finished", opt_time(r.finished)),
                    (
                        "signature",
                        match r.signature_ok {
                            Some(true) => "valid".into(),
                            Some(false) => "INVALID: the manifest does not match its signature".into(),
                            None => "not checked".into(),
                        },
                    ),
                    ("files checked", r.checked.to_string()),
                    ("modified", r.modified.to_string()),
                    ("added", r.added.to_string()),
                    ("removed", r.removed.to_string()),
                    ("unreadable", r.unreadable.to_string()),
                ]),
            }
            f
        }
        Row::RuleGroup(g) => vec![
            ("rule", g.rule.clone()),
            ("highest priority", g.priority.to_string()),
            ("alerts", g.count.to_string()),
            ("not acknowledged", g.open.to_string()),
            ("last seen", format::timestamp(g.last_ts)),
        ],
        Row::Source(r) => {
            let s = &r.status;
            let count = |n: Option<i64>| n.map_or_else(|| "not counted".into(), |n| n.to_string());
            vec![
                ("source", s.source.clone()),
                ("state", s.state().to_string()),
                ("health", s.health.as_str().to_string()),
                ("detail", s.detail.clone()),
                ("last ok", opt_time(s.last_ok)),
                ("last error", opt(&s.last_error)),
                ("stored", count(s.stored)),
                ("not parsed", count(s.unparsed)),
            ]
        }
        Row::Audit(e) => vec![
            ("id", e.id.to_string()),
            ("time", format::timestamp(e.new.ts)),
            ("operator", e.new.operator.clone()),
            ("environment", claimed(&e.new.detail_json)),
            ("ssh client", opt(&e.new.ssh_client)),
            ("host", e.new.host.clone()),
            ("action", e.new.action.clone()),
            ("target", e.new.target.clone()),
            ("reason", opt(&e.new.reason)),
            ("outcome", e.new.outcome.clone()),
            ("detail", pretty_json(&e.new.detail_json)),
            ("hash", e.hash.clone()),
            ("previous hash", e.prev_hash.clone()),
        ],
        Row::Fleet(r) => vec![
            ("host", r.origin.clone()),
            ("log group", if r.group.is_empty() { "(not recorded)".into() } else { r.group.clone() }),
            ("log stream", r.stream.clone()),
            ("kind", r.kind.clone()),
            ("id on its host", r.ref_id.to_string()),
            ("time", format::timestamp(r.ts)),
            ("what", r.summary.clone()),
            ("published fields", pretty_json(&r.fields_json)),
        ],
    }
}

fn segmentation(t: &crate::store::tenants::TenantRow) -> String {
    let mut lines = Vec::new();
    for net in t.shared_networks.split(',').filter(|n| !n.is_empty()) {
        lines.push(format!("network {net} is shared with another tenant's containers: a lateral-movement path"));
    }
    if t.on_default_bridge > 0 {
        lines.push(format!(
            "{} container(s) on Docker's default bridge, which any container can join",
            t.on_default_bridge
        ));
    }
    if lines.is_empty() {
        "no shared networks, nothing on the default bridge".into()
    } else {
        lines.join("\n")
    }
}

/// Each container with its image, state, addresses and hardening posture.
fn containers(json: &str) -> String {
    let list: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    if list.is_empty() {
        return "none".into();
    }
    let text = |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_str()).unwrap_or("?").to_string();
    let flag = |p: &serde_json::Value, key: &str| p.get(key).and_then(|x| x.as_bool()).unwrap_or(false);
    let mut lines = Vec::new();
    for c in &list {
        lines.push(format!("{}  {}  {}", text(c, "name"), text(c, "image"), text(c, "state")));
        let networks: Vec<String> = c
            .get("networks")
            .and_then(|n| n.as_array())
            .map(|nets| {
                nets.iter()
                    .map(|n| {
                        let ip = n.get("ip").and_then(|x| x.as_str()).unwrap_or("no address");
                        format!("{} {ip}", text(n, "name"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        lines.push(format!("  networks: {}", if networks.is_empty() { "none".into() } else { networks.join(", ") }));
        let p = c.get("posture").cloned().unwrap_or_default();
        let user = text(&p, "user");
        let mut posture = vec![match (flag(&p, "runs_as_root"), user.is_empty()) {
            (true, true) => "runs as root (the image's default user)".to_string(),
            (true, false) => format!("runs as root ({user})"),
            (false, _) => format!("runs as {user}"),
        }];
        posture.push(if flag(&p, "read_only_rootfs") { "read-only rootfs".into() } else { "writable rootfs".into() });
        for (key, what) in [
            ("privileged", "PRIVILEGED"),
            ("host_network", "host network"),
            ("host_pid", "host PID namespace"),
            ("docker_socket", "Docker socket mounted"),
        ] {
            if flag(&p, key) {
                posture.push(what.into());
            }
        }
        let caps: Vec<&str> = p
            .get("cap_add")
            .and_then(|c| c.as_array())
            .map(|a| a.iter().filter_map(|c| c.as_str()).collect())
            .unwrap_or_default();
        if !caps.is_empty() {
            posture.push(format!("adds {}", caps.join(", ")));
        }
        lines.push(format!("  posture: {}", posture.join(" · ")));
    }
    lines.join("\n")
}

fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| text.to_string())
}

/// What the actor's environment claimed (`SUDO_USER=alice`, one per line), kept apart from the
/// kernel's identity in the operator column; `—` when it claimed nothing.
fn claimed(detail_json: &str) -> String {
    let value = serde_json::from_str::<serde_json::Value>(detail_json).unwrap_or_default();
    let Some(claims) = value.get("claimed").and_then(|c| c.as_object()).filter(|c| !c.is_empty()) else {
        return "—".into();
    };
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    claims.iter().map(|(k, v)| format!("claimed: {k}={}", text(v))).collect::<Vec<_>>().join("\n")
}

fn matches(json: &str) -> String {
    match serde_json::from_str::<Vec<String>>(json) {
        Ok(lines) if lines.is_empty() => "—".into(),
        Ok(lines) => lines.join("\n"),
        Err(_) => json.to_string(),
    }
}

fn flag_names(flags: i64) -> String {
    use crate::store::access::flags::*;
    let names: Vec<&str> =
        [(AUTH_FAILURE, "auth failure (F)"), (CROSS_TENANT, "cross-tenant (X)"), (ATTACK, "attack pattern (A)")]
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, name)| *name)
            .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// A source's kept unparsed lines, newest first: when and why, then the line (on one line).
fn kept_text(count: i64, kept: Option<&Result<Vec<unparsed::Line>, String>>) -> String {
    match kept {
        None if count > 0 => "looking…".to_string(),
        None => "none: every line read so far was a row".to_string(),
        Some(Err(e)) => format!("cannot read the store: {e}"),
        Some(Ok(lines)) if lines.is_empty() => "none: every line read so far was a row".to_string(),
        Some(Ok(lines)) => {
            let mut text = format!(
                "the newest {} that did not parse (at most {} are kept), newest first",
                lines.len(),
                unparsed::KEEP
            );
            for l in lines {
                text.push_str(&format!("\n{}  {}", format::time(l.ts), l.reason.replace('\n', " ")));
                text.push_str(&format!("\n    {}", l.line.replace('\n', "\\n")));
            }
            text
        }
    }
}

/// One line of "this IP elsewhere".
fn related_line(row: &Related) -> String {
    let event = |label: &str, who: &str, e: &related::Event| {
        format!("{label} {}  {who}  {} {}  {}", format::time(e.ts), e.method, e.path, e.status)
    };
    match row {
        Related::Cause(e) => event("cause ", &e.src_ip, e),
        Related::Access(e) => event("access", &e.tenant, e),
        Related::Alert { ts, priority, rule, tenant } => {
            format!(
                "alert  {}  {}  {rule}  ({})",
                format::time(*ts),
                priority.short(),
                tenant.as_deref().unwrap_or("—")
            )
        }
    }
}

/// What the popup loaded besides the row, `None` while loading.
pub struct Loaded<'a> {
    /// What else the store knows of the row's IP.
    pub related: Option<&'a Result<Vec<Related>, String>>,
    /// A source's kept unparsed lines.
    pub kept: Option<&'a Result<Vec<unparsed::Line>, String>>,
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, pane: Pane, row: &Row, loaded: Loaded<'_>, scroll: u16) {
    let Loaded { related, kept } = loaded;
    let theme = &state.theme;
    let popup = super::centered(area, area.width.saturating_sub(8).min(110), area.height.saturating_sub(4));
    let title = format!("{} — detail", pane.title());
    let inner = super::frame_popup(frame, popup, theme, &title, &super::scroll_hint(&state.keymap));
    let mut lines = Vec::new();
    let mut all = fields(row);
    let related_text = match related {
        Some(Ok(rows)) if rows.is_empty() => "nothing else in the store".to_string(),
        Some(Ok(rows)) => rows.iter().map(related_line).collect::<Vec<_>>().join("\n"),
        Some(Err(e)) => format!("cannot read the store: {e}"),
        None => "looking…".to_string(),
    };
    let has_ip = match row {
        Row::Ban(_) | Row::Access(_) => true,
        Row::Alert(a) => a.src_ip.is_some(),
        _ => false,
    };
    if has_ip {
        all.push(("this IP elsewhere", related_text));
    }
    if let Row::Source(r) = row {
        all.push(("kept lines", kept_text(r.kept, kept)));
    }
    for (name, value) in all {
        let mut first = true;
        for part in value.split('\n') {
            let label = if first { format!("{name:>18}  ") } else { " ".repeat(20) };
            first = false;
            lines.push(Line::from(vec![
                Span::styled(label, theme.column_header),
                Span::raw(sanitize::clean_all(part).into_owned()),
            ]));
        }
    }
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let total = paragraph.line_count(inner.width) as u16;
    let max_scroll = total.saturating_sub(inner.height);
    frame.render_widget(paragraph.scroll((scroll.min(max_scroll), 0)), inner);
}
