//! Actions that change the world: refused in read-only mode, then confirmed in a dialog (reason,
//! jail, pause) before the responder runs.

use crossterm::event::{KeyCode, KeyEvent};

use super::view::single_line;
use crate::action::{Action, Scope};
use crate::app::msg::Effect;
use crate::app::state::{Confirm, ConfirmField, Level, Popup, State};
use crate::respond::Request;
use crate::store::window::Row;

/// An action that changes the world: checked, then confirmed where the design asks for it.
pub(super) fn respond(state: &mut State, action: Action) -> Vec<Effect> {
    let focus = state.focus;
    if let Some(why) = state.session.disabled(action.name()) {
        state.flash(Level::Error, why);
        return vec![];
    }
    if !action.applies_to(focus) {
        state.flash(Level::Info, format!("{}: {}", action.name(), where_it_works(action)));
        return vec![];
    }
    let Some(row) = state.pane(focus).selected_row().cloned() else {
        state.flash(Level::Info, format!("{} is empty: nothing to {}", focus.title(), action.name()));
        return vec![];
    };
    let confirm = |request, title: &str, question: String, reason: bool, pause: bool, jails: Vec<String>| {
        let field = if reason {
            ConfirmField::Reason
        } else if !jails.is_empty() {
            ConfirmField::Jail
        } else {
            ConfirmField::Pause
        };
        Popup::Confirm(Box::new(Confirm {
            request,
            title: title.to_string(),
            question,
            reason: reason.then(|| single_line("")),
            pause: pause.then_some(false),
            jails,
            jail: 0,
            field,
            error: None,
        }))
    };
    let popup = match (action, &row) {
        (Action::Isolate, Row::Tenant(t)) => {
            if t.status == crate::store::tenants::status::ISOLATED {
                let restore =
                    state.keymap.key_name(Action::Restore).map_or(String::new(), |k| format!(" ({k} restores it)"));
                state.flash(Level::Info, format!("{} is already isolated{restore}", t.name));
                return vec![];
            }
            confirm(
                Request::Isolate { tenant: t.name.clone(), reason: String::new(), pause: false },
                "Isolate tenant",
                if t.status == crate::store::tenants::status::PARTIAL {
                    let undo = state
                        .keymap
                        .key_name(Action::Restore)
                        .map_or(String::new(), |k| format!(" ({k} undoes it instead.)"));
                    format!(
                        "{}'s isolation is unfinished (interrupted, or some containers failed). Finish it from the \
                         journal?{undo}",
                        t.name
                    )
                } else {
                    format!(
                        "Cut {}'s {} containers off every network, the host included (their addresses are kept for \
                         restore)?",
                        t.name, t.containers
                    )
                },
                true,
                true,
                vec![],
            )
        }
        (Action::Restore, Row::Tenant(t)) => {
            if t.status == crate::store::tenants::status::ACTIVE {
                state.flash(Level::Info, format!("{} is not isolated", t.name));
                return vec![];
            }
            confirm(
                Request::Restore { tenant: t.name.clone() },
                "Restore tenant",
                format!("Reconnect {}'s containers to their journaled networks?", t.name),
                false,
                false,
                vec![],
            )
        }
        (Action::Unban, Row::Ban(b)) => confirm(
            Request::Unban { ban_id: b.id, ip: b.ip.clone(), jail: b.jail.clone() },
            "Unban IP",
            format!("Unban {} from jail {}?", b.ip, b.jail),
            false,
            false,
            vec![],
        ),
        (Action::Ban, row) => {
            let ip = match row {
                Row::Ban(b) => Some(b.ip.clone()),
                Row::Access(e) => Some(e.src_ip.clone()),
                Row::Alert(a) => a.src_ip.clone(),
                _ => None,
            };
            let Some(ip) = ip else {
                state.flash(Level::Info, "this row has no IP address to ban");
                return vec![];
            };
            let mut jails = state.jails.clone();
            if jails.is_empty() {
                jails.push("manual".to_string());
            }
            confirm(
                Request::Ban { ip: ip.clone(), jail: String::new(), reason: String::new() },
                "Ban IP",
                format!("Ban {ip}?"),
                true,
                false,
                jails,
            )
        }
        (Action::Acknowledge, Row::Alert(a)) => {
            if a.acked_at.is_some() {
                state.flash(Level::Info, format!("alert {} is already acknowledged", a.id));
                return vec![];
            }
            state.flash(Level::Info, format!("acknowledging alert {}…", a.id));
            return vec![Effect::Respond(Request::Acknowledge { alert_id: a.id, rule: a.rule.clone() })];
        }
        (Action::Verify, Row::Integrity(t)) => {
            state.flash(Level::Info, format!("verifying {}…", t.target.name));
            return vec![Effect::Respond(Request::Verify { target: t.target.name.clone() })];
        }
        _ => return vec![],
    };
    state.popup = Some(popup);
    vec![]
}

pub(super) fn where_it_works(action: Action) -> String {
    match action.spec().scope {
        Scope::Respond(panes) => {
            format!("works on {}", panes.iter().map(|p| p.title()).collect::<Vec<_>>().join(", "))
        }
        _ => String::new(),
    }
}

pub(super) fn on_confirm_key(state: &mut State, key: KeyEvent, ctrl_c: bool) -> Vec<Effect> {
    let Some(Popup::Confirm(confirm)) = state.popup.as_mut() else {
        return vec![];
    };
    let fields: Vec<ConfirmField> = [
        confirm.reason.is_some().then_some(ConfirmField::Reason),
        confirm.pause.is_some().then_some(ConfirmField::Pause),
        (!confirm.jails.is_empty()).then_some(ConfirmField::Jail),
    ]
    .into_iter()
    .flatten()
    .collect();
    let typing = confirm.field == ConfirmField::Reason && confirm.reason.is_some();
    match key.code {
        KeyCode::Esc => {
            state.popup = None;
            state.flash(Level::Info, "cancelled: nothing was changed");
        }
        _ if ctrl_c => {
            state.popup = None;
            state.flash(Level::Info, "cancelled: nothing was changed");
        }
        KeyCode::Char('n') if fields.is_empty() => {
            state.popup = None;
            state.flash(Level::Info, "cancelled: nothing was changed");
        }
        KeyCode::Enter | KeyCode::Char('y') if key.code == KeyCode::Enter || fields.is_empty() => {
            let reason = confirm.reason.as_ref().map(|r| r.lines().join(" ").trim().to_string());
            if reason.as_deref() == Some("") {
                confirm.error = Some("a reason is required: it goes into the audit log".to_string());
                confirm.field = ConfirmField::Reason;
                return vec![];
            }
            let mut request = confirm.request.clone();
            match &mut request {
                Request::Isolate { reason: r, pause, .. } => {
                    *r = reason.unwrap_or_default();
                    *pause = confirm.pause.unwrap_or(false);
                }
                Request::Ban { reason: r, jail, .. } => {
                    *r = reason.unwrap_or_default();
                    *jail = confirm.jails.get(confirm.jail).cloned().unwrap_or_default();
                }
                _ => {}
            }
            state.popup = None;
            state.flash(Level::Info, format!("{}: {}…", request.action(), request.target()));
            return vec![Effect::Respond(request)];
        }
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Down | KeyCode::Up if fields.len() > 1 => {
            let at = fields.iter().position(|f| *f == confirm.field).unwrap_or(0);
            let forward = matches!(key.code, KeyCode::Tab | KeyCode::Down);
            let next = if forward { at + 1 } else { at + fields.len() - 1 } % fields.len();
            confirm.field = fields[next % fields.len()];
        }
        KeyCode::Char(' ') if confirm.field == ConfirmField::Pause => {
            confirm.pause = confirm.pause.map(|p| !p);
        }
        KeyCode::Left | KeyCode::Right if confirm.field == ConfirmField::Jail && !confirm.jails.is_empty() => {
            let n = confirm.jails.len();
            confirm.jail = if key.code == KeyCode::Right { confirm.jail + 1 } else { confirm.jail + n - 1 } % n;
        }
        _ if typing => {
            if let Some(reason) = confirm.reason.as_mut() {
                reason.input(key);
                confirm.error = None;
            }
        }
        _ => {}
    }
    vec![]
}
