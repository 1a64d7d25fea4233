//! The one-line inputs: the live filter (`/`) and the command line (`:`), where every keymap action
//! is also a command.

use crossterm::event::{KeyCode, KeyEvent};

use super::jumps::select_row;
use super::normal::apply;
use super::view::{quit, set_filter};
use crate::action::{Action, Scope};
use crate::app::msg::Effect;
use crate::app::state::{InputKind, Level, State};
use crate::pane::Pane;
use crate::store::filter;

pub(super) fn on_input_key(state: &mut State, key: KeyEvent, ctrl_c: bool) -> Vec<Effect> {
    let Some(input) = state.input.as_mut() else {
        return vec![];
    };
    let kind = input.kind;
    match key.code {
        KeyCode::Esc => {
            state.input = None;
            match kind {
                InputKind::Filter(pane) => set_filter(state, pane, None),
                InputKind::Command => vec![],
            }
        }
        _ if ctrl_c => {
            state.input = None;
            vec![]
        }
        KeyCode::Enter => {
            let text = input.text.lines().join(" ");
            match kind {
                InputKind::Filter(_) if input.error.is_some() => vec![],
                InputKind::Filter(_) => {
                    state.input = None;
                    vec![]
                }
                InputKind::Command => {
                    state.input = None;
                    run_command(state, text.trim())
                }
            }
        }
        _ => {
            input.text.input(key);
            let text = input.text.lines().join(" ");
            match kind {
                InputKind::Filter(pane) => match filter::compile(&text, pane.fields(), state.now_ms) {
                    Ok(f) => {
                        input.error = None;
                        set_filter(state, pane, f)
                    }
                    Err(e) => {
                        input.error = Some(e.to_string());
                        vec![]
                    }
                },
                InputKind::Command => vec![],
            }
        }
    }
}

/// The `:` commands.
pub const COMMANDS: &str =
    "tenants, alerts, access, bans, integrity, audit, sources, theme NAME, filter EXPR, report, drill, help, q, \
    and every action by its name, with the row's name where it takes one (isolate acme, unban 203.0.113.7, verify web)";

pub(super) fn run_command(state: &mut State, line: &str) -> Vec<Effect> {
    let (cmd, arg) = line.split_once(' ').map_or((line, ""), |(c, a)| (c, a.trim()));
    let pane = match cmd {
        "tenants" | "t" => Some(Pane::Tenants),
        "alerts" | "al" => Some(Pane::Alerts),
        "access" | "log" | "ac" => Some(Pane::Access),
        "bans" | "b" => Some(Pane::Bans),
        "integrity" | "i" => Some(Pane::Integrity),
        "audit" | "au" => Some(Pane::Audit),
        "sources" | "so" => Some(Pane::Sources),
        "fleet" | "fl" => Some(Pane::Fleet),
        _ => None,
    };
    if let Some(pane) = pane {
        return apply(state, Action::Focus(pane));
    }
    match cmd {
        "" => vec![],
        "q" | "quit" | "q!" => quit(state),
        "help" | "h" => apply(state, Action::Help),
        "theme" if !arg.is_empty() => vec![Effect::LoadTheme(arg.to_string())],
        "report" => report(state, arg),
        "drill" => drill(state, arg),
        "filter" => {
            let pane = state.focus;
            match filter::compile(arg, pane.fields(), state.now_ms) {
                Ok(f) => set_filter(state, pane, f),
                Err(e) => {
                    state.flash(Level::Error, e.to_string());
                    vec![]
                }
            }
        }
        _ if Action::from_name(cmd).is_some() => {
            let action = Action::from_name(cmd).expect("checked");
            run_action_command(state, action, arg)
        }
        _ => {
            state.flash(Level::Error, format!("unknown command ':{line}' — commands: {COMMANDS}"));
            vec![]
        }
    }
}

/// `:report [TENANT] [SINCE]`: the tenant named, else the selected one on the Tenants pane; the
/// last 2 hours unless SINCE says otherwise (as `since:` takes it).
fn report(state: &mut State, arg: &str) -> Vec<Effect> {
    let mut words = arg.split_whitespace();
    let named = words.next().map(str::to_string);
    let since = words.next().unwrap_or("2h").to_string();
    let selected = || match state.pane(Pane::Tenants).selected_row() {
        Some(crate::store::window::Row::Tenant(t)) if state.focus == Pane::Tenants => Some(t.name.clone()),
        _ => None,
    };
    match named.or_else(selected) {
        Some(tenant) => vec![Effect::WriteReport { tenant, since }],
        None => {
            state.flash(Level::Info, "report: name a tenant (:report acme 2h), or select one on the Tenants pane");
            vec![]
        }
    }
}

/// `:drill [TENANT] [SCENARIO]`: the tenant named, else the selected one on the Tenants pane;
/// brute-force unless SCENARIO says otherwise. Refused read-only.
fn drill(state: &mut State, arg: &str) -> Vec<Effect> {
    if let Some(why) = state.session.disabled("drill") {
        state.flash(Level::Error, why);
        return vec![];
    }
    let mut words = arg.split_whitespace();
    let named = words.next().map(str::to_string);
    let scenario = words.next().unwrap_or("brute-force").to_string();
    if let Err(e) = crate::drill::checklist::Scenario::parse(&scenario) {
        state.flash(Level::Error, format!("drill: {e}"));
        return vec![];
    }
    let selected = || match state.pane(Pane::Tenants).selected_row() {
        Some(crate::store::window::Row::Tenant(t)) if state.focus == Pane::Tenants => Some(t.name.clone()),
        _ => None,
    };
    match named.or_else(selected) {
        Some(tenant) => {
            state.flash(Level::Info, format!("drill of {tenant} ({scenario}) started; its checklist follows"));
            vec![Effect::Drill { tenant, scenario }]
        }
        None => {
            state.flash(Level::Info, "drill: name a tenant (:drill acme web), or select one on the Tenants pane");
            vec![]
        }
    }
}

/// `:ACTION [NAME]`: any keymap action by its name; with a name, on the row it names first
/// (`:isolate acme`, `:unban 203.0.113.7`, `:verify web`, `:acknowledge 42`).
pub(super) fn run_action_command(state: &mut State, action: Action, name: &str) -> Vec<Effect> {
    if name.is_empty() {
        return apply(state, action);
    }
    let panes: Vec<Pane> = match action.spec().scope {
        Scope::Respond(panes) | Scope::ViewOn(panes) => panes.to_vec(),
        _ => vec![state.focus],
    };
    let found = if panes.contains(&state.focus) {
        std::iter::once(state.focus).chain(panes.iter().copied().filter(|p| *p != state.focus)).collect()
    } else {
        panes
    };
    for pane in found {
        if select_row(state, pane, name) {
            return apply(state, action);
        }
    }
    state.flash(
        Level::Error,
        format!("{}: no row '{name}' on screen (only loaded rows are searched: filter with / first)", action.name()),
    );
    vec![]
}
