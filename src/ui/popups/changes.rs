//! The changes popup: an integrity target's status and its newest run's entries, grouped by kind,
//! each changed attribute before → after, narrowed by a typed filter.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use serde_json::{Map, Value};

use crate::app::state::{ChangesView, State};
use crate::integrity::compare;
use crate::store::alerts::Priority;
use crate::store::integrity::{Change, Status};
use crate::text::format;
use crate::text::sanitize;

/// Groups in the order an on-call engineer reads them, with their headings.
const GROUPS: [(&str, &str); 5] = [
    ("changed", "CHANGED"),
    ("modified", "CHANGED"),
    ("added", "ADDED"),
    ("removed", "REMOVED"),
    ("unreadable", "UNREADABLE"),
];

fn object(json: &Option<String>) -> Map<String, Value> {
    json.as_deref().and_then(|j| serde_json::from_str::<Map<String, Value>>(j).ok()).unwrap_or_default()
}

fn field<'a>(lines: &mut Vec<Line<'a>>, name: &str, value: String, label: Style, style: Style) {
    lines.push(Line::from(vec![
        Span::styled(format!("{name:>14}  "), label),
        Span::styled(sanitize::clean_all(&value).into_owned(), style),
    ]));
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, view: &ChangesView) {
    let theme = &state.theme;
    let t = &view.target;
    let popup = super::centered(area, area.width.saturating_sub(6).min(120), area.height.saturating_sub(2));
    let hint = if view.typing { "enter keep · esc clear" } else { "/ filter · j/k scroll · esc close" };
    let title = format!("Integrity — {}", sanitize::clean(&t.target.name, 60));
    let inner = super::frame_popup(frame, popup, theme, &title, hint);
    let (label, plain) = (theme.column_header, theme.popup);
    let mut lines: Vec<Line<'_>> = Vec::new();
    let status = t.status();
    let status_style = match status {
        Status::SignatureInvalid => theme.priority(Priority::Emergency),
        Status::Error => theme.error,
        Status::Drift(_) => theme.warning,
        Status::Clean => theme.ok,
        Status::NeverVerified => theme.muted,
    };
    let mut status_text = status.label();
    if let (Some(r), Status::Drift(_) | Status::Clean) = (&t.run, status) {
        status_text.push_str(&format!(
            " — {} changed, {} added, {} removed, {} unreadable of {} entries",
            r.modified, r.added, r.removed, r.unreadable, r.checked
        ));
    }
    field(&mut lines, "status", status_text, label, status_style);
    if let Some(why) = t.run.as_ref().and_then(|r| r.error.clone()) {
        let why = if status == Status::SignatureInvalid {
            format!("{why}. Nothing in the manifest is trusted; no files were compared.")
        } else {
            why
        };
        field(&mut lines, "problem", why, label, status_style);
    }
    field(&mut lines, "tenant", t.target.tenant.clone().unwrap_or_else(|| "—".into()), label, plain);
    field(&mut lines, "root", t.target.root.clone(), label, plain);
    field(&mut lines, "manifest", t.target.manifest_path.clone(), label, plain);
    field(&mut lines, "key", t.fingerprint().unwrap_or("—").to_string(), label, plain);
    let verified = t.run.as_ref().map_or_else(
        || "never".to_string(),
        |r| {
            let took = r.duration_ms().map(|ms| format!(", took {}", super::super::panes::seconds(ms)));
            format!("{}{}", format::timestamp(r.started), took.unwrap_or_default())
        },
    );
    field(&mut lines, "last verified", verified, label, plain);
    if let Some(at) = t.target.baselined_at {
        field(&mut lines, "baselined", format::timestamp(at), label, plain);
    }
    if view.typing || !view.filter.is_empty() {
        let cursor = if view.typing { "▏" } else { "" };
        field(&mut lines, "filter", format!("/{}{cursor}", view.filter), label, theme.filter);
    }
    lines.push(Line::raw(""));
    match &view.changes {
        None => lines.push(Line::styled("loading…", theme.muted)),
        Some(Err(e)) => lines.push(Line::styled(format!("cannot load the changes: {e}"), theme.error)),
        Some(Ok(all)) if all.is_empty() => {
            let text = match status {
                Status::Clean => "Every entry matches the signed baseline.",
                Status::NeverVerified => "Not verified yet: v verifies it now.",
                _ => "No entries were compared.",
            };
            lines.push(Line::styled(text, theme.muted));
        }
        Some(Ok(_)) => {
            let shown = view.shown();
            if shown.is_empty() {
                lines.push(Line::styled("Nothing matches the filter. Esc clears it.", theme.muted));
            }
            for (kind, heading) in GROUPS {
                let group: Vec<&&Change> = shown.iter().filter(|c| c.kind == kind).collect();
                if group.is_empty() {
                    continue;
                }
                lines.push(Line::styled(format!("{heading} ({})", group.len()), theme.title_focused));
                for c in group {
                    entry(&mut lines, c, state);
                }
            }
        }
    }
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let total = paragraph.line_count(inner.width) as u16;
    let max_scroll = total.saturating_sub(inner.height);
    frame.render_widget(paragraph.scroll((view.scroll.min(max_scroll), 0)), inner);
}

fn entry(lines: &mut Vec<Line<'_>>, c: &Change, state: &State) {
    let theme = &state.theme;
    let path = sanitize::clean_all(&c.path).into_owned();
    let (before, after) = (object(&c.before_json), object(&c.after_json));
    match c.kind.as_str() {
        "changed" | "modified" => {
            lines.push(Line::styled(format!("  {path}"), theme.popup));
            for (name, was, now) in compare::diff_rows(&before, &after) {
                let (was, now) = (sanitize::clean_all(&was).into_owned(), sanitize::clean_all(&now).into_owned());
                let label = Span::styled(format!("      {name:<7} "), theme.column_header);
                if was.chars().count() + now.chars().count() > 70 {
                    // Long values (hashes) one under the other, so they line up and never wrap.
                    lines.push(Line::from(vec![label, Span::styled(was, theme.muted)]));
                    lines.push(Line::from(vec![
                        Span::styled(format!("{:>14}", "→ "), theme.popup),
                        Span::styled(now, theme.warning),
                    ]));
                } else {
                    lines.push(Line::from(vec![
                        label,
                        Span::styled(was, theme.muted),
                        Span::styled(" → ", theme.popup),
                        Span::styled(now, theme.warning),
                    ]));
                }
            }
        }
        kind => {
            let attrs = if kind == "removed" { &before } else { &after };
            let style = if kind == "unreadable" { theme.error } else { theme.muted };
            lines.push(Line::from(vec![
                Span::styled(format!("  {path}  "), theme.popup),
                Span::styled(sanitize::clean_all(&compare::describe(attrs)).into_owned(), style),
            ]));
        }
    }
}
