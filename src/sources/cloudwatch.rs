//! CloudWatch Logs as a source: `[[cloudwatch]]` groups polled with FilterLogEvents, every event stored exactly once.
//!
//! Each poll re-reads an overlap window behind the newest timestamp already stored (events arrive
//! late and out of order), pages until `nextToken` is absent (pages may be empty while it is
//! present), and drops what was stored before by `eventId`: first in a bounded in-memory set, then
//! by the store's unique key, written in the same transaction as the rows and the group's cursor.
//! Credentials come only from the standard AWS chain; rampart never prints, logs or stores them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::Client;
use serde::{Deserialize, Serialize};

pub use crate::config::cloudwatch::{GroupConfig, PayloadFormat};
use crate::config::TenantFrom;
use crate::parse::jsonlines::FieldNames;
use crate::parse::{combined, falco, jsonlines, TenantRule};
use crate::store::alerts::Alert;
use crate::store::cursors::{Batch, EventKey};
use crate::store::now_ms;
use crate::store::status::Health;
use crate::store::tails::Rows;
use crate::store::unparsed;
use crate::store::writer::{StoreWriter, Tables, Write};

/// How a message becomes a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Falco,
    Json(TenantRule, Box<FieldNames>),
    /// JSON access-log lines whose tenant is the value of this field (`tenant_from = "field"`).
    JsonTenantField(String, Box<FieldNames>),
    Text(TenantRule),
    /// Events another host's `[cloudwatch_publish]` put.
    Rampart,
}

/// One parsed event: an access event or an alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Access(crate::store::access::AccessEvent),
    Alert(Alert),
    /// A published audit row, ban, end of a ban or integrity run of another host.
    Fleet(crate::store::fleet::FleetRow),
}

impl Payload {
    /// Parses one message; the stream names the host an alert without a hostname came from.
    pub fn parse(&self, message: &str, stream: &str, source: &str) -> Result<Parsed, String> {
        match self {
            Payload::Falco => {
                let mut a = falco::parse(message)?;
                if a.hostname.is_empty() {
                    a.hostname = stream.to_string();
                }
                a.source = source.to_string();
                Ok(Parsed::Alert(a))
            }
            Payload::Json(rule, names) => jsonlines::parse(message, names, rule, source).map(|e| host_from(e, stream)),
            Payload::JsonTenantField(field, names) => {
                let mut e = jsonlines::parse(message, names, &TenantRule::Fixed(String::new()), source)?;
                e.tenant = tenant_of(message, field)?;
                Ok(host_from(e, stream))
            }
            Payload::Text(rule) => combined::parse_with(message.trim_end(), rule, source)
                .map(|e| host_from(e, stream))
                .map_err(|e| e.to_string()),
            Payload::Rampart => {
                let v: serde_json::Value =
                    serde_json::from_str(message).map_err(|e| format!("not a published rampart event: {e}"))?;
                let origin = v.get("origin").and_then(|o| o.as_str()).unwrap_or(stream);
                match v.get("kind").and_then(|k| k.as_str()) {
                    Some("alert") => {
                        let mut a = falco::parse(message)?;
                        if a.hostname.is_empty() {
                            a.hostname = origin.to_string();
                        }
                        a.source = source.to_string();
                        Ok(Parsed::Alert(a))
                    }
                    Some(kind @ ("audit" | "ban" | "unban" | "integrity")) => {
                        crate::store::fleet::FleetRow::from_published(origin, kind, &v)
                            .map(Parsed::Fleet)
                            .ok_or_else(|| format!("a published {kind} without its id"))
                    }
                    other => Err(format!("not a published rampart event: kind {other:?}")),
                }
            }
        }
    }
}

/// An access event with its stream's name as its host (streams are named for the host that
/// writes them: `web-1`, an instance id).
fn host_from(mut e: crate::store::access::AccessEvent, stream: &str) -> Parsed {
    if !stream.is_empty() {
        e.host = Some(stream.to_string());
    }
    Parsed::Access(e)
}

/// The tenant a JSON line names in `field`: text (or a number), lower-cased; a line without it
/// does not parse (it would belong to no tenant).
fn tenant_of(message: &str, field: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(message).map_err(|e| format!("not JSON: {e}"))?;
    match v.get(field) {
        Some(serde_json::Value::String(t)) if !t.trim().is_empty() && t != "-" => Ok(t.trim().to_lowercase()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(format!("no tenant in '{field}'")),
    }
}

pub use crate::config::cloudwatch::parse_duration;

/// A `[[cloudwatch]]` entry checked: everything a follower needs but the groups themselves.
#[derive(Debug, Clone)]
pub struct Settings {
    pub entry: GroupConfig,
    pub payload: Payload,
    pub since: Duration,
    pub poll: Duration,
    pub overlap: Duration,
}

impl GroupConfig {
    /// What the entry is called in messages.
    pub fn label(&self) -> String {
        match (&self.group, &self.group_prefix) {
            (Some(g), _) => g.clone(),
            (None, Some(p)) => format!("{p}*"),
            (None, None) => "(no group)".into(),
        }
    }

    /// Checks the entry, or says what is wrong with it.
    pub fn settings(&self) -> Result<Settings, String> {
        let label = self.label();
        if self.group.is_some() == self.group_prefix.is_some() {
            return Err(format!("[[cloudwatch]] {label} needs either group or group_prefix (and not both)"));
        }
        if !self.streams.is_empty() && self.stream_prefix.is_some() {
            return Err(format!("[[cloudwatch]] {label}: give streams or stream_prefix, not both"));
        }
        let rule = match (&self.tenant, self.tenant_from) {
            (Some(t), None) => TenantRule::Fixed(t.clone()),
            (None, Some(TenantFrom::Field)) if self.format != PayloadFormat::Json => {
                return Err(format!("[[cloudwatch]] {label}: tenant_from = \"field\" needs format = \"json\""))
            }
            // Read by `Payload::JsonTenantField`.
            (None, Some(TenantFrom::Field)) => TenantRule::Fixed(String::new()),
            (None, Some(TenantFrom::Host)) if self.format == PayloadFormat::Text => {
                return Err(format!("[[cloudwatch]] {label}: tenant_from = \"host\" needs format = \"json\""))
            }
            (None, Some(TenantFrom::Host)) => TenantRule::Host,
            (None, Some(TenantFrom::Referer)) => TenantRule::Referer,
            (None, Some(TenantFrom::Path)) => TenantRule::PathPrefix,
            (None, None) if matches!(self.format, PayloadFormat::Falco | PayloadFormat::Rampart) => {
                TenantRule::Fixed(String::new())
            }
            _ => return Err(format!("[[cloudwatch]] {label} needs either tenant or tenant_from (and not both)")),
        };
        let payload = match self.format {
            PayloadFormat::Falco => Payload::Falco,
            PayloadFormat::Json if self.tenant_from == Some(TenantFrom::Field) => {
                Payload::JsonTenantField(self.fields.tenant.clone(), Box::new(self.fields.names()))
            }
            PayloadFormat::Json => Payload::Json(rule, Box::new(self.fields.names())),
            PayloadFormat::Text => Payload::Text(rule),
            PayloadFormat::Rampart => Payload::Rampart,
        };
        let duration = |v: &Option<String>, default: &str| {
            parse_duration(v.as_deref().unwrap_or(default)).map_err(|e| format!("[[cloudwatch]] {label}: {e}"))
        };
        Ok(Settings {
            entry: self.clone(),
            payload,
            since: duration(&self.since, "15m")?,
            poll: duration(&self.poll, "5s")?.max(Duration::from_millis(100)),
            overlap: duration(&self.overlap, "10m")?,
        })
    }
}

/// One budget of FilterLogEvents requests shared by every group: a token bucket.
#[derive(Debug)]
pub struct RequestBudget {
    per_second: f64,
    state: tokio::sync::Mutex<(f64, Instant)>,
}

impl RequestBudget {
    pub fn new(per_second: f64) -> RequestBudget {
        let per_second = per_second.clamp(0.1, 1000.0);
        RequestBudget { per_second, state: tokio::sync::Mutex::new((per_second.max(1.0), Instant::now())) }
    }

    /// Waits until a request may be sent.
    pub async fn take(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.per_second).min(self.per_second.max(1.0));
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.0) / self.per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Why a request failed, in the operator's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    NoCredentials(String),
    AccessDenied(String),
    NoSuchGroup(String),
    Throttled,
    ServerError(String),
    Unreachable(String),
    Other(String),
}

impl Problem {
    pub fn health(&self) -> Health {
        match self {
            Problem::Throttled | Problem::ServerError(_) => Health::Degraded,
            _ => Health::Down,
        }
    }

    /// A few words for the Sources view's STATE column.
    pub fn summary(&self) -> &'static str {
        match self {
            Problem::NoCredentials(why) if why.starts_with("no AWS credentials") => "credentials missing",
            Problem::NoCredentials(why) if why.starts_with("the AWS credentials were refused") => "credentials refused",
            Problem::NoCredentials(_) => "credentials unusable",
            Problem::AccessDenied(_) => "access denied",
            Problem::NoSuchGroup(_) => "no such group",
            Problem::Throttled => "throttled",
            Problem::ServerError(_) => "server error",
            Problem::Unreachable(_) => "endpoint unreachable",
            Problem::Other(_) => "error",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Problem::NoCredentials(why) => why.clone(),
            Problem::AccessDenied(what) => format!("access denied: {what}"),
            Problem::NoSuchGroup(g) => format!("no such log group {g} (check the name and the region)"),
            Problem::Throttled => "throttled by CloudWatch (ThrottlingException)".into(),
            Problem::ServerError(e) => format!("CloudWatch server error: {e}"),
            Problem::Unreachable(e) => format!("endpoint unreachable: {e}"),
            Problem::Other(e) => e.clone(),
        }
    }
}

/// Which credential sources the standard chain tries, and what to set.
pub fn chain_tried(profile: Option<&str>) -> String {
    format!(
        "no AWS credentials found; tried the standard chain: environment (AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY), profile '{}' in ~/.aws/credentials and ~/.aws/config (incl. SSO; \
         AWS_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN), container credentials \
         (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), instance metadata — set one of them (e.g. `aws sso login` \
         or an instance role)",
        profile.unwrap_or("default")
    )
}

/// Classifies an SDK error; `action` is the IAM action the request needed.
pub fn classify<E>(err: &SdkError<E>, action: &str, group: &str, endpoint: &str) -> Problem
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = match err {
        SdkError::ServiceError(e) => e.err().code().map(str::to_string),
        _ => None,
    };
    match code.as_deref() {
        Some("ThrottlingException" | "Throttling" | "TooManyRequestsException" | "LimitExceededException") => {
            return Problem::Throttled
        }
        Some("AccessDeniedException" | "AccessDenied") => {
            return Problem::AccessDenied(format!("the credentials need the IAM action {action} on {group}"))
        }
        Some("ResourceNotFoundException") => return Problem::NoSuchGroup(group.to_string()),
        Some("UnrecognizedClientException" | "InvalidSignatureException" | "ExpiredTokenException") => {
            return Problem::NoCredentials(format!(
                "the AWS credentials were refused ({}) — they are invalid or expired; renew them",
                code.unwrap_or_default()
            ))
        }
        Some("ServiceUnavailableException") => return Problem::ServerError("ServiceUnavailableException".into()),
        _ => {}
    }
    let text = format!("{}", aws_sdk_cloudwatchlogs::error::DisplayErrorContext(err));
    match err {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            if status >= 500 {
                Problem::ServerError(format!("HTTP {status}"))
            } else {
                Problem::Other(text)
            }
        }
        SdkError::ResponseError(_) => Problem::ServerError(short(&text)),
        SdkError::TimeoutError(_) => Problem::Unreachable(format!("{endpoint}: timed out")),
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            Problem::Unreachable(format!("{endpoint}: {}", short(&text)))
        }
        _ if text.to_ascii_lowercase().contains("credential") => Problem::NoCredentials(text),
        _ => Problem::Other(short(&text)),
    }
}

fn short(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(300).collect()
}

/// An SDK client for an entry: the standard credential chain, the entry's region, profile and
/// endpoint, and the SDK's adaptive retry mode.
pub async fn client(entry: &GroupConfig) -> (Client, aws_config::SdkConfig) {
    client_for(entry.region.as_deref(), entry.profile.as_deref(), entry.endpoint_url.as_deref()).await
}

/// An SDK client for a region, profile and endpoint (each optional), as [`client`] makes them.
pub async fn client_for(
    region: Option<&str>,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
) -> (Client, aws_config::SdkConfig) {
    use aws_config::retry::RetryConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(3));
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_string()));
    }
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    (Client::new(&sdk), sdk)
}

/// Whether the chain yields credentials at all (only success is looked at: nothing is kept).
pub async fn credentials_problem(sdk: &aws_config::SdkConfig, profile: Option<&str>) -> Option<Problem> {
    let Some(provider) = sdk.credentials_provider() else {
        return Some(Problem::NoCredentials(chain_tried(profile)));
    };
    match provider.provide_credentials().await {
        Ok(_) => None,
        Err(aws_credential_types::provider::error::CredentialsError::CredentialsNotLoaded(_)) => {
            Some(Problem::NoCredentials(chain_tried(profile)))
        }
        Err(e) => Some(Problem::NoCredentials(format!(
            "cannot load AWS credentials: {} — check the profile, SSO session or role",
            short(&format!("{}", aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e)))
        ))),
    }
}

/// Event ids stored within the overlap window, bounded: past `cap` the oldest are forgotten (the
/// store's unique key still guards).
#[derive(Debug, Default)]
pub struct SeenIds {
    ids: HashMap<String, i64>,
    cap: usize,
}

impl SeenIds {
    pub fn new(cap: usize) -> SeenIds {
        SeenIds { ids: HashMap::new(), cap }
    }

    /// True when `id` is new (and remembers it).
    pub fn insert(&mut self, id: &str, ts: i64) -> bool {
        if self.ids.contains_key(id) {
            return false;
        }
        if self.ids.len() >= self.cap {
            let mut times: Vec<i64> = self.ids.values().copied().collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            self.ids.retain(|_, t| *t > cut);
        }
        self.ids.insert(id.to_string(), ts);
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
pub struct Position {
    /// The newest event timestamp of the last complete pass.
    pub newest: Option<i64>,
    /// Events stored, and messages that did not parse, over the group's life.
    pub stored: i64,
    pub unparsed: i64,
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
}

/// The outcome of a page of events.
#[derive(Default)]
struct Page {
    rows: Vec<Parsed>,
    keys: Vec<EventKey>,
    /// Messages that were not rows, kept for inspection, and their keys.
    unparsed: Vec<unparsed::Line>,
    unparsed_keys: Vec<EventKey>,
    newest: Option<i64>,
}

impl Follower {
    fn page(&mut self, events: &[aws_sdk_cloudwatchlogs::types::FilteredLogEvent]) -> Page {
        let mut page = Page::default();
        for e in events {
            let (Some(id), Some(ts)) = (e.event_id(), e.timestamp()) else { continue };
            page.newest = Some(page.newest.map_or(ts, |n: i64| n.max(ts)));
            if !self.seen.insert(id, ts) {
                continue;
            }
            let message = e.message().unwrap_or_default();
            match self.settings.payload.parse(message, e.log_stream_name().unwrap_or_default(), &self.source) {
                Ok(row) => {
                    page.rows.push(row);
                    page.keys.push(EventKey { id: id.to_string(), ts });
                }
                Err(why) => {
                    self.position.unparsed += 1;
                    // Shown on screen only through the console's sanitizer; control characters go here already.
                    let example: String =
                        message.chars().filter(|c| !c.is_control()).take(UNPARSED_EXAMPLE_CHARS).collect();
                    self.last_unparsed = Some(format!("{why}: {example}"));
                    tracing::debug!(group = %self.group, "a message did not parse: {why}");
                    let stream = e.log_stream_name().unwrap_or_default();
                    page.unparsed.push(unparsed::Line::new(ts, &format!("{stream}: {why}"), message));
                    page.unparsed_keys.push(EventKey { id: id.to_string(), ts });
                }
            }
        }
        page
    }

    /// Stores a page's rows (access events, alerts and other hosts' rows in separate batches) with the position.
    async fn store(&mut self, page: Page, forget_before: Option<i64>) -> bool {
        let mut access = (Vec::new(), Vec::new());
        let mut alerts = (Vec::new(), Vec::new());
        let mut fleet = (Vec::new(), Vec::new());
        for (row, key) in page.rows.into_iter().zip(page.keys) {
            match row {
                Parsed::Access(a) => {
                    access.0.push(a);
                    access.1.push(key);
                }
                Parsed::Alert(a) => {
                    alerts.0.push(a);
                    alerts.1.push(key);
                }
                Parsed::Fleet(r) => {
                    fleet.0.push(r);
                    fleet.1.push(key);
                }
            }
        }
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
        // The page's unparsed lines go with its first batch.
        let mut unparsed = Some((page.unparsed, page.unparsed_keys));
        for (rows, keys) in batches {
            let (unparsed, unparsed_keys) = unparsed.take().unwrap_or_default();
            let batch = Batch {
                source: self.source.clone(),
                position: position.clone(),
                rows,
                keys,
                forget_before,
                unparsed,
                unparsed_keys,
            };
            if self.writer.send(Write::Cursored(batch)).await.is_err() {
                return false;
            }
        }
        true
    }

    async fn report(&self, health: Health, summary: String, detail: String) -> bool {
        let mut detail = detail;
        if self.position.unparsed > 0 {
            detail.push_str(&format!("; {} not parsed", self.position.unparsed));
            if let Some(last) = &self.last_unparsed {
                detail.push_str(&format!(" (last: {last})"));
            }
        }
        super::report_as(&self.writer, &self.source, health, summary, detail).await
    }

    /// One pass over `[start, now]`: every page until `nextToken` is absent; a failed request is
    /// retried (same token) after a jittered back-off, never given up. False once the writer is gone.
    async fn pass(&mut self, start: i64, backfill: bool) -> bool {
        let began = now_ms();
        let mut token: Option<String> = None;
        let mut newest = self.position.newest;
        let mut failures = 0u32;
        loop {
            self.budget.take().await;
            let entry = &self.settings.entry;
            let mut request = self
                .client
                .filter_log_events()
                .log_group_name(&self.group)
                .start_time(start)
                .set_next_token(token.clone())
                .set_filter_pattern(entry.filter_pattern.clone())
                .set_log_stream_name_prefix(entry.stream_prefix.clone());
            if !entry.streams.is_empty() {
                request = request.set_log_stream_names(Some(entry.streams.clone()));
            }
            match request.send().await {
                Ok(out) => {
                    failures = 0;
                    let page = self.page(out.events());
                    if let Some(n) = page.newest {
                        newest = Some(newest.map_or(n, |m| m.max(n)));
                    }
                    let anything = !page.rows.is_empty() || !page.unparsed.is_empty();
                    if anything && !self.store(page, None).await {
                        return false;
                    }
                    token = out.next_token().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                    if backfill {
                        let done = newest.map_or(0, |n| ((n - start) * 100 / (began - start).max(1)).clamp(0, 99));
                        let detail = format!("backfilling {done}%: {} events stored", self.position.stored);
                        if !self.report(Health::Degraded, format!("backfilling {done}%"), detail).await {
                            return false;
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
                        return false;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
        // The pass is complete: from now on nothing older than the overlap window is read again.
        self.position.newest = newest.or(Some(start));
        let overlap = self.settings.overlap.as_millis() as i64;
        let keep_from = self.position.newest.unwrap_or(start) - overlap - 60_000;
        self.seen.forget_before(keep_from);
        if !self.store(Page::default(), Some(keep_from)).await {
            return false;
        }
        let took = now_ms() - began;
        let poll = self.settings.poll.as_millis() as i64;
        let (health, summary, detail) = if took > (2 * poll).max(10_000) {
            let lag = format!("lagging {} s", took / 1000);
            (Health::Degraded, lag.clone(), format!("{lag}: a poll took that long"))
        } else {
            (Health::Ok, "ok".to_string(), format!("ok: {} events stored", self.position.stored))
        };
        self.report(health, summary, detail).await
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
        for key in seen {
            self.seen.insert(&key.id, key.ts);
        }
        loop {
            let (start, backfill) = match self.position.newest {
                Some(newest) => (newest - overlap, false),
                None => (now_ms() - since, true),
            };
            if !self.pass(start.max(0), backfill).await {
                return;
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }
}

/// 1 s, 2 s, 4 s … up to 30 s, each with jitter (half to all of it), so clients do not retry in step.
pub fn backoff(failures: u32) -> Duration {
    use rand::Rng;
    let full = 1000u64 << failures.saturating_sub(1).min(5);
    let full = full.min(30_000);
    Duration::from_millis(rand::thread_rng().gen_range(full / 2..=full))
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
/// console: everything runs on the collector's tasks and reports through the source status.
pub async fn run(writer: StoreWriter, entries: Vec<GroupConfig>) {
    if entries.is_empty() {
        return;
    }
    let rate = entries.iter().filter_map(|e| e.requests_per_second).min().unwrap_or(3);
    let budget = Arc::new(RequestBudget::new(f64::from(rate)));
    let mut tasks = tokio::task::JoinSet::new();
    for entry in entries {
        tasks.spawn(follow_entry(writer.clone(), entry, budget.clone()));
    }
    while tasks.join_next().await.is_some() {}
}

/// Follows an entry's groups; with a prefix, looks for new groups every minute.
async fn follow_entry(writer: StoreWriter, entry: GroupConfig, budget: Arc<RequestBudget>) {
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
    fn durations_read_as_written() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("15 minutes").is_err());
    }

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

    #[test]
    fn a_tenant_field_names_each_lines_tenant_and_the_stream_its_host() {
        let text = "format = \"json\"\ngroup = \"/g\"\ntenant_from = \"field\"\n[fields]\ntenant = \"customer\"\nip = \"client\"";
        let entry: GroupConfig = toml::from_str(text).unwrap();
        let payload = entry.settings().unwrap().payload;
        let line = |customer: &str| {
            format!(r#"{{"time":"2026-11-26T11:00:00+00:00","client":"192.0.2.1","status":200{customer}}}"#)
        };
        match payload.parse(&line(r#","customer":"Globex""#), "web-1", "cloudwatch:/g") {
            Ok(Parsed::Access(e)) => {
                assert_eq!(
                    (e.tenant.as_str(), e.host.as_deref(), e.src_ip.as_str()),
                    ("globex", Some("web-1"), "192.0.2.1")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(payload.parse(&line(""), "web-1", "s").unwrap_err(), "no tenant in 'customer'");
        let entry: GroupConfig = toml::from_str("format = \"text\"\ngroup = \"/g\"\ntenant_from = \"field\"").unwrap();
        assert_eq!(entry.settings().unwrap_err(), "[[cloudwatch]] /g: tenant_from = \"field\" needs format = \"json\"");
        let wrong: Result<GroupConfig, _> = toml::from_str("group = \"/g\"\n[fields]\ncustomer = \"x\"");
        assert!(wrong.unwrap_err().to_string().contains("unknown field `customer`"));
    }

    #[test]
    fn each_problem_has_its_words_for_the_sources_view() {
        let words = |p: Problem| p.summary();
        assert_eq!(words(Problem::NoCredentials(chain_tried(None))), "credentials missing");
        assert_eq!(
            words(Problem::NoCredentials("the AWS credentials were refused (ExpiredTokenException) — …".into())),
            "credentials refused"
        );
        assert_eq!(
            words(Problem::NoCredentials("cannot load AWS credentials: sso expired".into())),
            "credentials unusable"
        );
        assert_eq!(words(Problem::AccessDenied("x".into())), "access denied");
        assert_eq!(words(Problem::NoSuchGroup("/g".into())), "no such group");
        assert_eq!(words(Problem::Throttled), "throttled");
        assert_eq!(words(Problem::Unreachable("x".into())), "endpoint unreachable");
    }

    #[test]
    fn an_entry_without_group_or_tenant_says_so() {
        let entry: GroupConfig = toml::from_str("format = \"json\"\ngroup = \"/ecs/app\"").unwrap();
        assert_eq!(
            entry.settings().unwrap_err(),
            "[[cloudwatch]] /ecs/app needs either tenant or tenant_from (and not both)"
        );
        let entry: GroupConfig = toml::from_str("format = \"falco\"").unwrap();
        assert_eq!(
            entry.settings().unwrap_err(),
            "[[cloudwatch]] (no group) needs either group or group_prefix (and not both)"
        );
    }
}
