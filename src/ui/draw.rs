//! The whole screen: header, panes, footer (hints, a message, or an input line) and popups.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{panes, popups};
use crate::action::{Action, Scope};
use crate::app::state::{InputKind, Level, Popup, Role, State};
use crate::config::keymap::Keys;
use crate::layout;
use crate::store::status::Health;
use crate::text::{format, sanitize};

pub fn draw(frame: &mut Frame<'_>, state: &State) {
    let area = frame.area();
    frame.render_widget(Paragraph::new("").style(state.theme.base), area);
    if layout::too_small(area) {
        too_small(frame, area, state);
        return;
    }
    let screen = layout::screen(area);
    header(frame, screen.header, state);
    for (pane, rect) in layout::panes(screen.body, state.focus, state.zoomed) {
        panes::draw(frame, rect, state, pane);
    }
    footer(frame, screen.footer, state);
    match &state.popup {
        Some(Popup::Help { scroll }) => popups::help::draw(frame, screen.body, state, *scroll),
        Some(Popup::Detail { pane, row, scroll, related, kept }) => {
            let loaded = popups::detail::Loaded { related: related.as_ref(), kept: kept.as_ref() };
            popups::detail::draw(frame, screen.body, state, *pane, row, loaded, *scroll)
        }
        Some(Popup::Confirm(c)) => popups::confirm::draw(frame, screen.body, state, c),
        Some(Popup::Changes(view)) => popups::changes::draw(frame, screen.body, state, view),
        Some(Popup::Report { title, lines, scroll }) => {
            popups::report::draw(frame, screen.body, state, title, lines, *scroll)
        }
        None => {}
    }
}

fn too_small(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let quit = state.keymap.key_name(Action::Quit).unwrap_or_else(|| "ctrl-c".to_string());
    let text = format!(
        "Terminal too small: {}x{}.\nrampart needs at least {}x{}.\nEnlarge the window, or press {quit} to quit.",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT
    );
    let height = 3.min(area.height);
    let rect = Rect { y: area.y + (area.height - height) / 2, height, ..area };
    frame.render_widget(Paragraph::new(text).style(state.theme.warning).centered().wrap(Wrap { trim: true }), rect);
}

fn header(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = &state.theme;
    let s = &state.session;
    let sep = || Span::styled(" │ ", theme.header);
    let mut spans = vec![
        vec![Span::styled(" rampart ", theme.header_accent)],
        // At most 40 columns each, and a longer one says it was cut.
        vec![sep(), panes::fit(Span::styled(sanitize::clean(&s.operator.host, 400).into_owned(), theme.header), 40)],
        vec![sep(), panes::fit(Span::styled(sanitize::clean(&s.operator.name, 400).into_owned(), theme.header), 40)],
    ];
    if s.demo {
        spans.push(vec![sep(), Span::styled("DEMO", theme.header_accent)]);
    }
    if s.acts_not_at_all() {
        spans.push(vec![Span::raw(" "), Span::styled(" READ-ONLY ", theme.badge_read_only)]);
    }
    if state.paused {
        spans.push(vec![Span::raw(" "), Span::styled(" PAUSED ", theme.badge_paused)]);
    }
    if !state.overview.signature_invalid.is_empty() {
        // The loudest state the console has: a baseline that can no longer be trusted.
        let names = sanitize::clean(&state.overview.signature_invalid.join(", "), 400).into_owned();
        let loud = theme.priority(crate::store::alerts::Priority::Emergency);
        // Never dropped for want of room: cut to what is left before the clock (and marked).
        let before: usize = spans.iter().flatten().map(Span::width).sum();
        let left = area.width.saturating_sub(format::clock(state.now_ms).len() as u16 + 3 + before as u16);
        let badge = panes::fit(Span::styled(format!(" SIGNATURE INVALID: {names} "), loud), left);
        spans.push(vec![Span::raw(" "), badge]);
    }
    match &s.role {
        Role::Viewer { holder } => {
            // The holder is what the lock file says: text from outside, made inert.
            let holder = sanitize::clean(holder, 200);
            spans.push(vec![sep(), Span::styled(format!("viewer (collector: {holder})"), theme.header)]);
        }
        Role::Uncollected => {
            let loud = theme.warning.bg(theme.header.bg.unwrap_or_default());
            spans.push(vec![sep(), Span::styled("nobody collects", loud)]);
        }
        Role::Collector => {}
    }
    let look = |health: Health| match health {
        Health::Ok => ("●", theme.ok),
        Health::Degraded => ("◐", theme.warning),
        Health::Down => ("✖", theme.error),
        Health::Off => ("○", theme.muted),
    };
    let on_header = |style: ratatui::style::Style| style.bg(theme.header.bg.unwrap_or_default());
    // Names cut to fit, but never to the same label: two groups under one prefix stay apart.
    // A source the collector no longer runs is left to the Sources view.
    let running: Vec<_> = state
        .overview
        .sources
        .iter()
        .filter(|s| !(s.health == Health::Off && s.summary == crate::store::status::NOT_CONFIGURED))
        .collect();
    let names: Vec<String> = running.iter().map(|s| sanitize::clean(&s.source, 200).into_owned()).collect();
    let labels = format::short_labels(&names.iter().map(String::as_str).collect::<Vec<_>>(), 24);
    // The worst first, so that a source that is down is never the one left out.
    let rank = |h: Health| [Health::Down, Health::Degraded, Health::Ok, Health::Off].iter().position(|x| *x == h);
    let mut sources: Vec<(Health, String)> = running.iter().map(|s| s.health).zip(labels).collect();
    sources.sort_by_key(|(h, _)| rank(*h));
    let clock = format::clock(state.now_ms);
    let width = clock.len() as u16 + 1;
    let shows_clock = area.width > width;
    // The header stops before the clock, and says with `…` that it had more to say.
    let room = if shows_clock { area.width - width - 1 } else { area.width };
    let item = |health: Health, text: String| {
        let (mark, style) = look(health);
        vec![sep(), Span::styled(format!("{mark} "), on_header(style)), Span::styled(text, theme.header)]
    };
    // As many sources by name as fit, then how many of the rest are in each state.
    let fixed: usize = spans.iter().flatten().map(Span::width).sum();
    let mut chosen = Vec::new();
    for named in (0..=sources.len()).rev() {
        let mut items: Vec<Vec<Span<'_>>> =
            sources[..named].iter().map(|(health, label)| item(*health, label.clone())).collect();
        for health in [Health::Down, Health::Degraded, Health::Ok, Health::Off] {
            let n = sources[named..].iter().filter(|(h, _)| *h == health).count();
            if n > 0 {
                let more = if named > 0 { " more" } else { "" };
                items.push(item(health, format!("{n}{more} {}", health.as_str())));
            }
        }
        let used: usize = items.iter().flatten().map(Span::width).sum();
        chosen = items;
        if fixed + used <= room as usize {
            break;
        }
    }
    // What the header says of this console (host, operator, badges, who collects) is cut rather
    // than left out; the sources take what room is left.
    let mut left: Vec<Span<'_>> = panes::fit_spans(spans.into_iter().flatten().collect(), room);
    let left_width = left.iter().map(Span::width).sum::<usize>() as u16;
    if left_width < room {
        left.extend(panes::fit_items(chosen, room - left_width, Span::styled(" …", theme.header)));
    }
    let left = Line::from(left);
    frame.render_widget(Paragraph::new(left).style(theme.header), area);
    if shows_clock {
        let rect = Rect { x: area.right() - width, width, ..area };
        frame.render_widget(Paragraph::new(Span::styled(clock, theme.header)).style(theme.header), rect);
    }
}

fn footer(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = &state.theme;
    if let Some(input) = &state.input {
        let (prompt, label) = match input.kind {
            InputKind::Filter(pane) => ("/", format!("filter {}: ", pane.title())),
            InputKind::Command => (":", String::new()),
        };
        let prefix = format!("{label}{prompt}");
        let prefix_width = prefix.chars().count() as u16;
        frame.render_widget(Paragraph::new(Span::styled(prefix, theme.footer_key)).style(theme.footer), area);
        let rest = Rect { x: area.x + prefix_width, width: area.width.saturating_sub(prefix_width), ..area };
        let (text_rect, error_rect) = match &input.error {
            Some(_) => {
                let half = rest.width / 2;
                (Rect { width: half, ..rest }, Some(Rect { x: rest.x + half, width: rest.width - half, ..rest }))
            }
            None => (rest, None),
        };
        let mut text = input.text.clone();
        text.set_style(theme.filter);
        text.set_cursor_style(theme.selection);
        frame.render_widget(&text, text_rect);
        if let (Some(e), Some(rect)) = (&input.error, error_rect) {
            // An error longer than its half of the line ends in `…`.
            let error =
                panes::fit(Span::styled(format!(" {}", sanitize::clean(e, 400)), theme.filter_error), rect.width);
            frame.render_widget(Paragraph::new(error).style(theme.footer), rect);
        }
        return;
    }
    if !state.pending_keys.is_empty() {
        frame.render_widget(Paragraph::new(pending(state, area.width)).style(theme.footer), area);
        return;
    }
    if let Some(flash) = &state.flash {
        let style = match flash.level {
            Level::Info => theme.footer,
            Level::Ok => theme.ok.bg(theme.footer.bg.unwrap_or_default()),
            Level::Error => theme.error.bg(theme.footer.bg.unwrap_or_default()),
        };
        // A message longer than the line says it was cut, like a cell.
        let text = format!(" {}", sanitize::clean(&flash.text, 400));
        let line = panes::fit(Span::styled(text, style), area.width);
        frame.render_widget(Paragraph::new(line).style(theme.footer), area);
        return;
    }
    frame.render_widget(Paragraph::new(hints(state, area.width)).style(theme.footer), area);
}

/// The keys of a sequence typed so far, and what each next key would run.
fn pending(state: &State, width: u16) -> Line<'static> {
    let theme = &state.theme;
    let typed = Keys(state.pending_keys.clone());
    let mut items = vec![vec![Span::raw(" "), Span::styled(format!("{typed}…  "), theme.footer_key)]];
    for b in state.keymap.continuing(&state.pending_keys) {
        items.push(vec![
            Span::styled(b.keys.to_string(), theme.footer_key),
            Span::styled(format!(" {}  ", b.action.name()), theme.footer),
        ]);
    }
    items.push(vec![Span::styled("esc", theme.footer_key), Span::styled(" cancel", theme.footer)]);
    Line::from(panes::fit_items(items, width, Span::styled("…", theme.footer)))
}

/// Where the jumps so far came from and where they lead, oldest first (k9s's breadcrumbs): the
/// back stack Esc and Backspace return along. The oldest are left out past a few.
fn breadcrumbs(state: &State) -> Option<String> {
    const SHOWN: usize = 3;
    if state.back.is_empty() {
        return None;
    }
    let mut crumbs: Vec<&str> = state.back.iter().rev().take(SHOWN).rev().map(|p| p.focus.title()).collect();
    crumbs.push(state.focus.title());
    let more = if state.back.len() > SHOWN { "… › " } else { "" };
    Some(format!("{more}{}", crumbs.join(" › ")))
}

/// The key hints for the focused pane, from the active keymap: as many whole hints as fit in
/// `width`, then `…`.
fn hints(state: &State, width: u16) -> Line<'static> {
    let theme = &state.theme;
    let focus = state.focus;
    let mut actions = vec![Action::Help, Action::Filter, Action::Detail, Action::Zoom];
    if focus.is_stream() {
        actions.push(Action::Follow);
    }
    let views = [Action::History, Action::Group, Action::GotoTenant, Action::GotoIp];
    actions.extend(views.into_iter().filter(|a| a.applies_to(focus)));
    actions.extend(
        crate::action::SPECS
            .iter()
            .filter(|s| matches!(s.scope, Scope::Respond(_)) && s.action.applies_to(focus))
            .map(|s| s.action),
    );
    actions.extend([Action::Pause, Action::Command, Action::Quit]);
    let mut items = vec![vec![Span::raw(" ")]];
    if let Some(trail) = breadcrumbs(state) {
        items.push(vec![Span::styled(trail, theme.footer_key), Span::raw("  ")]);
    }
    for action in actions {
        let Some(key) = state.keymap.key_for(action) else {
            continue;
        };
        let disabled = action.is_response() && state.session.disabled(action.name()).is_some();
        let (key_style, text_style) =
            if disabled { (theme.disabled, theme.disabled) } else { (theme.footer_key, theme.footer) };
        items.push(vec![
            Span::styled(key.to_string(), key_style),
            Span::styled(format!(" {}  ", action.name()), text_style),
        ]);
    }
    // The last hint's trailing spaces are not needed to fit.
    if let Some(last) = items.last_mut().and_then(|item| item.last_mut()) {
        last.content = last.content.trim_end().to_string().into();
    }
    Line::from(panes::fit_items(items, width, Span::styled("…", theme.footer)))
}
