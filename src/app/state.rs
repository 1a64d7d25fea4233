//! The console's model: everything the screen shows, and nothing the store could tell instead.

use ratatui::layout::Rect;
use tui_textarea::TextArea;

use super::msg::Effect;
use crate::config::keymap::Chord;
use crate::config::{Keymap, Theme};
use crate::layout;
use crate::pane::Pane;
use crate::respond::{Operator, Request};
use crate::store::filter::Filter;
use crate::store::histogram::{self, Histogram};
use crate::store::overview::Overview;
use crate::store::related::Related;
use crate::store::window::{Around, Page, Row, Searched};
use crate::store::writer::Tables;

/// Facts about this console's session (the role changes when a viewer takes over collecting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub operator: Operator,
    /// `Some(reason)` when actions are disabled.
    pub read_only: Option<String>,
    pub demo: bool,
    pub role: Role,
    /// Actions the collector will not perform for this operator, by name, with why
    /// (`isolate` → "isolate: only members of secops").
    pub denied: std::collections::BTreeMap<String, String>,
}

impl Session {
    /// Why `action` (a response, by name) cannot be done from this console, if so.
    pub fn disabled(&self, action: &str) -> Option<String> {
        match &self.read_only {
            Some(reason) => Some(format!("{action} is disabled: read-only ({reason})")),
            None => self.denied.get(action).cloned(),
        }
    }

    /// Whether nothing at all may be done: read-only, or every action denied.
    pub fn acts_not_at_all(&self) -> bool {
        self.read_only.is_some() || self.denied.len() >= crate::control::policy::ACTIONS.len()
    }
}

/// Whether this process runs the collector or only views a store another process fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Collector,
    Viewer {
        holder: String,
    },
    /// A read-only console on a store nobody collects into: it never takes collecting over, so
    /// nothing new arrives until a collector starts.
    Uncollected,
}

/// One pane's window on its table.
#[derive(Debug, Clone, Default)]
pub struct PaneState {
    pub rows: Vec<Row>,
    pub selected: usize,
    /// Index of the first visible row.
    pub offset: usize,
    pub at_newest: bool,
    pub at_oldest: bool,
    /// Stick to the newest row as rows arrive.
    pub follow: bool,
    /// The newest key when the operator scrolled away; rows above it are "new".
    pub seen_key: Option<i64>,
    pub new_rows: u64,
    pub filter: Option<Filter>,
    pub loaded: bool,
    pub load_error: Option<String>,
    /// Of the request that set what the pane shows (its filter, anchor, history, grouping):
    /// answers to earlier requests are for another view and are dropped.
    pub view_generation: u64,
    /// Of the newest answer taken: an answer never replaces a newer one.
    pub answered_generation: u64,
    /// Showing rows the pane normally hides (ended bans).
    pub history: bool,
    /// One row per rule (the Alerts pane).
    pub grouped: bool,
    /// The histogram above the rows (Access log, Alerts), once counted.
    pub histogram: Option<Histogram>,
    /// Which of `store::histogram::ZOOMS` one histogram column stands for.
    pub zoom: usize,
    /// The histogram last asked for: asked again when the pane's rows or its width, filter or
    /// zoom change.
    pub histogram_asked: Option<histogram::Query>,
    /// The rows shown are what a search still going on has found so far, and how far it is.
    pub searched: Option<Searched>,
}

impl PaneState {
    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    /// The rows on screen are not yet those of the view asked for (a new filter still searching).
    pub fn searching(&self) -> bool {
        self.answered_generation < self.view_generation || self.searched.is_some()
    }

    /// Takes a loaded page, keeping the selection on the same row when it is still there.
    pub fn accept(&mut self, page: Page) {
        let keep = self.selected_row().map(Row::key);
        let screen_pos = self.selected.saturating_sub(self.offset);
        self.selected = if self.follow {
            0
        } else {
            keep.and_then(|k| page.rows.iter().position(|r| r.key() == k)).unwrap_or(page.focus)
        };
        self.rows = page.rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.offset = self.selected.saturating_sub(screen_pos);
        self.at_newest = page.at_newest;
        self.at_oldest = page.at_oldest;
        self.new_rows = page.newer_count.unwrap_or(0);
        self.searched = page.searched;
        self.loaded = true;
        self.load_error = None;
    }

    /// Selects the newest row; a live pane follows new rows from here.
    pub fn to_top(&mut self, follow: bool) {
        self.selected = 0;
        self.offset = 0;
        if follow {
            self.follow = true;
            self.seen_key = None;
            self.new_rows = 0;
        }
    }

    /// Stops following; rows newer than the current newest will count as new.
    pub fn stop_following(&mut self) {
        if self.follow {
            self.follow = false;
            self.seen_key = self.rows.first().map(Row::key);
        }
    }

    /// Keeps the selected row inside the `height` visible rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(self.rows.len().saturating_sub(height));
        if self.follow {
            self.offset = 0;
        }
    }
}

/// A text input that owns the keyboard while open.
pub struct Input {
    pub kind: InputKind,
    pub text: TextArea<'static>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter(Pane),
    Command,
}

/// A popup over the panes.
pub enum Popup {
    Help {
        scroll: u16,
    },
    /// Every field of a row; `related` is what else the store knows of the row's IP, once loaded.
    Detail {
        pane: Pane,
        row: Box<Row>,
        scroll: u16,
        related: Option<Result<Vec<Related>, String>>,
        /// A source's kept unparsed lines, newest first, once loaded (the Sources view).
        kept: Option<Result<Vec<crate::store::unparsed::Line>, String>>,
    },
    Confirm(Box<Confirm>),
    /// An integrity target's newest run: what changed, grouped by kind, filterable.
    Changes(Box<ChangesView>),
    /// What an action did, part by part (each container of an isolation, say).
    Report {
        title: String,
        lines: Vec<String>,
        scroll: u16,
    },
}

/// The changed entries of an integrity target's newest run.
pub struct ChangesView {
    pub target: crate::store::integrity::IntegrityRow,
    /// `None` while loading.
    pub changes: Option<Result<Vec<crate::store::integrity::Change>, String>>,
    /// Only entries whose kind or path contains this (case-insensitive).
    pub filter: String,
    /// The filter is being typed.
    pub typing: bool,
    pub scroll: u16,
}

impl ChangesView {
    /// The loaded changes the filter keeps.
    pub fn shown(&self) -> Vec<&crate::store::integrity::Change> {
        let needle = self.filter.to_lowercase();
        match &self.changes {
            Some(Ok(all)) => all
                .iter()
                .filter(|c| needle.is_empty() || c.path.to_lowercase().contains(&needle) || c.kind.contains(&needle))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A dialog before an action that changes the world.
pub struct Confirm {
    pub request: Request,
    pub title: String,
    pub question: String,
    /// A required reason, typed by the operator.
    pub reason: Option<TextArea<'static>>,
    /// The "also pause" option of isolate.
    pub pause: Option<bool>,
    /// Jail choices for a ban, and the chosen one.
    pub jails: Vec<String>,
    pub jail: usize,
    pub field: ConfirmField,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmField {
    Reason,
    Pause,
    Jail,
}

/// A short message about what just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub level: Level,
    pub until_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Error,
}

pub struct State {
    pub session: Session,
    pub theme: Theme,
    pub keymap: Keymap,
    pub focus: Pane,
    pub zoomed: bool,
    pub panes: [PaneState; Pane::ALL.len()],
    pub overview: Overview,
    /// Jails seen in the store, offered when banning.
    pub jails: Vec<String>,
    pub popup: Option<Popup>,
    pub input: Option<Input>,
    pub flash: Option<Flash>,
    pub paused: bool,
    /// Changes that arrived while paused.
    pub held_changes: Tables,
    pub size: Rect,
    pub now_ms: i64,
    pub quit: bool,
    /// Where each jump (T, E, a `:` command naming a row) came from, newest last: Esc or Backspace
    /// goes back.
    pub back: Vec<Place>,
    /// The keys of a sequence typed so far (`g` of `g g`), until the sequence is complete.
    pub pending_keys: Vec<Chord>,
    next_generation: u64,
}

/// The back stack keeps this many places; a jump beyond it forgets the oldest.
pub const BACK_LIMIT: usize = 20;

/// A view to go back to: the focus before a jump, and the filter and selection the jump changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub focus: Pane,
    pub pane: Pane,
    pub filter: Option<Filter>,
    pub selected: usize,
}

/// Rows asked for on each side of a window's anchor (a tall zoomed pane gets more).
pub fn per_side(height: usize) -> usize {
    (height * 2).max(100)
}

impl State {
    pub fn new(session: Session, theme: Theme, keymap: Keymap, size: Rect, now_ms: i64) -> State {
        let mut panes: [PaneState; Pane::ALL.len()] = Default::default();
        for (p, state) in Pane::ALL.iter().zip(panes.iter_mut()) {
            state.follow = p.is_stream();
            state.zoom = histogram::default_zoom(*p == Pane::Alerts);
        }
        State {
            session,
            theme,
            keymap,
            focus: Pane::Tenants,
            back: Vec::new(),
            pending_keys: Vec::new(),
            zoomed: false,
            panes,
            overview: Overview::default(),
            jails: Vec::new(),
            popup: None,
            input: None,
            flash: None,
            paused: false,
            held_changes: Tables::NONE,
            size,
            now_ms,
            quit: false,
            next_generation: 0,
        }
    }

    pub fn pane(&self, pane: Pane) -> &PaneState {
        &self.panes[pane.index()]
    }

    pub fn pane_mut(&mut self, pane: Pane) -> &mut PaneState {
        &mut self.panes[pane.index()]
    }

    /// The panes on screen now.
    pub fn visible(&self) -> Vec<(Pane, Rect)> {
        if layout::too_small(self.size) {
            return Vec::new();
        }
        layout::panes(layout::screen(self.size).body, self.focus, self.zoomed)
    }

    /// Visible rows of `pane` (or of the grid cell it would take when hidden).
    pub fn list_height(&self, pane: Pane) -> usize {
        let rect = layout::pane_rect(self.size, self.focus, self.zoomed, pane)
            .or_else(|| layout::pane_rect(self.size, pane, false, pane))
            .unwrap_or(self.size);
        layout::list_height(pane, rect)
    }

    /// A load request that changes what `pane` shows: answers to earlier requests no longer count.
    pub fn load(&mut self, pane: Pane, around: Around) -> Effect {
        self.request(pane, around, true)
    }

    /// A load request for fresh data in the same view. Answers to earlier refreshes still count, so
    /// that a pane whose query takes longer than the store takes to change (a filter that scans a
    /// big table under a live feed) keeps showing each answer instead of waiting forever for one
    /// that is not already outdated.
    pub fn reload(&mut self, pane: Pane) -> Effect {
        let around = self.refresh_anchor(pane);
        self.request(pane, around, false)
    }

    fn request(&mut self, pane: Pane, around: Around, new_view: bool) -> Effect {
        self.next_generation += 1;
        let generation = self.next_generation;
        let height = self.list_height(pane);
        let p = self.pane_mut(pane);
        if new_view {
            p.view_generation = generation;
        }
        let query = crate::store::window::Query {
            listing: pane.listing(),
            filter: p.filter.clone(),
            around,
            per_side: per_side(height),
            count_newer_than: if p.follow { None } else { p.seen_key },
            history: p.history,
            grouped: p.grouped,
        };
        Effect::Load { generation, query }
    }

    /// A request for the histogram above `pane` as the pane shows it now (its filter and zoom, a
    /// column per interval); `None` for a pane without one or too small to show it.
    pub fn histogram(&self, pane: Pane) -> Option<Effect> {
        let rect = layout::pane_rect(self.size, self.focus, self.zoomed, pane)?;
        if layout::histogram_rows(pane, rect) == 0 {
            return None;
        }
        let p = self.pane(pane);
        let query = histogram::Query {
            listing: pane.listing(),
            filter: p.filter.clone(),
            bucket_ms: histogram::ZOOMS[p.zoom.min(histogram::ZOOMS.len() - 1)],
            buckets: rect.width.saturating_sub(2) as usize,
        };
        Some(Effect::LoadHistogram { pane, query })
    }

    /// Where `pane` should be reloaded from to show fresh data without moving the operator.
    pub fn refresh_anchor(&self, pane: Pane) -> Around {
        let p = self.pane(pane);
        match (p.follow, p.selected_row()) {
            (true, _) | (_, None) => Around::Newest,
            (false, Some(row)) => Around::Key(row.key()),
        }
    }

    pub fn flash(&mut self, level: Level, text: impl Into<String>) {
        let ttl = if level == Level::Error { 10_000 } else { 5_000 };
        self.flash = Some(Flash { text: text.into(), level, until_ms: self.now_ms + ttl });
    }
}
