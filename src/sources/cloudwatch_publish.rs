//! CloudWatch Logs out: `[cloudwatch_publish]` puts rampart's own events (audit rows, alerts, bans
//! and their ends, integrity runs) into one stream per host, exactly once.
//!
//! Each table is published in id order and its last published id is the table's cursor, kept in
//! the store's `cursors` table. Every event carries the id of the store it came from (`store`: a
//! host may hold several stores over its life, each with its own ids and audit chain) and the
//! position *after* itself (`after`), and a store's event timestamps never go back, so the newest
//! event of this store in the stream says exactly how far its publishing got: when a PutLogEvents
//! landed but its answer (or the cursor write after it) was lost — a crash, a timeout, a dropped
//! connection — the publisher reads the stream back to its store's newest event before it sends
//! again and resumes from the later of the two positions. Another store's events never move it.
//! Nothing is lost (a failed put is retried with back-off, forever) and nothing is sent twice.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_cloudwatchlogs::Client;
use serde_json::{json, Value};

use super::aws::{backoff, classify, client_for, credentials_problem, Problem};
use crate::config::cloudwatch::PublishConfig;
use crate::store::audit::Identity;
use crate::store::now_ms;
pub use crate::store::outbox::{pending, Outgoing, Pending, Published};
use crate::store::status::Health;
use crate::store::writer::{StoreWriter, Tables};

/// PutLogEvents' limits: events per request, bytes per request (each event counts its message's
/// UTF-8 bytes plus 26), bytes per event, and the span of one request's timestamps.
pub const MAX_EVENTS: usize = 10_000;
pub const MAX_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
pub const MAX_EVENT_BYTES: usize = 262_144;
const MAX_SPAN_MS: i64 = 23 * 3_600_000;
/// CloudWatch refuses events older than 14 days: older rows are stamped 13 days back (their own
/// time stays in the message).
const OLDEST_MS: i64 = 13 * 86_400_000;
/// How often the tables are looked at when everything is published.
const IDLE: Duration = Duration::from_millis(500);

/// One PutLogEvents request: `(timestamp, message)` in chronological order, and the position
/// once it has landed.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub events: Vec<(i64, String)>,
    pub after: Published,
}

/// The message of an event: the row, its kind, the publishing host (`origin`), the store it came
/// from (`store`) and the position after it; a message over the per-event limit has its long texts
/// cut (its ids and hashes stay whole).
fn message(row: &Pending, host: &str, store: &str, after: &Published) -> String {
    let mut fields = row.fields.clone();
    fields.insert("kind".into(), json!(row.kind.name()));
    fields.insert("origin".into(), json!(host));
    fields.insert("store".into(), json!(store));
    fields.insert("after".into(), json!(after));
    let text = Value::Object(fields.clone()).to_string();
    if text.len() + EVENT_OVERHEAD <= MAX_EVENT_BYTES {
        return text;
    }
    for value in fields.values_mut() {
        if let Value::String(s) = value {
            if s.len() > 4096 && !s.chars().all(|c| c.is_ascii_hexdigit()) {
                let cut: String = s.chars().take(1024).collect();
                *s = format!("{cut}… (cut from {} bytes)", s.len());
            }
        }
    }
    fields.insert("truncated".into(), json!(true));
    Value::Object(fields).to_string()
}

/// Merges the tables' rows by time (each table stays in id order, so any prefix is a position) and
/// takes as many as one request may carry. Event timestamps never go back and never lie more than
/// 13 days in the past; the row's own time is in its message. Every message names `host` and the
/// `store`'s id.
pub fn batch(tables: Vec<Vec<Pending>>, from: Published, now: i64, host: &str, store: &str) -> Batch {
    let mut heads: Vec<std::iter::Peekable<std::vec::IntoIter<Pending>>> =
        tables.into_iter().map(|t| t.into_iter().peekable()).collect();
    let mut after = from;
    let mut events = Vec::new();
    let mut bytes = 0;
    let mut first_ts = None;
    loop {
        let next =
            heads.iter_mut().enumerate().filter_map(|(i, h)| h.peek().map(|row| (row.ts, i))).min().map(|(_, i)| i);
        let Some(i) = next else { break };
        let Some(row) = heads[i].peek() else { break };
        let ts = row.ts.clamp(now - OLDEST_MS, now).max(after.ts);
        let mut then = after;
        then.set(row.kind, row.id);
        then.ts = ts;
        let text = message(row, host, store, &then);
        let size = text.len() + EVENT_OVERHEAD;
        let too_long = first_ts.is_some_and(|first| ts - first > MAX_SPAN_MS);
        if events.len() == MAX_EVENTS || bytes + size > MAX_BYTES || too_long {
            break;
        }
        heads[i].next();
        first_ts.get_or_insert(ts);
        bytes += size;
        events.push((ts, text));
        after = then;
    }
    Batch { events, after }
}

/// The host's name, as the stream is named.
/// The client, group and stream of a `[cloudwatch_publish]` section.
pub struct Destination {
    pub client: Client,
    pub sdk: aws_config::SdkConfig,
    pub group: String,
    pub stream: String,
    pub endpoint: String,
    pub profile: Option<String>,
}

impl Destination {
    pub async fn new(config: &PublishConfig) -> Destination {
        let host = crate::host::name();
        let (client, sdk) =
            client_for(config.region.as_deref(), config.profile.as_deref(), config.endpoint_url.as_deref()).await;
        let endpoint = config.endpoint_url.clone().unwrap_or_else(|| {
            format!("the CloudWatch Logs endpoint of {}", sdk.region().map_or("(no region)".into(), |r| r.to_string()))
        });
        Destination {
            client,
            sdk,
            group: config.group_name(&host),
            stream: host,
            endpoint,
            profile: config.profile.clone(),
        }
    }

    fn problem<E>(&self, e: &aws_sdk_cloudwatchlogs::error::SdkError<E>, action: &str) -> Problem
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        classify(e, action, &self.group, &self.endpoint)
    }

    /// Creates the group and the host's stream when they are missing (a group made by someone
    /// else, with these credentials unable to create groups, is fine too).
    async fn ensure(&self) -> Result<(), Problem> {
        if let Some(p) = credentials_problem(&self.sdk, self.profile.as_deref()).await {
            return Err(p);
        }
        let tolerated = |code: Option<&str>| matches!(code, Some("ResourceAlreadyExistsException"));
        if let Err(e) = self.client.create_log_group().log_group_name(&self.group).send().await {
            let code = e.as_service_error().and_then(|s| s.code());
            if !tolerated(code) && code != Some("AccessDeniedException") {
                return Err(self.problem(&e, "logs:CreateLogGroup"));
            }
        }
        if let Err(e) =
            self.client.create_log_stream().log_group_name(&self.group).log_stream_name(&self.stream).send().await
        {
            if !tolerated(e.as_service_error().and_then(|s| s.code())) {
                return Err(self.problem(&e, "logs:CreateLogStream"));
            }
        }
        Ok(())
    }

    /// How far the newest events of store `me` in the stream say its publishing got (the default
    /// when the stream holds none of them). Reads back from the newest event, page by page, until
    /// a page holds one of the store's events, or the events are older than `floor` (none of the
    /// store's events after a position it knows of is stamped earlier than that position).
    pub async fn published(&self, me: &Identity, floor: i64) -> Result<Published, Problem> {
        let mut token: Option<String> = None;
        loop {
            let out = self.page(false, token.clone(), Some(1_000)).await?;
            let mut found: Option<Published> = None;
            let mut oldest = i64::MAX;
            for e in out.events() {
                oldest = oldest.min(e.timestamp().unwrap_or(i64::MIN));
                let Some(v) = e.message().and_then(|m| serde_json::from_str::<Value>(m).ok()) else { continue };
                if !is_ours(&v, me) {
                    continue;
                }
                let after = v.get("after").cloned().and_then(|a| serde_json::from_value::<Published>(a).ok());
                if let Some(after) = after {
                    found = Some(found.unwrap_or_default().max(after));
                }
            }
            if let Some(found) = found {
                return Ok(found);
            }
            let next = out.next_backward_token().map(str::to_string);
            if out.events().is_empty() || next.is_none() || next == token || oldest < floor {
                return Ok(Published::default());
            }
            token = next;
        }
    }

    /// Every event of the host's stream, oldest first (for `rampart audit verify`).
    pub async fn read_all(&self) -> Result<Vec<String>, Problem> {
        let mut messages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self.page(true, token.clone(), None).await?;
            let got = out.events().len();
            messages.extend(out.events().iter().filter_map(|e| e.message().map(str::to_string)));
            let next = out.next_forward_token().map(str::to_string);
            if got == 0 || next.is_none() || next == token {
                return Ok(messages);
            }
            token = next;
        }
    }

    /// One page of the host's stream: forward from its oldest event, or back from its newest.
    async fn page(
        &self,
        from_head: bool,
        token: Option<String>,
        limit: Option<i32>,
    ) -> Result<GetLogEventsOutput, Problem> {
        self.client
            .get_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .start_from_head(from_head)
            .set_next_token(token)
            .set_limit(limit)
            .send()
            .await
            .map_err(|e| self.problem(&e, "logs:GetLogEvents"))
    }

    async fn put(&self, events: &[(i64, String)]) -> Result<(), Problem> {
        let list: Vec<InputLogEvent> = events
            .iter()
            .filter_map(|(ts, m)| InputLogEvent::builder().timestamp(*ts).message(m).build().ok())
            .collect();
        let out = self
            .client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .set_log_events(Some(list))
            .send()
            .await
            .map_err(|e| self.problem(&e, "logs:PutLogEvents"))?;
        if let Some(r) = out.rejected_log_events_info() {
            // Timestamps are kept within the accepted window, so this means a clock far off.
            tracing::error!(group = %self.group, "CloudWatch rejected events: {r:?} — check the host's clock");
        }
        Ok(())
    }
}

/// The source name the publisher reports under.
pub fn status_name(group: &str) -> String {
    format!("cloudwatch-publish:{group}")
}

/// Publishes until the writer goes away; does nothing without a `[cloudwatch_publish]` section.
pub async fn run(writer: StoreWriter, config: Option<PublishConfig>) {
    let Some(config) = config else { return };
    let to = Destination::new(&config).await;
    let source = status_name(&to.group);
    let me = match writer.call(|conn| (crate::store::audit::identity(conn), Tables::NONE)).await {
        Ok(Ok(Some(me))) => me,
        Ok(Ok(None)) => {
            let detail = "the store has no identity (its store_identity row is gone, which only tampering does): \
                          nothing is published — run `rampart audit verify`"
                .to_string();
            tracing::error!(source, "{detail}");
            let _ = super::report_as(&writer, &source, Health::Down, "no store identity".into(), detail).await;
            return;
        }
        Ok(Err(e)) => {
            let detail = format!("cannot read the store's identity: {e}");
            tracing::error!(source, "{detail}");
            let _ = super::report_as(&writer, &source, Health::Down, "store error".into(), detail).await;
            return;
        }
        Err(_) => return,
    };
    let cursor = source.clone();
    let local = writer
        .call(move |conn| (crate::store::cursors::get(conn, &cursor).ok().flatten(), Tables::NONE))
        .await
        .ok()
        .flatten()
        .and_then(|text| serde_json::from_str::<Published>(&text).ok())
        .unwrap_or_default();
    let mut position = local;
    let mut stored = local;
    let mut published = 0u64;
    let mut failures = 0u32;
    // Until the stream has been asked how far it holds, nothing is sent: at start, and after any
    // failed put (which may have landed all the same).
    let mut unsure = true;
    loop {
        if unsure {
            // None of this store's events is stamped before its newest known position, nor (an
            // event is never stamped more than 13 days back) long before the store was made.
            let floor =
                if me.adopts_unlabeled { position.ts } else { position.ts.max(me.created_at - OLDEST_MS - 86_400_000) };
            let asked = match to.ensure().await {
                Ok(()) => to.published(&me, floor).await,
                Err(p) => Err(p),
            };
            match asked {
                Ok(remote) => {
                    position = position.max(remote);
                    unsure = false;
                }
                Err(problem) => {
                    failures += 1;
                    if !fail(&writer, &source, &problem, failures).await {
                        return;
                    }
                    continue;
                }
            }
        }
        if position != stored {
            let (key, text) = (source.clone(), serde_json::to_string(&position).unwrap_or_default());
            let wrote =
                writer.call(move |conn| (crate::store::cursors::put(conn, &key, &text, now_ms()), Tables::NONE)).await;
            match wrote {
                Ok(Ok(())) => stored = position,
                Ok(Err(e)) => tracing::error!("cannot store the publish cursor: {e}"),
                Err(_) => return,
            }
        }
        let from = position;
        let Ok(read) = writer.call(move |conn| (pending(conn, &from, MAX_EVENTS), Tables::NONE)).await else {
            return;
        };
        let rows = match read {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!("cannot read the rows to publish: {e}");
                tokio::time::sleep(IDLE).await;
                continue;
            }
        };
        let batch = batch(rows, position, now_ms(), &to.stream, &me.id);
        if batch.events.is_empty() {
            let detail = format!("ok: {published} events published to {} since start", to.group);
            let counts = Some((published as i64, 0));
            if !super::report_counted(&writer, &source, Health::Ok, String::new(), detail, counts).await {
                return;
            }
            tokio::time::sleep(IDLE).await;
            continue;
        }
        match to.put(&batch.events).await {
            Ok(()) => {
                failures = 0;
                published += batch.events.len() as u64;
                position = batch.after;
            }
            Err(problem) => {
                failures += 1;
                unsure = true;
                if matches!(problem, Problem::NoSuchGroup(_)) {
                    tracing::warn!(group = %to.group, "the group or stream went away; creating it again");
                }
                if !fail(&writer, &source, &problem, failures).await {
                    return;
                }
            }
        }
    }
}

/// Reports a problem and waits the back-off; false once the writer is gone.
async fn fail(writer: &StoreWriter, source: &str, problem: &Problem, failures: u32) -> bool {
    let wait = backoff(failures);
    let detail = format!("{}; retrying in {} s", problem.describe(), wait.as_secs().max(1));
    tracing::warn!(source, "{detail}");
    if !super::report_as(writer, source, problem.health(), problem.summary().into(), detail).await {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

/// Whether a published message is store `me`'s: it names the store's id, or names none and the
/// store owns the messages it put before it had one.
pub fn is_ours(message: &Value, me: &Identity) -> bool {
    match message.get("store") {
        Some(Value::String(id)) => *id == me.id,
        Some(_) => false,
        None => me.adopts_unlabeled,
    }
}

/// The name under which messages without a store id are grouped when they are not this store's.
pub const UNLABELED: &str = "(none named)";

/// The audit rows of a stream's messages, `(id, hash)` in id order (an id put twice counts once):
/// store `me`'s, and every other store's by its id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishedAudit {
    pub ours: Vec<(i64, String)>,
    pub others: std::collections::BTreeMap<String, Vec<(i64, String)>>,
}

pub fn published_audit(messages: &[String], me: &Identity) -> PublishedAudit {
    use std::collections::BTreeMap;
    let mut ours = BTreeMap::new();
    let mut others: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
    for m in messages {
        let Ok(v) = serde_json::from_str::<Value>(m) else { continue };
        if v.get("kind").and_then(Value::as_str) != Some("audit") {
            continue;
        }
        let (Some(id), Some(hash)) = (v.get("id").and_then(Value::as_i64), v.get("hash").and_then(Value::as_str))
        else {
            continue;
        };
        let rows = if is_ours(&v, me) {
            &mut ours
        } else {
            let store = match v.get("store") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => UNLABELED.to_string(),
            };
            others.entry(store).or_default()
        };
        rows.entry(id).or_insert_with(|| hash.to_string());
    }
    PublishedAudit {
        ours: ours.into_iter().collect(),
        others: others.into_iter().map(|(store, rows)| (store, rows.into_iter().collect())).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: Outgoing, id: i64, ts: i64, size: usize) -> Pending {
        let mut fields = serde_json::Map::new();
        fields.insert("id".into(), json!(id));
        fields.insert("text".into(), json!("x".repeat(size)));
        Pending { kind, id, ts, fields }
    }

    #[test]
    fn a_batch_is_chronological_keeps_each_table_in_id_order_and_says_where_it_ends() {
        let now = 10_000_000_000;
        let audit = vec![row(Outgoing::Audit, 1, now - 50, 1), row(Outgoing::Audit, 2, now - 10, 1)];
        // Alert 8 is older than alert 7 (Falco's own times arrive out of order): still after it.
        let alerts = vec![row(Outgoing::Alert, 7, now - 30, 1), row(Outgoing::Alert, 8, now - 40, 1)];
        let b = batch(vec![audit, alerts, vec![], vec![]], Published::default(), now, "h", "s");
        let times: Vec<i64> = b.events.iter().map(|e| e.0).collect();
        assert_eq!(times, [now - 50, now - 30, now - 30, now - 10], "never going back");
        assert_eq!((b.after.audit, b.after.alert, b.after.ts), (2, 8, now - 10));
        let last: Value = serde_json::from_str(&b.events[3].1).unwrap();
        assert_eq!(last["kind"], "audit");
        assert_eq!(last["after"]["alert"], 8);
        assert_eq!((&last["origin"], &last["store"]), (&json!("h"), &json!("s")), "which host, which store");
    }

    #[test]
    fn a_stores_published_audit_rows_are_told_from_other_stores_and_unlabeled_ones_go_to_the_adopter() {
        let msg = |store: Option<&str>, id: i64| {
            let mut v = json!({"kind": "audit", "id": id, "hash": format!("h{id}")});
            if let Some(s) = store {
                v["store"] = json!(s);
            }
            v.to_string()
        };
        let messages =
            [msg(None, 1), msg(Some("old"), 1), msg(Some("old"), 2), msg(Some("new"), 1), msg(Some("new"), 1)];
        let me = Identity { id: "new".into(), created_at: 0, adopts_unlabeled: false };
        let p = published_audit(&messages, &me);
        assert_eq!(p.ours, [(1, "h1".to_string())], "its own, once");
        assert_eq!(p.others.keys().collect::<Vec<_>>(), [UNLABELED, "old"]);
        assert_eq!(p.others["old"].len(), 2);
        let adopter = Identity { id: "x".into(), created_at: 0, adopts_unlabeled: true };
        assert_eq!(published_audit(&messages, &adopter).ours, [(1, "h1".to_string())]);
    }

    #[test]
    fn a_batch_stays_within_the_event_and_byte_limits_and_old_rows_are_stamped_within_14_days() {
        let now = 100 * 86_400_000;
        let many: Vec<Pending> = (1..=12_000).map(|i| row(Outgoing::Ban, i, 0, 1)).collect();
        let b = batch(vec![vec![], vec![], many, vec![]], Published::default(), now, "h", "s");
        let bytes: usize = b.events.iter().map(|e| e.1.len() + EVENT_OVERHEAD).sum();
        assert!(b.events.len() <= MAX_EVENTS && bytes <= MAX_BYTES && bytes > MAX_BYTES - 300);
        assert_eq!(b.after.ban, b.events.len() as i64);
        assert!(b.events.iter().all(|e| e.0 >= now - 14 * 86_400_000));
        let big: Vec<Pending> = (1..=20).map(|i| row(Outgoing::Audit, i, now, 100_000)).collect();
        let b = batch(vec![big, vec![], vec![], vec![]], Published::default(), now, "h", "s");
        let bytes: usize = b.events.iter().map(|e| e.1.len() + EVENT_OVERHEAD).sum();
        assert!(bytes <= MAX_BYTES && b.events.len() == 10, "{} events, {bytes} bytes", b.events.len());
        let huge = vec![row(Outgoing::Audit, 1, now, 400_000)];
        let b = batch(vec![huge, vec![], vec![], vec![]], Published::default(), now, "h", "s");
        assert!(b.events[0].1.len() + EVENT_OVERHEAD <= MAX_EVENT_BYTES);
    }

    #[test]
    fn a_batch_spans_less_than_a_day() {
        let now = 100 * 86_400_000;
        let rows: Vec<Pending> =
            (0..5).map(|i| row(Outgoing::Audit, i + 1, now - 5 * 86_400_000 + i * 86_400_000, 1)).collect();
        let b = batch(vec![rows, vec![], vec![], vec![]], Published::default(), now, "h", "s");
        assert_eq!(b.events.len(), 1);
    }
}
