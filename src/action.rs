//! The keymap's vocabulary: every action a key can be bound to, with its name and description.

use crate::pane::Pane;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    FocusNext,
    FocusPrev,
    Focus(Pane),
    Zoom,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Detail,
    Filter,
    Close,
    Back,
    Follow,
    History,
    GotoTenant,
    GotoIp,
    Group,
    HistogramFiner,
    HistogramCoarser,
    Pause,
    Help,
    Command,
    Isolate,
    Restore,
    Unban,
    Ban,
    Acknowledge,
    Verify,
}

/// Where an action is offered, for the footer's hints and the help screen's groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Navigation,
    View,
    /// A way of looking offered only on these panes.
    ViewOn(&'static [Pane]),
    /// A response against the real world, offered only on these panes.
    Respond(&'static [Pane]),
}

pub struct ActionSpec {
    pub action: Action,
    pub name: &'static str,
    pub desc: &'static str,
    pub scope: Scope,
}

const fn spec(action: Action, name: &'static str, desc: &'static str, scope: Scope) -> ActionSpec {
    ActionSpec { action, name, desc, scope }
}

use Scope::{Navigation as Nav, Respond, View};

/// Every action, in the order the help screen lists them.
pub const SPECS: &[ActionSpec] = &[
    spec(Action::FocusNext, "focus-next", "Focus the next pane", Nav),
    spec(Action::FocusPrev, "focus-prev", "Focus the previous pane", Nav),
    spec(Action::Focus(Pane::Tenants), "focus-tenants", "Focus Tenants", Nav),
    spec(Action::Focus(Pane::Alerts), "focus-alerts", "Focus Alerts", Nav),
    spec(Action::Focus(Pane::Access), "focus-access", "Focus the Access log", Nav),
    spec(Action::Focus(Pane::Bans), "focus-bans", "Focus Bans", Nav),
    spec(Action::Focus(Pane::Integrity), "focus-integrity", "Focus Integrity", Nav),
    spec(Action::Focus(Pane::Audit), "focus-audit", "Open the Audit view", Nav),
    spec(Action::Focus(Pane::Sources), "focus-sources", "Open the Sources view (each source's state)", Nav),
    spec(Action::Focus(Pane::Fleet), "focus-fleet", "Open the Fleet view: other hosts' published record", Nav),
    spec(Action::Down, "down", "Move down", Nav),
    spec(Action::Up, "up", "Move up", Nav),
    spec(Action::PageDown, "page-down", "Move a page down", Nav),
    spec(Action::PageUp, "page-up", "Move a page up", Nav),
    spec(Action::Top, "top", "Go to the newest (top)", Nav),
    spec(Action::Bottom, "bottom", "Go to the oldest (bottom)", Nav),
    spec(Action::Detail, "detail", "Show every field of the selected row", View),
    spec(Action::Filter, "filter", "Filter the pane (text, field:value, since:15m)", View),
    spec(Action::Close, "close", "Go back from a jump, close the popup, or clear the filter", View),
    spec(Action::Back, "back", "Go back to where the last jump (T, E) came from", View),
    spec(Action::Zoom, "zoom", "Zoom the pane to full screen and back", View),
    spec(Action::Follow, "follow", "Follow the newest rows on/off", View),
    spec(Action::History, "history", "Show ended bans too, and back", Scope::ViewOn(&[Pane::Bans])),
    spec(Action::Group, "group", "Group alerts by rule, and back (enter opens a rule)", Scope::ViewOn(&[Pane::Alerts])),
    spec(
        Action::GotoTenant,
        "goto-tenant",
        "Go to the row's tenant",
        Scope::ViewOn(&[Pane::Alerts, Pane::Access, Pane::Bans]),
    ),
    spec(
        Action::GotoIp,
        "goto-ip",
        "Show the access events of the row's IP",
        Scope::ViewOn(&[Pane::Alerts, Pane::Bans, Pane::Access]),
    ),
    spec(
        Action::HistogramFiner,
        "histogram-finer",
        "Histogram: shorter intervals per column (down to a minute)",
        Scope::ViewOn(&[Pane::Alerts, Pane::Access]),
    ),
    spec(
        Action::HistogramCoarser,
        "histogram-coarser",
        "Histogram: longer intervals per column (up to a week)",
        Scope::ViewOn(&[Pane::Alerts, Pane::Access]),
    ),
    spec(Action::Pause, "pause", "Pause/resume live updates", View),
    spec(Action::Help, "help", "Show this help", View),
    spec(Action::Command, "command", "Command line (:tenants, :theme light, :q)", View),
    spec(Action::Quit, "quit", "Quit rampart", View),
    spec(Action::Isolate, "isolate", "Isolate the tenant's containers", Respond(&[Pane::Tenants])),
    spec(Action::Restore, "restore", "Restore an isolated tenant", Respond(&[Pane::Tenants])),
    spec(Action::Unban, "unban", "Unban the selected IP", Respond(&[Pane::Bans])),
    spec(Action::Ban, "ban", "Ban the selected IP", Respond(&[Pane::Access, Pane::Alerts, Pane::Bans])),
    spec(Action::Acknowledge, "acknowledge", "Acknowledge the selected alert", Respond(&[Pane::Alerts])),
    spec(Action::Verify, "verify", "Re-verify the integrity target now", Respond(&[Pane::Integrity])),
];

impl Action {
    pub fn spec(self) -> &'static ActionSpec {
        SPECS.iter().find(|s| s.action == self).expect("every action has a spec")
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn from_name(name: &str) -> Option<Action> {
        SPECS.iter().find(|s| s.name == name).map(|s| s.action)
    }

    /// True for actions that change the world (and so are refused in read-only mode).
    pub fn is_response(self) -> bool {
        matches!(self.spec().scope, Scope::Respond(_))
    }

    /// Whether the action means something on this pane.
    pub fn applies_to(self, pane: Pane) -> bool {
        match self.spec().scope {
            Scope::Respond(panes) | Scope::ViewOn(panes) => panes.contains(&pane),
            _ => true,
        }
    }
}
