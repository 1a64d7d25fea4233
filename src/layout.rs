//! Where things go on the screen; shared by drawing and by mouse hit-testing so they always agree.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

use crate::pane::Pane;

/// Below this the console shows a notice instead of a broken layout.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

pub struct Screen {
    pub header: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn screen(area: Rect) -> Screen {
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    Screen { header, body, footer }
}

/// The panes on screen and their rectangles: the five-pane grid, or one pane zoomed. The Audit
/// and Sources views are always shown alone.
/// The panes on screen and their rectangles: the five-pane grid, or one pane zoomed. Views (Audit,
/// Fleet) are always shown alone.
pub fn panes(body: Rect, focus: Pane, zoomed: bool) -> Vec<(Pane, Rect)> {
    if zoomed || focus.is_view() {
        return vec![(focus, body)];
    }
    let rows = Layout::vertical([Constraint::Percentage(36), Constraint::Percentage(38), Constraint::Percentage(26)])
        .split(body);
    let halves = |r: Rect, left: u16| {
        Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(left), Constraint::Percentage(100 - left)])
            .split(r)
    };
    let top = halves(rows[0], 46);
    let bottom = halves(rows[2], 50);
    vec![
        (Pane::Tenants, top[0]),
        (Pane::Alerts, top[1]),
        (Pane::Access, rows[1]),
        (Pane::Bans, bottom[0]),
        (Pane::Integrity, bottom[1]),
    ]
}

/// Lines above the rows inside a pane's border in `rect`: the Alerts summary line, the
/// histogram, then column headings.
pub fn preamble(pane: Pane, rect: Rect) -> u16 {
    let summary = u16::from(pane == Pane::Alerts);
    summary + histogram_rows(pane, rect) + 1
}

/// Lines of histogram bars above the Access log and the Alerts pane in `rect`: more in a tall
/// pane, none in one too short to keep a few rows under them.
pub fn histogram_rows(pane: Pane, rect: Rect) -> u16 {
    if !matches!(pane, Pane::Alerts | Pane::Access) {
        return 0;
    }
    match rect.height {
        24.. => 4,
        12.. => 2,
        _ => 0,
    }
}

/// How many rows a pane shows in `rect`.
pub fn list_height(pane: Pane, rect: Rect) -> usize {
    rect.height.saturating_sub(2 + preamble(pane, rect)) as usize
}

/// The rectangle of `pane` on a screen of `size`, if it is visible.
pub fn pane_rect(size: Rect, focus: Pane, zoomed: bool, pane: Pane) -> Option<Rect> {
    panes(screen(size).body, focus, zoomed).into_iter().find(|(p, _)| *p == pane).map(|(_, r)| r)
}
