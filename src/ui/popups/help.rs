//! The help overlay, generated from the active keymap so it can never drift from the real keys.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::action::{Action, Scope};
use crate::app::state::State;
use crate::app::update::COMMANDS;

pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, scroll: u16) {
    let theme = &state.theme;
    let popup = super::centered(area, 86, area.height.saturating_sub(4));
    let inner = super::frame_popup(
        frame,
        popup,
        theme,
        &format!("Help — keymap '{}'", state.keymap.name),
        &super::scroll_hint(&state.keymap),
    );
    let mut lines = Vec::new();
    let groups = [
        ("Move around", Scope::Navigation),
        ("Look", Scope::View),
        ("Act (confirmed where it matters, always audited)", Scope::Respond(&[])),
    ];
    for (heading, scope) in groups {
        lines.push(Line::styled(heading, theme.column_header));
        let in_group = |s: Scope| {
            let s = if let Scope::ViewOn(_) = s { Scope::View } else { s };
            std::mem::discriminant(&s) == std::mem::discriminant(&scope)
        };
        let mut shown = Vec::new();
        for b in state.keymap.bindings.iter().filter(|b| in_group(b.action.spec().scope)) {
            // One line per action: its keys, each sequence a binding of its own in the keymap.
            if shown.contains(&b.action) {
                continue;
            }
            shown.push(b.action);
            let keys = state.keymap.keys_for(b.action).map(|k| k.to_string()).collect::<Vec<_>>().join(", ");
            let mut spans = vec![
                Span::styled(format!("  {keys:<18}"), theme.footer_key.bg(theme.popup.bg.unwrap_or_default())),
                Span::raw(b.desc.clone()),
            ];
            if b.action.is_response() && state.session.read_only.is_some() {
                spans.push(Span::styled(" (disabled: read-only)", theme.muted));
            } else if let Some(why) = state.session.denied.get(b.action.name()).filter(|_| b.action.is_response()) {
                spans.push(Span::styled(format!(" (disabled: {why})"), theme.muted));
            }
            lines.push(Line::from(spans));
        }
        lines.push(Line::raw(""));
    }
    let key = |action| state.keymap.key_name(action).map_or(String::new(), |k| format!(" ({k})"));
    lines.push(Line::styled(format!("Filter language{}", key(Action::Filter)), theme.column_header));
    for text in [
        "  words            match anywhere in the row's text (\"quoted phrases\" too)",
        "  field:value      exact match, * as wildcard: ip:203.0.113.7 path:*login*",
        "  status>=400      numbers compare; status:4xx is 400-499",
        "  priority>=warning  at least as severe as Warning",
        "  since:15m until:2h  time window (s m h d w, or 2026-11-26T10:00)",
        "  !term            anything but: !tenant:acme",
    ] {
        lines.push(Line::raw(text));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(format!("Commands{}", key(Action::Command)), theme.column_header));
    // Wrapped to the popup, so every command is on screen (scrolling reaches the last line).
    lines.extend(
        wrap(COMMANDS, inner.width.saturating_sub(2) as usize).into_iter().map(|l| Line::raw(format!("  {l}"))),
    );
    // Any other line too wide for a narrow terminal says so with `…`.
    let lines: Vec<Line<'_>> = lines
        .into_iter()
        .map(|line| {
            let style = line.style;
            Line::from(crate::ui::panes::fit_spans(line.spans, inner.width)).style(style)
        })
        .collect();
    let max_scroll = (lines.len() as u16).saturating_sub(inner.height);
    frame.render_widget(Paragraph::new(lines).scroll((scroll.min(max_scroll), 0)), inner);
}

/// `text` in lines of at most `width` columns, broken between words (a word longer than a line
/// has one of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    #[test]
    fn commands_wrap_between_words() {
        assert_eq!(super::wrap("tenants, alerts, access, bans", 16), ["tenants, alerts,", "access, bans"]);
        assert_eq!(super::wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
    }
}
