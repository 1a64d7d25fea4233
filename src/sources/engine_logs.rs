//! Tenants' own access logs from the Docker Engine: every container carrying the access label
//! (`rampart.access=combined|json`) and the tenant label is followed through the engine's logs
//! API, a container that starts later at once (the events stream says so). Each container's lines
//! are stored with its cursor (see [`super::engine_lines`]) in one transaction, so no line is
//! stored twice or lost across collector restarts, container restarts and the engine's log
//! rotation. The tenant is the container's label, never anything a line says.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder, LogsOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::docker::Backoff;
use super::engine_lines::{Cursor, Line, Lines};
use crate::config::engine_logs::EngineLogsConfig;
use crate::config::DockerConfig;
use crate::parse::jsonlines::FieldNames;
use crate::parse::{combined, jsonlines, TenantRule};
use crate::store::cursors::Batch;
use crate::store::status::Health;
use crate::store::tails::Rows;
use crate::store::unparsed;
use crate::store::writer::{StoreWriter, Tables, Write};

/// Status rows and cursors of followed containers are named `engine:<container name>`.
pub const PREFIX: &str = "engine:";

/// How long a stream may be quiet before what it gave is stored.
const FLUSH_AFTER: Duration = Duration::from_millis(20);
/// Most lines stored in one batch.
const BATCH: usize = 2_000;

/// What a followed container's lines are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Combined,
    Json(Box<FieldNames>),
}

/// A container to follow, as its labels describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    pub id: String,
    pub name: String,
    pub tenant: String,
    pub format: Format,
}

impl Followed {
    /// The name of its status row and cursor.
    pub fn source(&self) -> String {
        format!("{PREFIX}{}", self.name)
    }
}

/// What a container's labels say: `None` when it does not carry the access label; else the
/// container to follow, or why it cannot be (said on its row).
pub fn followed(
    c: &ContainerInspectResponse,
    docker: &DockerConfig,
    config: &EngineLogsConfig,
) -> Option<Result<Followed, String>> {
    let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
    let format = labels.and_then(|l| l.get(&config.label))?.trim().to_ascii_lowercase();
    let name = c.name.clone().unwrap_or_default().trim_start_matches('/').to_string();
    let format = match format.as_str() {
        "combined" => Format::Combined,
        "json" => Format::Json(Box::new(config.fields.clone())),
        other => {
            return Some(Err(format!(
                "label {}={} says no format rampart reads: use combined or json",
                config.label,
                crate::text::sanitize::clean(other, 40)
            )))
        }
    };
    let tenant = labels.and_then(|l| l.get(&docker.label)).map(|t| t.trim()).unwrap_or_default();
    if !crate::parse::tenant::is_name(tenant) {
        return Some(Err(format!(
            "its access log has no tenant: give it the label {}=<tenant> (at most {} letters, digits, '-', '_' or '.')",
            docker.label,
            crate::parse::tenant::MAX_NAME
        )));
    }
    Some(Ok(Followed { id: c.id.clone().unwrap_or_default(), name, tenant: tenant.to_string(), format }))
}

/// Lines parsed into access events under the container's tenant; the others kept as unparsed.
fn parse(
    f: &Followed,
    source: &str,
    lines: &[Line],
    rows: &mut Vec<crate::store::access::AccessEvent>,
    bad: &mut Vec<unparsed::Line>,
) {
    let rule = TenantRule::Fixed(f.tenant.clone());
    for line in lines {
        let parsed = match &f.format {
            Format::Combined => combined::parse_with(&line.text, &rule, source).map_err(|e| e.to_string()),
            Format::Json(names) => jsonlines::parse(&line.text, names, &rule, source),
        };
        match parsed {
            Ok(event) => rows.push(event),
            Err(why) => bad.push(unparsed::Line::new(line.ts_ms, &why, &line.text)),
        }
    }
}

async fn report(writer: &StoreWriter, f: &Followed, health: Health, summary: &str, detail: String) -> bool {
    super::report_as(writer, &f.source(), health, summary.to_string(), detail).await
}

/// Follows one container for as long as it exists: its stream while it runs, then waits for
/// `started` and reads on from its cursor. Ends when the writer goes away.
async fn follow(docker: Docker, writer: StoreWriter, f: Followed, started: Arc<Notify>) {
    let source = f.source();
    let key = source.clone();
    let stored = writer.call(move |conn| (crate::store::cursors::get(conn, &key).ok().flatten(), Tables::NONE)).await;
    let Ok(stored) = stored else { return };
    let mut cursor = stored
        .and_then(|text| serde_json::from_str::<Cursor>(&text).ok())
        .filter(|c| c.container == f.id)
        .unwrap_or_else(|| Cursor { container: f.id.clone(), ..Default::default() });
    let what = match f.format {
        Format::Combined => "combined",
        Format::Json(_) => "JSON",
    };
    let short = f.id.get(..12).unwrap_or(&f.id).to_string();
    loop {
        let detail = format!("tenant {}: {what} lines from the standard output of container {short}", f.tenant);
        if !report(&writer, &f, Health::Ok, "following", detail).await {
            return;
        }
        match read_stream(&docker, &writer, &f, &source, cursor.clone(), &started).await {
            Ok(Some(after)) => cursor = after,
            Ok(None) => return,
            Err((after, why)) => {
                cursor = after;
                if !report(&writer, &f, Health::Down, "cannot read", why).await {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        }
        // The stream ends when the container stops: unless it runs again already, wait for it.
        let running = docker
            .inspect_container(&f.id, None::<InspectContainerOptions>)
            .await
            .ok()
            .and_then(|c| c.state.and_then(|s| s.running))
            .unwrap_or(false);
        if !running {
            let detail = format!(
                "tenant {}: the container is not running; its lines are read on from where they stopped when it starts",
                f.tenant
            );
            if !report(&writer, &f, Health::Off, "stopped", detail).await {
                return;
            }
            started.notified().await;
        }
    }
}

/// Reads one stream of the container's log to its end, storing its lines with the cursor after
/// them; returns the cursor (`None` once the writer is gone), or it and why the stream failed.
/// The stream also ends when the container is said to have started again (`started`): a stream
/// of the run before is not trusted to end by itself (the engine's follow of a log it rotates
/// can stall), and its lines are read on from the cursor.
async fn read_stream(
    docker: &Docker,
    writer: &StoreWriter,
    f: &Followed,
    source: &str,
    cursor: Cursor,
    started: &Notify,
) -> Result<Option<Cursor>, (Cursor, String)> {
    let options = LogsOptionsBuilder::default()
        .follow(true)
        .stdout(true)
        .stderr(false)
        .timestamps(true)
        .since(cursor.since_seconds())
        .build();
    let mut stream = docker.logs(&f.id, Some(options));
    let mut lines = Lines::new(cursor);
    let mut pending: Vec<Line> = Vec::new();
    let mut failed = None;
    let restarted = started.notified();
    tokio::pin!(restarted);
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(FLUSH_AFTER, stream.next()) => next,
            () = &mut restarted => break,
        };
        let next = match next {
            Ok(next) => next,
            Err(_quiet) => {
                if !flush(writer, f, source, &lines, &mut pending).await {
                    return Ok(None);
                }
                continue;
            }
        };
        match next {
            Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                lines.frame(&message, &mut pending);
                if pending.len() >= BATCH && !flush(writer, f, source, &lines, &mut pending).await {
                    return Ok(None);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                failed = Some(format!("the engine's logs of {} failed: {e}", f.name));
                break;
            }
            None => break,
        }
    }
    if !flush(writer, f, source, &lines, &mut pending).await {
        return Ok(None);
    }
    match failed {
        Some(why) => Err((lines.cursor().clone(), why)),
        None => Ok(Some(lines.cursor().clone())),
    }
}

/// Stores the lines read so far with the cursor after them; false once the writer is gone.
async fn flush(writer: &StoreWriter, f: &Followed, source: &str, lines: &Lines, pending: &mut Vec<Line>) -> bool {
    if pending.is_empty() {
        return true;
    }
    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    parse(f, source, pending, &mut rows, &mut bad);
    pending.clear();
    let position = serde_json::to_string(lines.cursor()).unwrap_or_default();
    let batch = Batch {
        source: source.to_string(),
        position,
        rows: Rows::Access(rows),
        keys: Vec::new(),
        forget_before: None,
        unparsed: bad,
        unparsed_keys: Vec::new(),
        skipped_keys: Vec::new(),
    };
    writer.send(Write::Cursored(batch)).await.is_ok()
}

/// The followers running now, by container id, with their rows' names.
struct Followers {
    running: HashMap<String, (JoinHandle<()>, Arc<Notify>, String)>,
}

impl Followers {
    /// Starts following a container, or wakes its follower when it runs already.
    async fn start(
        &mut self,
        docker: &Docker,
        writer: &StoreWriter,
        c: &ContainerInspectResponse,
        config: &(DockerConfig, EngineLogsConfig),
    ) -> bool {
        let Some(found) = followed(c, &config.0, &config.1) else { return true };
        let f = match found {
            Ok(f) => f,
            Err(why) => {
                let name = c.name.clone().unwrap_or_default().trim_start_matches('/').to_string();
                return super::report_as(writer, &format!("{PREFIX}{name}"), Health::Down, "not followed".into(), why)
                    .await;
            }
        };
        if let Some((task, started, _)) = self.running.get(&f.id) {
            if !task.is_finished() {
                started.notify_one();
                return true;
            }
        }
        let started = Arc::new(Notify::new());
        let task = tokio::spawn(follow(docker.clone(), writer.clone(), f.clone(), started.clone()));
        let source = f.source();
        self.running.insert(f.id, (task, started, source));
        true
    }

    /// Stops following a removed container and says so on its row.
    async fn removed(&mut self, writer: &StoreWriter, id: &str, name: &str) -> bool {
        if let Some((task, _, _)) = self.running.remove(id) {
            // Its stream ended when it stopped, and what it read is stored.
            task.abort();
            let detail = "the container was removed; what it logged until then is stored".to_string();
            return super::report_as(writer, &format!("{PREFIX}{name}"), Health::Off, "removed".into(), detail).await;
        }
        true
    }

    fn stop_all(&mut self) {
        for (_, (task, _, _)) in self.running.drain() {
            task.abort();
        }
    }

    /// Stops every follower when the engine is lost, and says so on their rows.
    async fn lost(&mut self, writer: &StoreWriter) -> bool {
        let mut sources = Vec::new();
        for (_, (task, _, source)) in self.running.drain() {
            task.abort();
            // An aborted follower runs on to its next pause, and may yet say "cannot read": it must
            // have stopped before the loss is said, or its word would be the row's last.
            let _ = task.await;
            sources.push(source);
        }
        let detail = "lost the Docker engine; its lines are read on from where they stopped when it is back";
        for source in sources {
            if !super::report_as(writer, &source, Health::Down, "engine lost".into(), detail.into()).await {
                return false;
            }
        }
        true
    }
}

/// The followers stop with the task that started them (the collector stopping, say).
impl Drop for Followers {
    fn drop(&mut self) {
        self.stop_all();
    }
}

async fn inspect(docker: &Docker, id: &str) -> Option<ContainerInspectResponse> {
    docker.inspect_container(id, None::<InspectContainerOptions>).await.ok()
}

/// Runs until the writer goes away: lists the labelled containers, follows each, and starts
/// following new ones as the events stream announces them; reconnects when the engine goes.
pub async fn run(writer: StoreWriter, docker_config: DockerConfig, config: EngineLogsConfig) {
    if !config.enabled {
        return;
    }
    let both = (docker_config, config);
    let mut backoff = Backoff::default();
    let mut followers = Followers { running: HashMap::new() };
    loop {
        // The Docker source says on its own row when the engine cannot be reached.
        let docker = match super::docker::connect(&both.0).await {
            Ok(d) => d,
            Err(_) => {
                backoff.wait_longer().await;
                continue;
            }
        };
        backoff.reset();
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("label".to_string(), vec![both.1.label.clone()]),
            ("event".to_string(), vec!["start".to_string(), "destroy".to_string()]),
        ]);
        let Ok(events) = super::docker::events_from_now(&docker, &filters).await else {
            backoff.wait().await;
            continue;
        };
        let mut events = Box::pin(events);
        let list_filters = HashMap::from([("label".to_string(), vec![both.1.label.clone()])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&list_filters).build();
        let listed = docker.list_containers(Some(options)).await.unwrap_or_default();
        for summary in listed {
            let Some(c) = (match summary.id {
                Some(id) => inspect(&docker, &id).await,
                None => None,
            }) else {
                continue;
            };
            if !followers.start(&docker, &writer, &c, &both).await {
                followers.stop_all();
                return;
            }
        }
        while let Some(Ok(event)) = events.next().await {
            let Some(actor) = event.actor else { continue };
            let Some(id) = actor.id else { continue };
            let alive = match event.action.as_deref() {
                Some("destroy") => {
                    let name = actor.attributes.as_ref().and_then(|a| a.get("name")).cloned().unwrap_or_default();
                    followers.removed(&writer, &id, &name).await
                }
                _ => match inspect(&docker, &id).await {
                    Some(c) => followers.start(&docker, &writer, &c, &both).await,
                    None => true,
                },
            };
            if !alive {
                followers.stop_all();
                return;
            }
        }
        if !followers.lost(&writer).await {
            return;
        }
        backoff.wait().await;
    }
}
