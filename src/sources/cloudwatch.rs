//! CloudWatch Logs as a source: `[[cloudwatch]]` groups polled with FilterLogEvents, every event stored exactly once.
//!
//! Each poll re-reads an overlap window behind the newest timestamp already stored (events arrive
//! late and out of order), pages until `nextToken` is absent (pages may be empty while it is
//! present), and drops what was stored before by `eventId`: first in a bounded in-memory set, then
//! by the store's unique key, written in the same transaction as the rows and the group's cursor.
//! Credentials come only from the standard AWS chain; rampart never prints, logs or stores them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use serde::{Deserialize, Serialize};

use super::aws::{backoff, classify, client, credentials_problem, Problem, RequestBudget};
use crate::config::cloudwatch::{GroupConfig, Settings};
use crate::parse::cloudwatch::Parsed;
use crate::store::cursors::{Batch, EventKey};
use crate::store::now_ms;
use crate::store::status::Health;
use crate::store::tails::Rows;
use crate::store::unparsed;
use crate::store::writer::{InFlight, StoreWriter, Tables, Write};

/// Event ids stored within the overlap window, bounded: past `cap` the oldest are forgotten (the
/// store's unique key still guards). An id is kept as its 64-bit hash under a key of this
/// process's own (SipHash, random key), not as its text: 24 bytes an id in place of about 100,
/// and CloudWatch's ids are the service's, so nobody can choose two that collide under a key
/// they do not know.
#[derive(Debug, Default)]
pub struct SeenIds {
    ids: HashMap<u64, i64>,
    key: std::collections::hash_map::RandomState,
    cap: usize,
}

impl SeenIds {
    pub fn new(cap: usize) -> SeenIds {
        SeenIds { ids: HashMap::new(), key: Default::default(), cap }
    }

    /// True when `id` is new (and remembers it).
    pub fn insert(&mut self, id: &str, ts: i64) -> bool {
        let hash = std::hash::BuildHasher::hash_one(&self.key, id);
        if self.ids.contains_key(&hash) {
            return false;
        }
        if self.ids.len() >= self.cap {
            let mut times: Vec<i64> = self.ids.values().copied().collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            self.ids.retain(|_, t| *t > cut);
        }
        self.ids.insert(hash, ts);
        true
    }

    pub fn forget_before(&mut self, ts: i64) {
        self.ids.retain(|_, t| *t >= ts);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// What the store keeps as a group's cursor (opaque to the store).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Position {
    /// The newest event timestamp of the last complete pass, never later than the collector's
    /// clock when that pass began (a writer's clock never moves the read window).
    pub newest: Option<i64>,
    /// Events stored, and messages that did not parse, over the group's life.
    pub stored: i64,
    pub unparsed: i64,
    /// The oldest time ever read (a sweep never reads before it: what lies there was never followed).
    pub read_from: Option<i64>,
    /// Events stamped later than the collector's clock (plus [`FUTURE_ALLOWANCE_MS`]) when read,
    /// published rows refused (their claimed origin is not their stream), and events that arrived
    /// too late for the overlap window and were found by a sweep; each with when it last happened.
    pub future: i64,
    pub future_at: Option<i64>,
    pub refused: i64,
    pub refused_at: Option<i64>,
    pub late: i64,
    pub late_at: Option<i64>,
}

/// How far after the collector's clock an event may be stamped before it counts as from the future.
pub const FUTURE_ALLOWANCE_MS: i64 = 60_000;
/// Every this many passes a sweep reads [`SWEEP_WINDOWS`] overlap windows behind the one each
/// pass reads, for events that arrived later than the overlap.
const SWEEP_EVERY: u32 = 12;
const SWEEP_WINDOWS: i64 = 2;
/// The most events a page is asked for. FilterLogEvents answers up to 10,000 events or 1 MB, but a
/// server need not keep to the megabyte (moto does not): a page of 10,000 access lines held the
/// response body (~3 MB as it grows), the events decoded from it (~3 MB) and their rows at once, a
/// third of the collector's peak during a backfill (issue 21, ≤ 50 MB). 5,000 events of a few
/// hundred bytes is about the megabyte AWS itself would send, so a backfill from AWS takes about as
/// many requests as before.
const PAGE_EVENTS: i32 = 5_000;
/// How long a source stays `degraded` after a clock skew, a refused row or a late event.
const WARN_FOR_MS: i64 = 3_600_000;

/// Why a page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// The first read, from `since` ago.
    Backfill,
    /// A poll: the overlap window and everything after it.
    Follow,
    /// Windows behind the overlap: anything new there arrived late.
    Sweep,
}

/// A message that was not a row, kept for the status detail.
const UNPARSED_EXAMPLE_CHARS: usize = 120;

/// One group being followed.
pub struct Follower {
    pub group: String,
    pub source: String,
    settings: Arc<Settings>,
    client: Client,
    budget: Arc<RequestBudget>,
    writer: StoreWriter,
    seen: SeenIds,
    position: Position,
    endpoint: String,
    last_unparsed: Option<String>,
    last_refused: Option<String>,
    /// This host's own `[cloudwatch_publish]` group and stream: never read back (its rows are here already).
    own: Option<(String, String)>,
    /// The last page sent, until the writer is done with it: the next waits for it, so a
    /// backfill holds a page or two in memory, not the whole group.
    in_flight: InFlight,
}

/// The outcome of a page of events.
#[derive(Default)]
struct Page {
    /// The rows by kind, each with its events' keys: stored in separate batches.
    access: (Vec<crate::store::access::AccessEvent>, Vec<EventKey>),
    alerts: (Vec<crate::store::alerts::Alert>, Vec<EventKey>),
    fleet: (Vec<crate::store::fleet::FleetRow>, Vec<EventKey>),
    /// Messages that were not rows, kept for inspection, and their keys.
    unparsed: Vec<unparsed::Line>,
    unparsed_keys: Vec<EventKey>,
    /// Keys of events read but not kept (refused rows).
    skipped_keys: Vec<EventKey>,
    newest: Option<i64>,
}

/// Adds a row and its key to a page's rows of its kind, room for the whole page made at the first
/// (a page is mostly of one kind; growing by doubling would hold up to twice the page meanwhile).
fn push<T>(rows: &mut (Vec<T>, Vec<EventKey>), page_len: usize, row: T, key: EventKey) {
    if rows.0.capacity() == 0 {
        rows.0.reserve_exact(page_len);
        rows.1.reserve_exact(page_len);
    }
    rows.0.push(row);
    rows.1.push(key);
}

impl Follower {
    fn page(&mut self, events: &[aws_sdk_cloudwatchlogs::types::FilteredLogEvent], read: Read) -> Page {
        let mut page = Page::default();
        let now = now_ms();
        for e in events {
            let (Some(id), Some(ts)) = (e.event_id(), e.timestamp()) else { continue };
            page.newest = Some(page.newest.map_or(ts, |n: i64| n.max(ts)));
            let stream = e.log_stream_name().unwrap_or_default();
            if self.own.as_ref().is_some_and(|(group, own)| *group == self.group && own == stream) {
                continue;
            }
            if !self.seen.insert(id, ts) {
                continue;
            }
            if ts > now + FUTURE_ALLOWANCE_MS {
                self.position.future += 1;
                self.position.future_at = Some(now);
                tracing::warn!(group = %self.group, stream, "an event stamped {} s after this host's clock", (ts - now) / 1000);
            }
            if read == Read::Sweep {
                self.position.late += 1;
                self.position.late_at = Some(now);
            }
            let message = e.message().unwrap_or_default();
            match self.settings.payload.parse(message, stream, &self.source) {
                Ok(Parsed::Refused(why)) => {
                    self.position.refused += 1;
                    self.position.refused_at = Some(now);
                    tracing::warn!(group = %self.group, "a published row refused: {why}");
                    self.last_refused = Some(why);
                    page.skipped_keys.push(EventKey { id: id.to_string(), ts });
                }
                Ok(Parsed::Fleet(row)) => push(
                    &mut page.fleet,
                    events.len(),
                    row.read_from(&self.group, stream),
                    EventKey { id: id.to_string(), ts },
                ),
                Ok(Parsed::Access(row)) => {
                    push(&mut page.access, events.len(), row, EventKey { id: id.to_string(), ts })
                }
                Ok(Parsed::Alert(row)) => {
                    push(&mut page.alerts, events.len(), row, EventKey { id: id.to_string(), ts })
                }
                Err(why) => {
                    self.position.unparsed += 1;
                    // Shown on screen only through the console's sanitizer; control characters go here already.
                    let example: String =
                        message.chars().filter(|c| !c.is_control()).take(UNPARSED_EXAMPLE_CHARS).collect();
                    self.last_unparsed = Some(format!("{why}: {example}"));
                    tracing::debug!(group = %self.group, "a message did not parse: {why}");
                    page.unparsed.push(unparsed::Line::new(ts, &format!("{stream}: {why}"), message));
                    page.unparsed_keys.push(EventKey { id: id.to_string(), ts });
                }
            }
        }
        page
    }

    /// Stores a page's rows (access events, alerts and other hosts' rows in separate batches) with the position.
    async fn store(&mut self, page: Page, forget_before: Option<i64>) -> bool {
        let Page { access, alerts, fleet, .. } = page;
        self.position.stored += (access.0.len() + alerts.0.len() + fleet.0.len()) as i64;
        let position = serde_json::to_string(&self.position).unwrap_or_default();
        let mut batches = Vec::new();
        if !alerts.0.is_empty() {
            batches.push((Rows::Alerts(alerts.0), alerts.1));
        }
        if !fleet.0.is_empty() {
            batches.push((Rows::Fleet(fleet.0), fleet.1));
        }
        if !access.0.is_empty() || batches.is_empty() {
            batches.push((Rows::Access(access.0), access.1));
        }
        if !self.in_flight.settled().await {
            return false;
        }
        // The page's unparsed lines and skipped keys go with its first batch.
        let mut unparsed = Some((page.unparsed, page.unparsed_keys, page.skipped_keys));
        for (rows, keys) in batches {
            let (unparsed, unparsed_keys, skipped_keys) = unparsed.take().unwrap_or_default();
            let batch = Batch {
                source: self.source.clone(),
                position: position.clone(),
                rows,
                keys,
                forget_before,
                unparsed,
                unparsed_keys,
                skipped_keys,
            };
            if self.writer.send(Write::Cursored(batch)).await.is_err() {
                return false;
            }
        }
        self.in_flight.sent(&self.writer).await
    }

    async fn report(&self, health: Health, summary: String, detail: String) -> bool {
        let mut detail = detail;
        if self.position.unparsed > 0 {
            detail.push_str(&format!("; {} not parsed", self.position.unparsed));
            if let Some(last) = &self.last_unparsed {
                detail.push_str(&format!(" (last: {last})"));
            }
        }
        detail.push_str(&self.warnings());
        if let Some((_, stream)) = self.own.as_ref().filter(|(group, _)| *group == self.group) {
            detail.push_str(&format!("; this host's own stream {stream} is not read"));
        }
        super::report_as(&self.writer, &self.source, health, summary, detail).await
    }

    /// What the Sources row says about events from the future, refused rows and late events.
    fn warnings(&self) -> String {
        let p = &self.position;
        let mut text = String::new();
        if p.future > 0 {
            text.push_str(&format!(
                "; clock skew: {} events from the future (stamped over {} s after this host's clock; stored)",
                p.future,
                FUTURE_ALLOWANCE_MS / 1000
            ));
        }
        if p.refused > 0 {
            text.push_str(&format!("; {} published rows refused: origin is not their stream", p.refused));
            if let Some(last) = &self.last_refused {
                text.push_str(&format!(" (last: {last})"));
            }
        }
        if p.late > 0 {
            text.push_str(&format!(
                "; {} late events found behind the overlap window (stored; a larger overlap reads them sooner)",
                p.late
            ));
        }
        text
    }

    /// The few words for what happened within the last hour, if anything did.
    fn recent_warnings(&self, now: i64) -> Option<String> {
        let p = &self.position;
        let recent = |at: Option<i64>| at.is_some_and(|at| now - at < WARN_FOR_MS);
        let words: Vec<&str> = [
            (recent(p.refused_at), "origin refused"),
            (recent(p.future_at), "clock skew"),
            (recent(p.late_at), "late events"),
        ]
        .iter()
        .filter(|(yes, _)| *yes)
        .map(|(_, w)| *w)
        .collect();
        (!words.is_empty()).then(|| words.join(", "))
    }

    /// Every page of `[start, end]` until `nextToken` is absent; a failed request is retried (same
    /// token) after a jittered back-off, never given up. The newest timestamp read, or `None` once
    /// the writer is gone.
    async fn read(&mut self, start: i64, end: Option<i64>, read: Read) -> Option<Option<i64>> {
        let began = now_ms();
        let mut token: Option<String> = None;
        let mut newest: Option<i64> = None;
        let mut failures = 0u32;
        loop {
            self.budget.take().await;
            let entry = &self.settings.entry;
            let mut request = self
                .client
                .filter_log_events()
                .log_group_name(&self.group)
                .limit(PAGE_EVENTS)
                .start_time(start)
                .set_end_time(end)
                .set_next_token(token.clone())
                .set_filter_pattern(entry.filter_pattern.clone())
                .set_log_stream_name_prefix(entry.stream_prefix.clone());
            if !entry.streams.is_empty() {
                request = request.set_log_stream_names(Some(entry.streams.clone()));
            }
            match request.send().await {
                Ok(out) => {
                    failures = 0;
                    let page = self.page(out.events(), read);
                    if let Some(n) = page.newest {
                        newest = Some(newest.map_or(n, |m| m.max(n)));
                    }
                    let anything = !page.access.0.is_empty()
                        || !page.alerts.0.is_empty()
                        || !page.fleet.0.is_empty()
                        || !page.unparsed.is_empty()
                        || !page.skipped_keys.is_empty();
                    if anything && !self.store(page, None).await {
                        return None;
                    }
                    token = out.next_token().map(str::to_string);
                    if token.is_none() {
                        return Some(newest);
                    }
                    if read == Read::Backfill {
                        let done = newest.map_or(0, |n| ((n - start) * 100 / (began - start).max(1)).clamp(0, 99));
                        let detail = format!("backfilling {done}%: {} events stored", self.position.stored);
                        if !self.report(Health::Degraded, format!("backfilling {done}%"), detail).await {
                            return None;
                        }
                    }
                }
                Err(e) => {
                    let problem = classify(&e, "logs:FilterLogEvents", &self.group, &self.endpoint);
                    failures += 1;
                    let wait = backoff(failures);
                    let detail = format!("{}; retrying in {} s", problem.describe(), wait.as_secs().max(1));
                    tracing::warn!(group = %self.group, "{detail}");
                    if !self.report(problem.health(), problem.summary().into(), detail).await {
                        return None;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One pass over `[start, now]`. False once the writer is gone.
    async fn pass(&mut self, start: i64, backfill: bool) -> bool {
        let began = now_ms();
        let read = if backfill { Read::Backfill } else { Read::Follow };
        let Some(newest) = self.read(start, None, read).await else { return false };
        // The pass is complete: from now on nothing older than the overlap window is read again
        // (but by a sweep). The window follows the newest event, but never past this host's own
        // clock: one event stamped in the future must not carry it beyond the events of now.
        let newest = newest.into_iter().chain(self.position.newest).max().map_or(start, |n| n.min(began));
        self.position.newest = Some(newest);
        self.position.read_from = Some(self.position.read_from.map_or(start, |r| r.min(start)));
        let overlap = self.settings.overlap.as_millis() as i64;
        let keep_from = newest - overlap * (1 + SWEEP_WINDOWS) - 60_000;
        self.seen.forget_before(keep_from);
        if !self.store(Page::default(), Some(keep_from)).await {
            return false;
        }
        let took = now_ms() - began;
        let poll = self.settings.poll.as_millis() as i64;
        let (health, summary, detail) = if took > (2 * poll).max(10_000) {
            let lag = format!("lagging {} s", took / 1000);
            (Health::Degraded, lag.clone(), format!("{lag}: a poll took that long"))
        } else if let Some(words) = self.recent_warnings(now_ms()) {
            (Health::Degraded, words, format!("{} events stored", self.position.stored))
        } else {
            (Health::Ok, "ok".to_string(), format!("ok: {} events stored", self.position.stored))
        };
        self.report(health, summary, detail).await
    }

    /// Reads the windows behind the overlap window (back to where following began): whatever is
    /// new there arrived later than the overlap, and would otherwise never be read. False once the
    /// writer is gone.
    async fn sweep(&mut self) -> bool {
        let (Some(newest), Some(read_from)) = (self.position.newest, self.position.read_from) else { return true };
        let overlap = self.settings.overlap.as_millis() as i64;
        let end = newest - overlap - 1;
        let start = (newest - overlap * (1 + SWEEP_WINDOWS)).max(read_from);
        if start > end {
            return true;
        }
        self.read(start.max(0), Some(end), Read::Sweep).await.is_some()
    }

    /// Follows the group until the writer goes away.
    pub async fn run(mut self) {
        let since = self.settings.since.as_millis() as i64;
        let overlap = self.settings.overlap.as_millis() as i64;
        let key = self.source.clone();
        // The position, and the events already stored within the overlap window: after a restart
        // the window read again is neither sent to the store nor counted a second time.
        let (stored, seen) = self
            .writer
            .call(move |conn| {
                let position = crate::store::cursors::get(conn, &key).ok().flatten();
                let seen = crate::store::cursors::seen(conn, &key).unwrap_or_default();
                ((position, seen), Tables::NONE)
            })
            .await
            .unwrap_or_default();
        if let Some(p) = stored.and_then(|text| serde_json::from_str::<Position>(&text).ok()) {
            self.position = p;
        }
        if let (Some(newest), None) = (self.position.newest, self.position.read_from) {
            // A position from before sweeps: only the window whose keys were kept may be swept.
            self.position.read_from = Some(newest.min(now_ms()) - overlap - 60_000);
        }
        for key in seen {
            self.seen.insert(&key.id, key.ts);
        }
        let mut passes = 0u32;
        loop {
            let (start, backfill) = match self.position.newest {
                // A position stored before the window was bound to this host's clock may lie in the future.
                Some(newest) => (newest.min(now_ms()) - overlap, false),
                None => (now_ms() - since, true),
            };
            passes += 1;
            if passes.is_multiple_of(SWEEP_EVERY) && !self.sweep().await {
                return;
            }
            if !self.pass(start.max(0), backfill).await {
                return;
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }
}

/// The groups an entry names: itself, or every group under its prefix (DescribeLogGroups).
pub async fn groups_of(
    client: &Client,
    entry: &GroupConfig,
    budget: &RequestBudget,
    endpoint: &str,
) -> Result<Vec<GroupInfo>, Problem> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        budget.take().await;
        let out = client
            .describe_log_groups()
            .set_log_group_name_prefix(entry.group_prefix.clone().or(entry.group.clone()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify(&e, "logs:DescribeLogGroups", &entry.label(), endpoint))?;
        for g in out.log_groups() {
            if let Some(name) = g.log_group_name() {
                if entry.group.as_deref().is_none_or(|want| want == name) {
                    found.push(GroupInfo {
                        name: name.to_string(),
                        stored_bytes: g.stored_bytes(),
                        retention_days: g.retention_in_days(),
                    });
                }
            }
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(found);
        }
    }
}

/// A log group as DescribeLogGroups tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub stored_bytes: Option<i64>,
    pub retention_days: Option<i32>,
}

/// Starts one follower per group of every entry; all share one request budget. Never blocks the
/// console: everything runs on the collector's tasks and reports through the source status. With
/// `publish` (this host's `[cloudwatch_publish]`), the host's own stream is never read back.
pub async fn run(
    writer: StoreWriter,
    entries: Vec<GroupConfig>,
    publish: Option<crate::config::cloudwatch::PublishConfig>,
) {
    if entries.is_empty() {
        return;
    }
    let own = publish.map(|p| {
        let host = crate::host::name();
        (p.group_name(&host), host)
    });
    let rate = entries.iter().filter_map(|e| e.requests_per_second).min().unwrap_or(3);
    let budget = Arc::new(RequestBudget::new(f64::from(rate)));
    let mut tasks = tokio::task::JoinSet::new();
    for entry in entries {
        tasks.spawn(follow_entry(writer.clone(), entry, budget.clone(), own.clone()));
    }
    while tasks.join_next().await.is_some() {}
}

/// Follows an entry's groups; with a prefix, looks for new groups every minute.
async fn follow_entry(
    writer: StoreWriter,
    entry: GroupConfig,
    budget: Arc<RequestBudget>,
    own: Option<(String, String)>,
) {
    let label = format!("cloudwatch:{}", entry.label());
    let settings = match entry.settings() {
        Ok(s) => Arc::new(s),
        Err(why) => {
            super::report(&writer, &label, Health::Down, why).await;
            return;
        }
    };
    let (client, sdk) = client(&entry).await;
    let endpoint = entry.endpoint_url.clone().unwrap_or_else(|| {
        format!("the CloudWatch Logs endpoint of {}", sdk.region().map_or("(no region)".into(), |r| r.to_string()))
    });
    let mut failures = 0u32;
    let mut followed: Vec<String> = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let problem = credentials_problem(&sdk, entry.profile.as_deref()).await;
        let groups = match problem {
            Some(p) => Err(p),
            None => match &entry.group {
                // A single group is followed without listing (that needs logs:DescribeLogGroups).
                Some(g) => Ok(vec![g.clone()]),
                None => groups_of(&client, &entry, &budget, &endpoint)
                    .await
                    .map(|found| found.into_iter().map(|g| g.name).collect()),
            },
        };
        match groups {
            Ok(groups) => {
                failures = 0;
                for group in groups {
                    if followed.contains(&group) {
                        continue;
                    }
                    followed.push(group.clone());
                    let follower = Follower {
                        source: format!("cloudwatch:{group}"),
                        group,
                        settings: settings.clone(),
                        client: client.clone(),
                        budget: budget.clone(),
                        writer: writer.clone(),
                        seen: SeenIds::new(1_000_000),
                        position: Position::default(),
                        endpoint: endpoint.clone(),
                        last_unparsed: None,
                        last_refused: None,
                        own: own.clone(),
                        in_flight: InFlight::default(),
                    };
                    tasks.spawn(follower.run());
                }
                if entry.group.is_some() {
                    break;
                }
                if followed.is_empty()
                    && !super::report(&writer, &label, Health::Degraded, format!("no groups under {}", entry.label()))
                        .await
                {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Err(problem) => {
                failures += 1;
                let wait = backoff(failures);
                let detail = format!("{}; retrying in {} s", problem.describe(), wait.as_secs().max(1));
                let name = match &entry.group {
                    Some(g) => format!("cloudwatch:{g}"),
                    None => label.clone(),
                };
                if !super::report_as(&writer, &name, problem.health(), problem.summary().into(), detail).await {
                    return;
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ids_stay_bounded_and_forget_the_oldest_half() {
        let mut seen = SeenIds::new(4);
        for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(seen.insert(id, i as i64));
        }
        assert!(!seen.insert("d", 3));
        assert!(seen.insert("e", 4));
        assert!(seen.len() <= 4);
        assert!(!seen.insert("e", 4));
    }
}
