//! One attack, one alert: an incident a rule opened for a key (an address, a tenant) stays open
//! while its bucket holds anything, and what follows is added to its alert (its count, when it was
//! last seen, the bucket's level, the events linked) instead of raising another each quiet window.

use super::Rule;
use crate::store::alerts::Alert;
use crate::store::detections::Detection;

/// Most events one incident links to its alert (its count goes on past it).
pub const LINKED_MOST: usize = 1_000;

/// An open incident: the alert as it was raised, and what has followed it.
#[derive(Debug)]
pub struct Incident {
    /// The alert as raised (its `ts`, rule, tenant and address say which stored alert it is).
    alert: Alert,
    /// Events counted in it, the ones that opened it included.
    count: u64,
    /// The newest event counted in it (ms).
    last: i64,
    /// The bucket's level after that event.
    level: f64,
    /// Events counted since its alert was last brought up to date, to link to it.
    new: Vec<i64>,
    /// Events linked to its alert so far.
    linked: usize,
    /// Whether it has changed since its alert was last brought up to date.
    pub dirty: bool,
}

impl Incident {
    fn opened(d: &Detection, level: f64) -> Incident {
        Incident {
            alert: d.alert.clone(),
            count: d.events.len().max(1) as u64,
            last: d.alert.ts,
            level,
            new: Vec::new(),
            linked: d.events.len(),
            dirty: false,
        }
    }

    /// Event `id` at `ts` counted in it, the bucket at `level` after it; true when it had nothing
    /// untold until now.
    pub fn join(&mut self, id: i64, ts: i64, level: f64) -> bool {
        self.count += 1;
        self.last = self.last.max(ts);
        self.level = level;
        if self.linked + self.new.len() < LINKED_MOST {
            self.new.push(id);
        }
        !std::mem::replace(&mut self.dirty, true)
    }

    /// The newest event counted in it (ms).
    pub fn last(&self) -> i64 {
        self.last
    }

    /// Replaces what its alert says, and the fields in `why` (a rule whose alert names more as
    /// the incident grows).
    pub fn retell(&mut self, output: String, why: serde_json::Value) {
        self.alert.output = output;
        if let (Ok(serde_json::Value::Object(mut fields)), serde_json::Value::Object(why)) =
            (serde_json::from_str(&self.alert.output_fields_json), why)
        {
            fields.extend(why);
            self.alert.output_fields_json = serde_json::Value::Object(fields).to_string();
        }
    }

    /// The alert brought up to date with what followed it, and the events to link; clean after.
    pub fn update(&mut self) -> Detection {
        let mut alert = self.alert.clone();
        let last = chrono::DateTime::from_timestamp_millis(self.last)
            .map_or_else(|| self.last.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string());
        alert.output = format!("{} — {} events in all, the last at {last}", alert.output, self.count);
        if let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(&alert.output_fields_json) {
            fields.insert("rampart.count".into(), self.count.into());
            fields.insert("rampart.last_seen".into(), self.last.into());
            fields.insert("rampart.bucket_level".into(), super::round(self.level).into());
            alert.output_fields_json = serde_json::Value::Object(fields).to_string();
        }
        self.linked += self.new.len();
        self.dirty = false;
        Detection { alert, events: std::mem::take(&mut self.new), update: true }
    }
}

/// What one counted event does to a key's incident for `rule`: joins the open one, or opens one
/// with the alert `raise` makes (into `out`) when the bucket (at `level` after the event)
/// overflows. An open incident closes first when its bucket had emptied before this event
/// (`emptied`) and the rule's window has passed since its last; what it had not yet told its alert
/// goes into `out` then. True when the open incident had nothing untold until this event (its key
/// is then due for [`Incident::update`]).
#[allow(clippy::too_many_arguments)]
pub fn count(
    slot: &mut Option<Box<Incident>>,
    rule: &Rule,
    id: i64,
    ts: i64,
    level: f64,
    emptied: bool,
    out: &mut Vec<Detection>,
    raise: impl FnOnce() -> Detection,
) -> bool {
    if !rule.enabled {
        return false;
    }
    if slot.as_ref().is_some_and(|open| emptied && ts - open.last >= rule.window_seconds * 1000) {
        close(slot, out);
    }
    match slot {
        Some(open) => open.join(id, ts, level),
        None if rule.overflows(level) => {
            let d = raise();
            *slot = Some(Box::new(Incident::opened(&d, level)));
            out.push(d);
            false
        }
        None => false,
    }
}

/// Opens an incident in `slot` with the alert `d` (into `out`).
pub fn raise(slot: &mut Option<Box<Incident>>, d: Detection, level: f64, out: &mut Vec<Detection>) {
    *slot = Some(Box::new(Incident::opened(&d, level)));
    out.push(d);
}

/// Closes the incident in `slot`, its last news to its alert into `out`.
pub fn close(slot: &mut Option<Box<Incident>>, out: &mut Vec<Detection>) {
    if let Some(mut closed) = slot.take() {
        if closed.dirty {
            out.push(closed.update());
        }
    }
}

/// Whether an incident in `slot` is still open at `now`, or has news its alert has not had yet.
pub fn open(slot: &Option<Box<Incident>>, now: i64, rule: &Rule) -> bool {
    slot.as_ref().is_some_and(|i| i.dirty || now - i.last < rule.window_seconds * 1000)
}
