//! Running the console: open the store, start the writer, the collector (if this process gets the
//! lock) and the reader, then loop — events in, `update`, effects out, draw at most every 33 ms.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use color_eyre::eyre::{eyre, WrapErr};
use color_eyre::Result;
use crossterm::event::{Event, EventStream};
use futures::{Stream, StreamExt};
use ratatui::layout::Rect;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::app::effects::{self, Workers};
use crate::app::msg::{Effect, Msg};
use crate::app::state::{Role, Session, State};
use crate::app::update;
use crate::config::{Config, Keymap, Theme};
use crate::respond::{Backend, Operator};
use crate::store::writer::{ChangeNotes, StoreWriter};
use crate::store::{self, now_ms, Access};
use crate::{collector, demo, terminal, ui};

/// Frames for store changes are drawn at most this often; the operator's own input is answered at once.
const FRAME: Duration = Duration::from_millis(33);

pub struct Options {
    pub db: PathBuf,
    pub config_dir: PathBuf,
    pub theme: Theme,
    pub keymap: Keymap,
    pub read_only: Option<String>,
    pub demo: Option<DemoOptions>,
    /// The config file's settings for the real components.
    pub config: Config,
}

#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub seed: u64,
    pub rate: f64,
    pub events: usize,
}

/// Runs the console until the operator quits or a signal ends it.
pub fn run(opts: Options) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")?;
    runtime.block_on(run_async(opts))
}

async fn run_async(opts: Options) -> Result<()> {
    // Read-only writes nothing: not the store (its "writer" is one more read-only connection, so
    // SQLite itself refuses any write), not the collector lock, and no source runs or listens.
    // The demo's throw-away store is filled all the same.
    // A user other than root acts through the collector's control socket, and reads the store as
    // read-only consoles do (only the collector writes it).
    let via = (opts.demo.is_none() && crate::control::client::acts_through_collector(&opts.db))
        .then(|| crate::control::socket_path(&opts.config.control, &opts.db));
    let read_only = (opts.read_only.is_some() || via.is_some()) && opts.demo.is_none();
    let (read_only_reason, denied) = match &via {
        Some(socket) if opts.read_only.is_none() => permissions(socket).await,
        _ => (opts.read_only.clone(), Default::default()),
    };
    let write_conn = store::open(&opts.db, if read_only { Access::ReadOnly } else { Access::ReadWrite })?;
    let generator = match opts.demo {
        Some(d) => {
            eprintln!("rampart demo: seeding {} access events of history…", d.events);
            Some(demo::seed::seed(&write_conn, d.seed, now_ms(), d.events).wrap_err("cannot seed the demo store")?)
        }
        None => None,
    };
    let lock = if read_only {
        Err(collector::holder(&opts.db))
    } else {
        collector::try_lock(&opts.db)
            .wrap_err_with(|| format!("cannot create {}", collector::lock_path(&opts.db).display()))?
            .map_err(Some)
    };
    let notes = Arc::new(ChangeNotes::default());
    let (writer, writer_thread) = StoreWriter::spawn(write_conn, notes.clone());
    let role = match &lock {
        Ok(_) => Role::Collector,
        Err(Some(holder)) => Role::Viewer { holder: holder.clone() },
        Err(None) => Role::Uncollected,
    };
    let mut sources = tokio::task::JoinSet::new();
    match (&lock, generator, opts.demo) {
        (Ok(_), Some(gen), Some(d)) => {
            sources.spawn(demo::simulator::run(writer.clone(), gen, d.rate));
        }
        (Ok(_), None, None) => {
            collector::spawn_sources(&mut sources, &writer, &opts.config, &opts.db);
            crate::control::server::spawn(&mut sources, &writer, &opts.config, &opts.db);
        }
        _ => {}
    }
    let lock = lock.ok();
    let reader = store::open(&opts.db, Access::ReadOnly)?;
    let snapshot = read_only && store::is_snapshot(&reader);
    let operator = Operator::current();
    let backend = if opts.demo.is_some() { Backend::Demo } else { Backend::Live(Arc::new(opts.config.clone())) };
    let (msg_tx, msg_rx) = mpsc::unbounded_channel();
    let workers =
        Workers::start(reader, writer.clone(), msg_tx, backend, operator.clone(), opts.config_dir.clone()).through(via);
    let session = Session { operator, read_only: read_only_reason, demo: opts.demo.is_some(), role, denied };

    let mut term = terminal::enter().wrap_err("cannot take over the terminal (is this an interactive terminal?)")?;
    let size = term.size().map(|s| Rect::new(0, 0, s.width, s.height)).unwrap_or_default();
    let state = State::new(session, opts.theme, opts.keymap, size, now_ms());
    let mut collecting =
        Collecting { lock, sources, writer: writer.clone(), config: &opts.config, db: &opts.db, read_only, snapshot };
    let result = event_loop(&mut term, state, &workers, &notes, msg_rx, &mut collecting).await;
    terminal::restore();
    let Collecting { lock, mut sources, writer: collecting_writer, .. } = collecting;
    drop(collecting_writer);

    sources.shutdown().await;
    drop(workers);
    drop(writer);
    let stats = tokio::task::spawn_blocking(move || writer_thread.join())
        .await
        .map_err(|e| eyre!("{e}"))?
        .map_err(|_| eyre!("the store writer panicked; see the log file"))?;
    tracing::info!(?stats, "store writer finished");
    drop(lock);
    result
}

/// What the collector on `socket` lets this user do: (why nothing at all, when so; why not, per
/// action it refuses).
async fn permissions(socket: &std::path::Path) -> (Option<String>, std::collections::BTreeMap<String, String>) {
    let ask = crate::control::protocol::Ask { action: "permissions".into(), ..Default::default() };
    // Asked before the first frame: a collector that does not answer soon leaves the console read-only.
    match crate::control::client::ask_within(socket, &ask, Duration::from_secs(5)).await {
        Ok(answer) if answer.outcome != crate::control::protocol::Verdict::Ok => {
            (Some(format!("the collector says: {}", answer.message)), Default::default())
        }
        Ok(answer) => {
            let denied = answer.permissions.into_iter().filter_map(|(action, why)| Some((action, why?))).collect();
            (None, denied)
        }
        Err(why) => (Some(why.to_string()), Default::default()),
    }
}

/// The collector side of a console: the lock while this process holds it, and its source tasks.
struct Collecting<'a> {
    lock: Option<collector::CollectorLock>,
    sources: tokio::task::JoinSet<()>,
    writer: StoreWriter,
    config: &'a Config,
    db: &'a std::path::Path,
    /// Never collects: it only watches whether somebody does.
    read_only: bool,
    /// Reads the store as it stood when it opened (`store::is_snapshot`).
    snapshot: bool,
}

impl Collecting<'_> {
    /// A viewer takes over when the collector it deferred to is gone (killed, crashed): the lock
    /// is free again. A read-only console never does; it says whether anybody collects.
    fn on_tick(&mut self, state: &State) -> Option<Msg> {
        if self.read_only {
            let holder = collector::holder(self.db);
            let known = match &state.session.role {
                Role::Viewer { holder } => Some(holder),
                _ => None,
            };
            return (holder.as_ref() != known).then_some(Msg::CollectorChanged { holder, snapshot: self.snapshot });
        }
        let Role::Viewer { holder } = &state.session.role else { return None };
        let lock = collector::try_lock(self.db).ok()?.ok()?;
        tracing::warn!(previous = %holder, "the collector is gone: this console collects now");
        self.lock = Some(lock);
        collector::spawn_sources(&mut self.sources, &self.writer, self.config, self.db);
        crate::control::server::spawn(&mut self.sources, &self.writer, self.config, self.db);
        Some(Msg::TookOverCollecting { previous: holder.clone() })
    }
}

async fn event_loop(
    term: &mut terminal::Term,
    mut state: State,
    workers: &Workers,
    notes: &ChangeNotes,
    mut msgs: mpsc::UnboundedReceiver<Msg>,
    collecting: &mut Collecting<'_>,
) -> Result<()> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    for effect in update::start(&mut state) {
        workers.run(effect);
    }
    let mut dirty = true;
    // Set by a key, a click or a resize: the next frame is drawn now, not at the next frame slot.
    let mut input = false;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        if dirty && (input || last_draw.elapsed() >= FRAME) {
            terminal::draw(term, |f| ui::draw(f, &state)).wrap_err("cannot draw to the terminal")?;
            last_draw = Instant::now();
            (dirty, input) = (false, false);
        }
        let next_frame = tokio::time::sleep_until((last_draw + FRAME).into());
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => event_msg(ev),
                Some(Err(e)) => return Err(e).wrap_err("cannot read from the terminal"),
                None => Some(Msg::Quit),
            },
            Some(m) = msgs.recv() => Some(m),
            changed = effects::next_change(notes) => Some(changed),
            _ = tick.tick() => Some(collecting.on_tick(&state).unwrap_or_else(|| Msg::Tick(now_ms()))),
            _ = sigterm.recv() => Some(Msg::Quit),
            _ = sighup.recv() => Some(Msg::Quit),
            _ = sigint.recv() => Some(Msg::Quit),
            _ = next_frame, if dirty => None,
        };
        let mut pending: Vec<Msg> = msg.into_iter().collect();
        // Drain whatever else is ready, then draw once for all of it.
        while let Ok(m) = msgs.try_recv() {
            pending.push(m);
        }
        pending.extend(ready_events(&mut events).await?);
        for msg in pending {
            if matches!(msg, Msg::Key(_)) && crate::fault::at("panic-on-key") {
                panic!("{}=panic-on-key: a bug, as far as the terminal can tell", crate::fault::ENV);
            }
            dirty = true;
            input |= matches!(msg, Msg::Key(_) | Msg::Mouse(_) | Msg::Resize(..));
            for effect in update::update(&mut state, msg) {
                match effect {
                    Effect::Suspend => {
                        suspend(term)?;
                        for effect in update::update(&mut state, Msg::Resumed) {
                            workers.run(effect);
                        }
                    }
                    effect => workers.run(effect),
                }
            }
        }
        if state.quit {
            return Ok(());
        }
    }
}

/// The terminal events that are ready now, without waiting. They are polled with this task's own
/// waker: crossterm's stream wakes the waker it was last parked with, so draining it with a no-op
/// waker (`now_or_never`) left keys waiting for the next clock tick on a quiet store.
async fn ready_events<S>(events: &mut S) -> Result<Vec<Msg>>
where
    S: Stream<Item = std::io::Result<Event>> + Unpin,
{
    let mut ready = Vec::new();
    std::future::poll_fn(|cx| loop {
        match events.poll_next_unpin(cx) {
            std::task::Poll::Ready(Some(Ok(ev))) => ready.extend(event_msg(ev)),
            std::task::Poll::Ready(Some(Err(e))) => return std::task::Poll::Ready(Err(e)),
            std::task::Poll::Ready(None) | std::task::Poll::Pending => return std::task::Poll::Ready(Ok(())),
        }
    })
    .await
    .wrap_err("cannot read from the terminal")?;
    Ok(ready)
}

/// Ctrl-Z: gives the terminal back, stops the process as a shell's job (SIGTSTP), and takes the
/// terminal again when the shell continues it (`fg`), with a full redraw.
fn suspend(term: &mut terminal::Term) -> Result<()> {
    terminal::restore();
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP).wrap_err("cannot suspend")?;
    terminal::resume(term).wrap_err("cannot take the terminal back after a suspend")
}

fn event_msg(ev: Event) -> Option<Msg> {
    match ev {
        Event::Key(k) => Some(Msg::Key(k)),
        Event::Mouse(m) => Some(Msg::Mouse(m)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}
