//! Jumps and the way back: T to a row's tenant, E to its IP's events, a `:` command naming a row,
//! and the back stack Esc and Backspace return along.

use super::view::set_filter;
use crate::action::Action;
use crate::app::msg::Effect;
use crate::app::state::{Level, Place, State, BACK_LIMIT};
use crate::pane::Pane;
use crate::store::filter;
use crate::store::window::Row;

/// Remembers where a jump to `target` leaves from.
pub(super) fn push_place(state: &mut State, target: Pane) {
    let p = state.pane(target);
    let place = Place { focus: state.focus, pane: target, filter: p.filter.clone(), selected: p.selected };
    if state.back.len() >= BACK_LIMIT {
        state.back.remove(0);
    }
    state.back.push(place);
}

/// Goes back to where the newest jump came from: its focus, and the filter and selection the jump
/// changed.
pub(super) fn back(state: &mut State) -> Vec<Effect> {
    let Some(place) = state.back.pop() else {
        state.flash(Level::Info, "nothing to go back to");
        return vec![];
    };
    state.focus = place.focus;
    let effects = set_filter(state, place.pane, place.filter);
    let height = state.list_height(place.pane);
    let p = state.pane_mut(place.pane);
    if effects.is_empty() && place.selected < p.rows.len() {
        p.selected = place.selected;
        p.scroll_into_view(height);
    }
    effects
}

/// Follows the selected row to its tenant, or to its IP's access events.
pub(super) fn goto(state: &mut State, action: Action) -> Vec<Effect> {
    let focus = state.focus;
    if !action.applies_to(focus) {
        state.flash(Level::Info, format!("{}: not on {}", action.name(), focus.title()));
        return vec![];
    }
    let Some(row) = state.pane(focus).selected_row() else {
        state.flash(Level::Info, format!("{} is empty", focus.title()));
        return vec![];
    };
    let (tenant, ip) = match row {
        Row::Alert(a) => (a.tenant.clone(), a.src_ip.clone()),
        Row::Access(e) => (Some(e.tenant.clone()).filter(|t| !t.is_empty()), Some(e.src_ip.clone())),
        Row::Ban(b) => (b.tenant.clone(), Some(b.ip.clone())),
        _ => (None, None),
    };
    if action == Action::GotoIp {
        let Some(ip) = ip else {
            state.flash(Level::Info, "this row has no IP address");
            return vec![];
        };
        return match filter::compile(&format!("ip:{ip}"), Pane::Access.fields(), state.now_ms) {
            Ok(f) => {
                push_place(state, Pane::Access);
                state.focus = Pane::Access;
                set_filter(state, Pane::Access, f)
            }
            Err(e) => {
                state.flash(Level::Error, e.to_string());
                vec![]
            }
        };
    }
    let Some(tenant) = tenant else {
        state.flash(Level::Info, "this row belongs to no known tenant");
        return vec![];
    };
    if !select_row(state, Pane::Tenants, &tenant) {
        state.flash(Level::Info, format!("tenant {tenant} is not in the Tenants pane"));
    }
    vec![]
}

/// The text a `:` command names a row of `pane` by: a tenant's or target's name, a ban's or an
/// access event's address, an alert's id.
pub(super) fn row_is(row: &Row, name: &str) -> bool {
    let same_ip = |ip: &str| match (ip.parse::<std::net::IpAddr>(), name.parse::<std::net::IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => ip == name,
    };
    match row {
        Row::Tenant(t) => t.name == name,
        Row::Integrity(t) => t.target.name == name,
        Row::Ban(b) => same_ip(&b.ip),
        Row::Access(e) => same_ip(&e.src_ip),
        Row::Alert(a) => a.id.to_string() == name,
        _ => false,
    }
}

/// Jumps to the first loaded row of `pane` that `name` names (remembering where it came from).
pub(super) fn select_row(state: &mut State, pane: Pane, name: &str) -> bool {
    let Some(index) = state.pane(pane).rows.iter().position(|r| row_is(r, name)) else { return false };
    push_place(state, pane);
    let height = state.list_height(pane);
    let p = state.pane_mut(pane);
    p.selected = index;
    if pane.is_stream() {
        p.stop_following();
    }
    p.scroll_into_view(height);
    state.focus = pane;
    true
}
