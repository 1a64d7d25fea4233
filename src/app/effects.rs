//! Effects: the slow work `update` asks for (queries, responses, file reads), and the two ways to
//! carry it out — on worker threads for the live console, or in line for tests and benchmarks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::msg::{Effect, Msg};
use crate::pane::Pane;
use crate::respond::{self, Backend, Operator, Outcome};
use crate::store::scan::{self, Answer, Scan};
use crate::store::window::{self, Listing, Query};
use crate::store::writer::{ChangeNotes, StoreWriter, Tables};
use crate::store::{bans, histogram, now_ms, overview, related};

/// Runs a window query into the message that carries its answer.
pub fn load_msg(conn: &Connection, generation: u64, query: &Query, now_ms: i64) -> Msg {
    let result = window::load(conn, query, now_ms).map_err(|e| e.to_string());
    Msg::Loaded { pane: Pane::showing(query.listing), generation, result }
}

/// Counts a pane's histogram into the message that carries it.
pub fn histogram_msg(conn: &Connection, pane: Pane, query: &histogram::Query) -> Msg {
    let result = histogram::load(conn, query).map(Box::new).map_err(|e| e.to_string());
    Msg::Histogram { pane, bucket_ms: query.bucket_ms, filter: query.filter.as_ref().map(|f| f.text.clone()), result }
}

pub fn overview_msg(conn: &Connection, now_ms: i64) -> Msg {
    let result = overview::load(conn, now_ms).and_then(|o| Ok(Box::new((o, bans::jails(conn)?))));
    Msg::Overview(result.map_err(|e| e.to_string()))
}

/// What the store knows of `ip` (and, for an alert, the events it was raised for).
pub fn related_msg(conn: &Connection, ip: &str, alert: Option<i64>) -> Msg {
    Msg::Related { ip: ip.to_string(), rows: related::of_ip(conn, ip, alert).map_err(|e| e.to_string()) }
}

pub fn changes_msg(conn: &Connection, run: i64) -> Msg {
    Msg::Changes { run, result: crate::store::integrity::changes_of(conn, run).map_err(|e| e.to_string()) }
}

pub fn unparsed_msg(conn: &Connection, source: &str) -> Msg {
    Msg::Unparsed {
        source: source.to_string(),
        result: crate::store::unparsed::of(conn, source).map_err(|e| e.to_string()),
    }
}

/// What the console hears of the writer's commits: the tables they changed, as the writer noted
/// them. The live console waits for the next note ([`next_change`]); the in-line runner reads
/// what an action's writes noted once it is done.
pub async fn next_change(notes: &ChangeNotes) -> Msg {
    Msg::StoreChanged(notes.next().await)
}

/// The tables noted since the last look, as [`next_change`] would deliver them; `None` when
/// nothing was written.
pub fn noted_change(notes: &ChangeNotes) -> Option<Msg> {
    let tables = notes.take();
    (!tables.is_empty()).then_some(Msg::StoreChanged(tables))
}

/// Writes the incident report of `tenant` since `since` into the working folder.
pub fn report_msg(conn: &Connection, tenant: &str, since: &str, now_ms: i64) -> Msg {
    let written = crate::report::Report::build(conn, tenant, since, None, now_ms).and_then(|report| {
        let dir = std::env::current_dir().map_err(|e| format!("no working folder: {e}"))?;
        report.write_into(&dir, now_ms).map_err(|e| format!("cannot write into {}: {e}", dir.display()))
    });
    Msg::ReportWritten(written)
}

fn theme_msg(name: &str, config_dir: &std::path::Path) -> Msg {
    Msg::ThemeLoaded(crate::config::load_theme(name, config_dir).map(Box::new).map_err(|e| e.to_string()))
}

/// Carries out effects in line, returning their messages at once. Tests and benchmarks drive the
/// console with it; the live console uses [`Workers`], which calls the same functions.
pub struct Inline {
    pub reader: Connection,
    pub writer: Connection,
    pub backend: Backend,
    pub operator: Operator,
    pub config_dir: PathBuf,
}

impl Inline {
    pub fn run(&self, effect: Effect, now_ms: i64) -> Vec<Msg> {
        match effect {
            Effect::Load { generation, query } => {
                vec![load_msg(&self.reader, generation, &query, now_ms)]
            }
            Effect::LoadOverview => vec![overview_msg(&self.reader, now_ms)],
            Effect::LoadHistogram { pane, query } => vec![histogram_msg(&self.reader, pane, &query)],
            Effect::LoadRelated { ip, alert } => vec![related_msg(&self.reader, &ip, alert)],
            Effect::LoadChanges { run } => vec![changes_msg(&self.reader, run)],
            Effect::LoadUnparsed { source } => vec![unparsed_msg(&self.reader, &source)],
            Effect::Respond(request) => {
                // The same path as the live console: a writer thread on this store, and the
                // async responder driven to completion here.
                let path = self.writer.path().map(PathBuf::from).unwrap_or_default();
                let conn = match crate::store::open(&path, crate::store::Access::ReadWrite) {
                    Ok(conn) => conn,
                    Err(e) => return vec![Msg::Responded(Outcome::failed(e.to_string()))],
                };
                let notes = Arc::new(ChangeNotes::default());
                let (writer, thread) = StoreWriter::spawn(conn, notes.clone());
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                let outcome = match runtime {
                    Ok(rt) => rt.block_on(respond::perform(&writer, &self.backend, &self.operator, &request)),
                    Err(e) => Outcome::failed(format!("cannot start a runtime: {e}")),
                };
                drop(writer);
                let _ = thread.join();
                let mut msgs = vec![Msg::Responded(outcome)];
                msgs.extend(noted_change(&notes));
                msgs
            }
            Effect::LoadTheme(name) => vec![theme_msg(&name, &self.config_dir)],
            Effect::WriteReport { tenant, since } => vec![report_msg(&self.reader, &tenant, &since, now_ms)],
            Effect::Drill { .. } => vec![Msg::Responded(Outcome::failed(DRILL_ONLY_LIVE))],
            Effect::Suspend | Effect::Quit => vec![],
        }
    }
}

enum Work {
    Load { generation: u64, query: Query },
    Overview,
    Histogram(Pane, histogram::Query),
    Related(String, Option<i64>),
    Changes(i64),
    Unparsed(String),
    Report { tenant: String, since: String },
}

/// The live console's effect runner: a query thread with its own read connection (which keeps
/// only the newest request per pane when it falls behind), the store writer for responses, and
/// tokio's blocking pool for file reads.
pub struct Workers {
    queries: std_mpsc::Sender<Work>,
    writer: StoreWriter,
    msgs: mpsc::UnboundedSender<Msg>,
    backend: Backend,
    operator: Arc<Operator>,
    config_dir: PathBuf,
    /// The collector's control socket, when responses are asked of it rather than performed here.
    via: Option<PathBuf>,
}

impl Workers {
    /// Responses go to the collector listening on `socket` (a console of a user other than root).
    pub fn through(self, socket: Option<PathBuf>) -> Workers {
        Workers { via: socket, ..self }
    }

    pub fn start(
        reader: Connection,
        writer: StoreWriter,
        msgs: mpsc::UnboundedSender<Msg>,
        backend: Backend,
        operator: Operator,
        config_dir: PathBuf,
    ) -> Workers {
        let (tx, rx) = std_mpsc::channel();
        let out = msgs.clone();
        // The baseline is taken now, not when the thread first runs: a commit made right after
        // the console started is then always seen as a change.
        let seen_version = crate::store::transaction::data_version(&reader);
        std::thread::Builder::new()
            .name("store-reader".into())
            .spawn(move || query_loop(reader, seen_version, rx, out))
            .expect("spawning the store reader thread");
        Workers { queries: tx, writer, msgs, backend, operator: Arc::new(operator), config_dir, via: None }
    }

    pub fn run(&self, effect: Effect) {
        match effect {
            Effect::Load { generation, query } => {
                let _ = self.queries.send(Work::Load { generation, query });
            }
            Effect::LoadOverview => {
                let _ = self.queries.send(Work::Overview);
            }
            Effect::LoadHistogram { pane, query } => {
                let _ = self.queries.send(Work::Histogram(pane, query));
            }
            Effect::LoadRelated { ip, alert } => {
                let _ = self.queries.send(Work::Related(ip, alert));
            }
            Effect::LoadChanges { run } => {
                let _ = self.queries.send(Work::Changes(run));
            }
            Effect::LoadUnparsed { source } => {
                let _ = self.queries.send(Work::Unparsed(source));
            }
            Effect::Respond(request) => {
                let (writer, msgs) = (self.writer.clone(), self.msgs.clone());
                let (backend, operator, via) = (self.backend.clone(), self.operator.clone(), self.via.clone());
                tokio::spawn(async move {
                    let outcome = match (via, crate::control::protocol::Ask::of(&request)) {
                        (Some(socket), Some(ask)) => match crate::control::client::ask(&socket, &ask).await {
                            Ok(answer) => answer.outcome(),
                            Err(why) => Outcome::failed(why.to_string()),
                        },
                        _ => respond::perform(&writer, &backend, &operator, &request).await,
                    };
                    let _ = msgs.send(Msg::Responded(outcome));
                });
            }
            Effect::WriteReport { tenant, since } => {
                let _ = self.queries.send(Work::Report { tenant, since });
            }
            Effect::Drill { tenant, scenario } => {
                let (writer, msgs, operator) = (self.writer.clone(), self.msgs.clone(), self.operator.clone());
                let config = match (&self.backend, &self.via) {
                    (Backend::Live(config), None) => Some(config.clone()),
                    _ => None,
                };
                tokio::spawn(async move {
                    let outcome = match config {
                        Some(config) => {
                            let scenarios = crate::drill::checklist::Scenario::parse(&scenario).unwrap_or_default();
                            let wait = Duration::from_secs(20);
                            let plan = crate::drill::Plan { tenant, scenarios, dry_run: false, wait };
                            crate::drill::from_console(&writer, config, plan, &operator).await
                        }
                        None => Outcome::failed(DRILL_ONLY_LIVE),
                    };
                    let _ = msgs.send(Msg::Responded(outcome));
                });
            }
            Effect::LoadTheme(name) => {
                let (dir, msgs) = (self.config_dir.clone(), self.msgs.clone());
                tokio::task::spawn_blocking(move || {
                    let _ = msgs.send(theme_msg(&name, &dir));
                });
            }
            Effect::Suspend | Effect::Quit => {}
        }
    }
}

/// Why a console cannot run a drill: not on the demo's store, nor through another user's collector.
const DRILL_ONLY_LIVE: &str =
    "drill: runs only in a console that collects on the host itself; elsewhere run `rampart drill TENANT`";

/// How often the reader looks for commits made by other processes (other consoles, `rampart collect`).
const DATA_VERSION_POLL: Duration = Duration::from_millis(250);

/// A first answer to a filter is sent within about this long (DESIGN.md's 100 ms to the first
/// screen): the plain query gets the first part of it, a search newest first the rest.
const PLAIN_BUDGET: Duration = Duration::from_millis(40);
const FIRST_SCAN_BUDGET: Duration = Duration::from_millis(40);
/// A search going on says how far it is this often.
const SCAN_REPORT: Duration = Duration::from_millis(100);

/// The Access log's search newest first, for the request it answers: carried on between other
/// work while it has not found a screenful, and kept afterwards so that a refresh of the same
/// view searches only the rows stored since.
struct Searching {
    generation: u64,
    scan: Box<Scan>,
}

fn query_loop(
    reader: Connection,
    mut seen_version: Option<i64>,
    rx: std_mpsc::Receiver<Work>,
    out: mpsc::UnboundedSender<Msg>,
) {
    let mut searching: Option<Searching> = None;
    loop {
        let busy = searching.as_ref().is_some_and(|s| !s.scan.done());
        let first = if busy {
            match rx.try_recv() {
                Ok(work) => Some(work),
                Err(std_mpsc::TryRecvError::Empty) => None,
                Err(std_mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match rx.recv_timeout(DATA_VERSION_POLL) {
                Ok(work) => Some(work),
                Err(std_mpsc::RecvTimeoutError::Timeout) => {
                    let version = crate::store::transaction::data_version(&reader);
                    if version != seen_version {
                        seen_version = version;
                        if out.send(Msg::StoreChanged(Tables::ALL)).is_err() {
                            return;
                        }
                    }
                    continue;
                }
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            }
        };
        let Some(first) = first else {
            // Nothing else asked for: the search goes on, and the pane hears how far it is.
            if let Some(s) = searching.as_mut() {
                let msg = match s.scan.run(&reader, SCAN_REPORT) {
                    Ok(()) => Ok(s.scan.page()),
                    Err(e) => Err(e.to_string()),
                };
                let failed = msg.is_err();
                let pane = Pane::showing(s.scan.query().listing);
                if out.send(Msg::Loaded { pane, generation: s.generation, result: msg }).is_err() {
                    return;
                }
                if failed {
                    searching = None;
                }
            }
            continue;
        };
        let mut loads: HashMap<Listing, (u64, Query)> = HashMap::new();
        let mut overview = false;
        let mut histograms: HashMap<Pane, histogram::Query> = HashMap::new();
        let mut related = None;
        let mut changes = None;
        let mut unparsed = None;
        for work in std::iter::once(first).chain(rx.try_iter()) {
            match work {
                Work::Load { generation, query } => {
                    loads.insert(query.listing, (generation, query));
                }
                Work::Overview => overview = true,
                Work::Histogram(pane, query) => {
                    histograms.insert(pane, query);
                }
                Work::Related(ip, alert) => related = Some((ip, alert)),
                Work::Changes(run) => changes = Some(run),
                Work::Unparsed(source) => unparsed = Some(source),
                Work::Report { tenant, since } => {
                    if out.send(report_msg(&reader, &tenant, &since, now_ms())).is_err() {
                        return;
                    }
                }
            }
        }
        if let Some(source) = unparsed {
            if out.send(unparsed_msg(&reader, &source)).is_err() {
                return;
            }
        }
        if let Some(run) = changes {
            if out.send(changes_msg(&reader, run)).is_err() {
                return;
            }
        }
        if let Some((ip, alert)) = related {
            if out.send(related_msg(&reader, &ip, alert)).is_err() {
                return;
            }
        }
        let now = now_ms();
        for (generation, query) in loads.into_values() {
            let msg = if query.listing == Listing::Access {
                access_msg(&reader, generation, &query, now, &mut searching)
            } else {
                load_msg(&reader, generation, &query, now)
            };
            if out.send(msg).is_err() {
                return;
            }
        }
        for (pane, query) in histograms {
            if out.send(histogram_msg(&reader, pane, &query)).is_err() {
                return;
            }
        }
        if overview && out.send(overview_msg(&reader, now)).is_err() {
            return;
        }
    }
}

/// The Access log's window: a refresh of the view being searched carries that search on (the
/// rows stored since first); any other request ends it, and a filter SQLite cannot answer within
/// [`PLAIN_BUDGET`] starts a new one.
fn access_msg(conn: &Connection, generation: u64, query: &Query, now: i64, searching: &mut Option<Searching>) -> Msg {
    let pane = Pane::showing(query.listing);
    let carried_on = searching.take().filter(|s| s.scan.answers(query));
    let result = match carried_on {
        Some(mut s) => s.scan.refresh(conn).and_then(|()| s.scan.run(conn, FIRST_SCAN_BUDGET)).map(|()| {
            let page = s.scan.page();
            *searching = Some(Searching { generation, scan: s.scan });
            page
        }),
        None => scan::load(conn, query, now, PLAIN_BUDGET).and_then(|answer| match answer {
            Answer::Page(page) => Ok(page),
            Answer::Scan(mut scan) => scan.run(conn, FIRST_SCAN_BUDGET).map(|()| {
                let page = scan.page();
                *searching = Some(Searching { generation, scan });
                page
            }),
        }),
    };
    Msg::Loaded { pane, generation, result: result.map_err(|e| e.to_string()) }
}
