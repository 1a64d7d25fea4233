//! The console's budgets (DESIGN.md), measured on a store of 1,000,000 access events:
//! ingest through the batched writer, start to first frame, keystroke to frame under a live feed
//! of 1,000 events/s and during a burst of 100,000 judged by the detection rules, filters to the
//! first screen of results, and resident memory.
//!
//! Run: `cargo bench --bench console` (set RAMPART_BENCH_EVENTS to change the size; RAMPART_BENCH_DB
//! to keep or reuse a store; RAMPART_BENCH_FILTERS_ONLY to stop after the filters;
//! RAMPART_BENCH_TYPING=0 to skip the keystrokes under a feed and a burst, which write into the store;
//! RAMPART_BENCH_STALL=0 to skip the writer's stall under a live source with the indexer running).
//! The figures `benches/run` tabulates are also printed as `BENCH {json}` lines.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;

use rampart::app::effects::Inline;
use rampart::app::msg::{Effect, Msg};
use rampart::app::state::{Role, Session, State};
use rampart::app::update;
use rampart::config;
use rampart::demo::Generator;
use rampart::pane::Pane;
use rampart::respond::{Backend, Operator};
use rampart::store::filter::compile;
use rampart::store::window::{Around, Listing, Query};
use rampart::store::writer::{ChangeNotes, StoreWriter, Tables, Write};
use rampart::store::{self, now_ms, Access};
use rampart::store::{histogram, scan};

const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;

struct Console {
    state: State,
    fx: Inline,
    term: Terminal<TestBackend>,
}

impl Console {
    fn open(db: &Path) -> Console {
        let operator = Operator { name: "bench".into(), ssh_client: None, host: "bench".into(), ..Default::default() };
        let session = Session {
            operator: operator.clone(),
            read_only: None,
            demo: false,
            role: Role::Collector,
            denied: Default::default(),
        };
        let theme = config::shipped_theme("default").unwrap();
        let keymap = config::load_keymap("default", Path::new("/nonexistent")).unwrap();
        let state = State::new(session, theme, keymap, Rect::new(0, 0, WIDTH, HEIGHT), now_ms());
        let fx = Inline {
            reader: store::open(db, Access::ReadOnly).unwrap(),
            writer: store::open(db, Access::ReadWrite).unwrap(),
            backend: Backend::Live(Arc::new(config::Config::default())),
            operator,
            config_dir: "/nonexistent".into(),
        };
        let term = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
        let mut c = Console { state, fx, term };
        let effects = update::start(&mut c.state);
        c.run(effects);
        c.draw();
        c
    }

    fn run(&mut self, mut queue: Vec<Effect>) {
        while !queue.is_empty() {
            let effect = queue.remove(0);
            for msg in self.fx.run(effect, now_ms()) {
                queue.extend(update::update(&mut self.state, msg));
            }
        }
    }

    fn send(&mut self, msg: Msg) {
        let effects = update::update(&mut self.state, msg);
        self.run(effects);
    }

    fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn draw(&mut self) {
        let state = &self.state;
        self.term.draw(|f| rampart::ui::draw(f, state)).unwrap();
    }
}

/// One series of measurements as a machine-readable line, for `benches/run`.
fn bench_line(row: &str, tool: &str, unit: &str, samples: &[f64]) {
    let line = serde_json::json!({"row": row, "tool": tool, "unit": unit, "samples": samples});
    println!("BENCH {line}");
}

/// A store's size as the rows of `benches/run` name it: 1M, 10M, else the number.
fn size_label(events: usize) -> String {
    match events {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n => n.to_string(),
    }
}

fn millis(times: &[Duration]) -> Vec<f64> {
    times.iter().map(|t| t.as_secs_f64() * 1e3).collect()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The median, p99 and maximum of `sorted`, as the benches print them.
fn spread(sorted: &[Duration]) -> String {
    match sorted {
        [] => "none".to_string(),
        t => format!("p50 {}, p99 {}, max {}", ms(percentile(t, 0.5)), ms(percentile(t, 0.99)), ms(*t.last().unwrap())),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Fills the store through the real writer, as a live source would.
fn ingest(db: &Path, events: usize) {
    let conn = store::open(db, Access::ReadWrite).unwrap();
    let notes = Arc::new(ChangeNotes::default());
    let (writer, thread) = StoreWriter::spawn(conn, notes);
    let mut gen = Generator::new(42);
    let start_ts = now_ms() - 7 * 86_400_000;
    let span = 7 * 86_400_000i64;
    let t0 = Instant::now();
    for w in gen.registry() {
        writer.blocking_send(w).unwrap();
    }
    let mut batch = Vec::new();
    let mut produced = 0u64;
    for i in 0..events {
        gen.step(start_ts + i as i64 * span / events as i64, &mut batch);
        for w in batch.drain(..) {
            if matches!(w, Write::Access(_)) {
                produced += 1;
            }
            writer.blocking_send(w).unwrap();
        }
    }
    drop(writer);
    let stats = thread.join().unwrap();
    let elapsed = t0.elapsed();
    let reader = store::open(db, Access::ReadOnly).unwrap();
    let stored: u64 = reader.query_row("SELECT count(*) FROM access_events", [], |r| r.get(0)).unwrap();
    println!(
        "ingest (generator + batched writer): {produced} access events ({} writes) in {:.2} s = {:.0} events/s; \
         stored {stored} ({}); {} transactions",
        stats.written,
        elapsed.as_secs_f64(),
        produced as f64 / elapsed.as_secs_f64(),
        if stored == produced { "count in = count stored" } else { "MISMATCH" },
        stats.batches
    );
}

fn first_frame(db: &Path, size: &str) {
    let mut times = Vec::new();
    for _ in 0..7 {
        let t0 = Instant::now();
        let c = Console::open(db);
        times.push(t0.elapsed());
        assert!(!c.state.pane(Pane::Access).rows.is_empty());
    }
    bench_line(&format!("first frame (in-process), {size}"), "rampart", "ms", &millis(&times));
    times.sort();
    println!(
        "start to first frame (open store, load six panes, draw {WIDTH}x{HEIGHT}): median {}, max {}",
        ms(times[3]),
        ms(times[6])
    );
}

/// Each filter's first screen, five times; with `size`, also as `BENCH` lines.
fn filters(db: &Path, size: Option<&str>) {
    let conn = store::open(db, Access::ReadOnly).unwrap();
    let now = now_ms();
    for text in [
        "ip:203.0.113.7",
        "ip:192.0.2.254",
        "status:500",
        "status:401",
        "sqlmap",
        "status>=400 since:15m",
        "path:*passwd*",
        "ua:*sqlmap*",
        "no-such-text-anywhere",
        "!status:200 no-such-text-anywhere",
        "sqlmap !status:401",
        "since:2h no-such-text-anywhere",
        "status:418",
        "bytes>10000000",
        "zq",
        "!GET !POST !HEAD !PUT !DELETE",
        "since:2h until:1h status:418",
    ] {
        let mut times = Vec::new();
        let mut whole = Vec::new();
        let mut found = 0;
        for _ in 0..5 {
            let t0 = Instant::now();
            let filter = compile(text, Pane::Access.fields(), now).unwrap();
            let q = Query {
                listing: Listing::Access,
                filter,
                around: Around::Newest,
                per_side: 100,
                count_newer_than: None,
                history: false,
                grouped: false,
            };
            // As the console's reader answers: the plain query within its budget, else a search
            // newest first whose first part is the first screen.
            let mut scan = None;
            found = match scan::load(&conn, &q, now, Duration::from_millis(40)).unwrap() {
                scan::Answer::Page(page) => page.rows.len(),
                scan::Answer::Scan(mut s) => {
                    s.run(&conn, Duration::from_millis(40)).unwrap();
                    let n = s.page().rows.len();
                    scan = Some(s);
                    n
                }
            };
            times.push(t0.elapsed());
            if let Some(mut s) = scan {
                let searched = s.searched();
                s.finish(&conn).unwrap();
                whole.push((t0.elapsed(), searched, s.page().rows.len()));
            }
        }
        if let Some(size) = size {
            bench_line(&format!("filter `{text}` first screen (in-process), {size}"), "rampart", "ms", &millis(&times));
        }
        times.sort();
        println!("filter {text:<32} first screen ({found:>3} rows): median {}, max {}", ms(times[2]), ms(times[4]));
        if let Some((took, searched, rows)) = whole.get(whole.len() / 2) {
            println!(
                "    searched newest first: {} of {} ids by the first screen, all of them in {} ({rows} rows)",
                searched.searched,
                searched.of,
                ms(*took)
            );
        }
    }
    for (listing, text) in
        [(Listing::Access, ""), (Listing::Access, "status:500"), (Listing::Access, "sqlmap"), (Listing::Alerts, "")]
    {
        for zoom in [0, 3, 5] {
            let q = histogram::Query {
                listing,
                filter: compile(text, Pane::Access.fields(), now).unwrap(),
                bucket_ms: histogram::ZOOMS[zoom],
                buckets: WIDTH as usize - 2,
            };
            let mut times = Vec::new();
            let mut h = histogram::Histogram::default();
            for _ in 0..5 {
                let t0 = Instant::now();
                h = histogram::load(&conn, &q).unwrap();
                times.push(t0.elapsed());
            }
            times.sort();
            println!(
                "histogram {listing:?} /{text:<10} {:>6}/column: median {}, max {} (peak {}, partial {:?})",
                histogram::interval_name(zoom),
                ms(times[2]),
                ms(times[4]),
                h.peak(),
                h.partial
            );
        }
    }
}

/// The collector's indexer catching up on the whole store, a step (a chunk, or a step of
/// merging) per transaction as it runs them, and the size of what it builds.
fn index(db: &Path) {
    // A store kept from an earlier run is indexed already: it starts over.
    unindex(db);
    let conn = store::index_db::open_writer(db).unwrap();
    let file = store::index_db::path_of(db);
    let before = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let from = store::indexer::indexed_through(&conn).unwrap();
    let t0 = Instant::now();
    let (mut chunks, mut merges, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    let mut indexer = store::indexer::Indexer::default();
    loop {
        let c0 = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let step = indexer.step(&conn).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        match step {
            store::indexer::Step::Chunk { rows, .. } => {
                chunks.push(c0.elapsed());
                sizes.push(rows);
            }
            store::indexer::Step::Merge => merges.push(c0.elapsed()),
        }
        if let (store::indexer::Step::Chunk { progress, .. }, true) = (step, indexer.idle()) {
            let mut steps = [chunks.clone(), merges.clone()].concat();
            steps.sort();
            chunks.sort();
            merges.sort();
            sizes.sort();
            let after = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            println!(
                "indexer: events {from}..{} indexed in {:.2} s, {} chunks of {}..{} rows (median {}) and {} merge steps; \
                 time a step {}, a chunk {}, a merge step {}; the indexes' file grew by {:.0} MB",
                progress.through,
                t0.elapsed().as_secs_f64(),
                chunks.len(),
                sizes[0],
                sizes[sizes.len() - 1],
                sizes[sizes.len() / 2],
                merges.len(),
                spread(&steps),
                spread(&chunks),
                spread(&merges),
                after.saturating_sub(before) as f64 / 1e6
            );
            return;
        }
    }
}

/// What a live source saw: how long each of its batches waited from being handed to the writer
/// until its commit returned, and how many events it stored in how long.
struct Fed {
    stalls: Vec<Duration>,
    events: u64,
    took: Duration,
}

impl Fed {
    fn per_second(&self) -> f64 {
        self.events as f64 / self.took.as_secs_f64()
    }

    fn print(&mut self, what: &str) {
        self.stalls.sort();
        println!(
            "{what}: {} events in {:.1} s = {:.0} events/s; the writer's stall a batch ({}) {}",
            self.events,
            self.took.as_secs_f64(),
            self.per_second(),
            self.stalls.len(),
            spread(&self.stalls)
        );
    }
}

/// A live source writing access events through the collector's writer, as the sources do: every
/// 10 ms the events due at `rate` events/s (or, without a rate, 1,000 at a time as fast as the
/// writer takes them), each batch waiting for its commit; with `indexing`, the collector's indexer
/// runs meanwhile. Runs until `done(reader, elapsed)`.
fn live_source(
    db: &Path,
    rate: Option<u64>,
    indexing: bool,
    done: impl Fn(&rusqlite::Connection, Duration) -> bool,
) -> Fed {
    let conn = store::open(db, Access::ReadWrite).unwrap();
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let indexer = indexing.then(|| runtime.spawn(store::indexer::keep_indexed(db.to_owned())));
    let reader = store::open(db, Access::ReadOnly).unwrap();
    let mut gen = Generator::new(23);
    let (mut made, mut due) = (Vec::new(), std::collections::VecDeque::new());
    let mut stalls = Vec::new();
    let mut events = 0u64;
    let t0 = Instant::now();
    let mut tick = t0;
    while !done(&reader, t0.elapsed()) {
        let wanted = match rate {
            Some(rate) => (t0.elapsed().as_secs_f64() * rate as f64) as u64 - events,
            None => 1_000,
        };
        while (due.len() as u64) < wanted {
            gen.step(now_ms(), &mut made);
            due.extend(made.drain(..).filter(|w| matches!(w, Write::Access(_))));
        }
        let handed = Instant::now();
        for w in due.drain(..wanted as usize) {
            writer.blocking_send(w).unwrap();
        }
        // A job after the batch runs once the batch is committed (the writer keeps the order).
        let (tx, rx) = tokio::sync::oneshot::channel();
        let ack: rampart::store::writer::Job = Box::new(move |_| {
            let _ = tx.send(());
            Tables::NONE
        });
        writer.blocking_send(Write::Job(ack)).unwrap();
        rx.blocking_recv().unwrap();
        stalls.push(handed.elapsed());
        events += wanted;
        if rate.is_some() {
            tick += Duration::from_millis(10);
            std::thread::sleep(tick.saturating_duration_since(Instant::now()));
        }
    }
    let took = t0.elapsed();
    if let Some(indexer) = indexer {
        indexer.abort();
        let _ = runtime.block_on(indexer);
    }
    drop(writer);
    drop(runtime);
    thread.join().unwrap();
    Fed { stalls, events, took }
}

/// Starts the indexes over from the first event (as the indexer does when the events it indexed
/// were deleted), so that the indexer has the whole store to catch up on.
fn unindex(db: &Path) {
    drop(store::open(db, Access::ReadWrite).unwrap());
    let conn = store::index_db::open_writer(db).unwrap();
    conn.execute("UPDATE access_indexed_through SET ts = -2", []).unwrap();
    store::transaction::immediate(&conn, |conn| store::indexer::index_chunk(conn, 1)).unwrap();
}

/// A live source at 10,000 events/s, without the collector's indexer and with it catching up on
/// the whole store: the writer's stall the source sees, and the events/s it sustains; then the
/// same source as fast as the writer takes it, with the indexer following and without it. The events it wrote
/// are deleted afterwards and the indexes rebuilt, so the store is as it was.
fn writer_stall(db: &Path, size: &str) {
    const RATE: u64 = 10_000;
    let last = |conn: &rusqlite::Connection| store::access::last_id(conn).unwrap();
    let base = last(&store::open(db, Access::ReadOnly).unwrap());
    let mut alone = live_source(db, Some(RATE), false, |_, t| t >= Duration::from_secs(10));
    alone.print("a source at 10,000 events/s, no indexer");
    unindex(db);
    let stored = last(&store::open(db, Access::ReadOnly).unwrap());
    let caught_up = |conn: &rusqlite::Connection, _| store::indexer::indexed_through(conn).unwrap() >= stored;
    let mut indexing = live_source(db, Some(RATE), true, caught_up);
    indexing.print("a source at 10,000 events/s while the indexer catches up on the store");
    let mut flood = live_source(db, None, true, |_, t| t >= Duration::from_secs(3));
    flood.print("a source as fast as the writer takes it, the indexer following");
    let mut flood_alone = live_source(db, None, false, |_, t| t >= Duration::from_secs(3));
    flood_alone.print("a source as fast as the writer takes it, no indexer");
    bench_line(
        &format!("writer stall a batch, 10,000 events/s with the indexer catching up, {size}"),
        "rampart",
        "ms",
        &millis(&indexing.stalls),
    );
    bench_line(
        &format!("writer stall a batch, 10,000 events/s without the indexer, {size}"),
        "rampart",
        "ms",
        &millis(&alone.stalls),
    );
    for (row, fed) in [("with the indexer", &flood), ("without the indexer", &flood_alone)] {
        bench_line(
            &format!("events/s a live source sustains {row}, {size}"),
            "rampart",
            "events/s",
            &[fed.per_second()],
        );
    }
    let conn = store::open(db, Access::ReadWrite).unwrap();
    conn.execute("DELETE FROM access_events WHERE id > ?1", [base]).unwrap();
    store::indexer::catch_up(&conn).unwrap();
}

fn keystrokes_under_feed(db: &Path, rate: usize) {
    let conn = store::open(db, Access::ReadWrite).unwrap();
    let notes = Arc::new(ChangeNotes::default());
    let (writer, thread) = StoreWriter::spawn(conn, notes.clone());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeder = {
        let (writer, stop) = (writer.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut gen = Generator::new(7);
            let mut batch = Vec::new();
            let mut sent = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..rate / 10 {
                    gen.step(now_ms(), &mut batch);
                }
                for w in batch.drain(..) {
                    sent += 1;
                    writer.blocking_send(w).unwrap();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            sent
        })
    };
    drop(writer);
    let deadline = Instant::now() + Duration::from_secs(10);
    report(&format!("a {rate} events/s feed"), typing(db, &notes, || Instant::now() >= deadline));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = feeder.join().unwrap();
    let stats = thread.join().unwrap();
    println!("feed: {sent} writes sent, {} stored, {} failed", stats.written, stats.failed);
}

/// An operator paging the access log (a key every 10 ms) until `done`, the console redrawing on
/// every store change meanwhile: how long each keystroke and each refresh took to reach the frame.
fn typing(db: &Path, notes: &ChangeNotes, done: impl Fn() -> bool) -> (Vec<Duration>, Vec<Duration>) {
    let mut c = Console::open(db);
    c.key(KeyCode::Char('3'));
    let mut keystrokes = Vec::new();
    let mut refreshes = Vec::new();
    let mut i = 0u64;
    while !done() {
        let changed = notes.take();
        if !changed.is_empty() {
            let t0 = Instant::now();
            c.send(Msg::StoreChanged(changed | Tables::NONE));
            c.draw();
            refreshes.push(t0.elapsed());
        }
        let t0 = Instant::now();
        c.key(match i % 40 {
            0..=19 => KeyCode::Char('j'),
            _ => KeyCode::Char('k'),
        });
        c.draw();
        keystrokes.push(t0.elapsed());
        i += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    keystrokes.sort();
    refreshes.sort();
    (keystrokes, refreshes)
}

fn report(during: &str, (keystrokes, refreshes): (Vec<Duration>, Vec<Duration>)) {
    println!(
        "keystroke to frame under {during} ({} keys): p50 {}, p99 {}, max {}",
        keystrokes.len(),
        ms(percentile(&keystrokes, 0.5)),
        ms(percentile(&keystrokes, 0.99)),
        ms(*keystrokes.last().unwrap())
    );
    if !refreshes.is_empty() {
        println!(
            "store change to frame during that ({} refreshes): p50 {}, p99 {}, max {}",
            refreshes.len(),
            ms(percentile(&refreshes, 0.5)),
            ms(percentile(&refreshes, 0.99)),
            ms(*refreshes.last().unwrap())
        );
    }
}

/// A burst of 100,000 access events written as fast as the writer takes them, judged by the
/// detection rules as the collector runs them, while an operator types.
fn keystrokes_under_burst(db: &Path) {
    const BURST: usize = 100_000;
    let conn = store::open(db, Access::ReadWrite).unwrap();
    let notes = Arc::new(ChangeNotes::default());
    let (writer, thread) = StoreWriter::spawn(conn, notes.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let rules = runtime.spawn(rampart::detect::runner::run(writer.clone(), db.to_owned(), Default::default()));
    let reader = store::open(db, Access::ReadOnly).unwrap();
    let judged_up_to = || rampart::store::detections::position(&reader).unwrap_or(0);
    let mut gen = Generator::new(11);
    let mut batch = Vec::new();
    // The rules first judge the history the store already holds.
    let last_before: i64 = reader.query_row("SELECT max(id) FROM access_events", [], |r| r.get(0)).unwrap();
    while judged_up_to() < last_before {
        std::thread::sleep(Duration::from_millis(50));
    }
    let alerts_before: i64 = reader.query_row("SELECT ifnull(max(id), 0) FROM alerts", [], |r| r.get(0)).unwrap();
    let t0 = Instant::now();
    let burst = std::thread::spawn(move || {
        let mut sent = 0;
        while sent < BURST {
            gen.step(now_ms(), &mut batch);
            for w in batch.drain(..).filter(|w| matches!(w, Write::Access(_))).take(BURST - sent) {
                writer.blocking_send(w).unwrap();
                sent += 1;
            }
        }
        writer
    });
    let target = last_before + BURST as i64;
    let typed = typing(db, &notes, || judged_up_to() >= target);
    let caught_up = t0.elapsed();
    let writer = burst.join().unwrap();
    report("a burst of 100,000 events being stored and judged", typed);
    let alerts: i64 = reader
        .query_row("SELECT count(*) FROM alerts WHERE source = 'rampart' AND id > ?", [alerts_before], |r| r.get(0))
        .unwrap();
    println!(
        "burst: 100,000 events stored and judged by the rules {} after the first was sent ({alerts} alerts)",
        ms(caught_up)
    );
    drop(writer);
    rules.abort(); // as the collector stops it; the task holds a sender of the writer
    let _ = runtime.block_on(rules);
    drop(runtime);
    thread.join().unwrap();
}

/// Run in a child process so that the store's generation does not count: open the console on the
/// store, page through 2,000 screens of the access log, and report resident memory.
fn memory_child(db: &Path) {
    let mut c = Console::open(db);
    c.key(KeyCode::Char('3'));
    for _ in 0..2_000 {
        c.key(KeyCode::PageDown);
    }
    c.draw();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status.lines().find(|l| l.starts_with(name)).unwrap_or("").split_whitespace().nth(1).unwrap_or("0").to_string()
    };
    println!("{} {}", field("VmHWM:"), field("VmRSS:"));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--memory-child") {
        memory_child(Path::new(&args[i + 1]));
        return;
    }
    let events: usize = std::env::var("RAMPART_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    // RAMPART_BENCH_DB: a store to keep and reuse (generating 10,000,000 events takes minutes).
    let db = std::env::var_os("RAMPART_BENCH_DB").map_or_else(|| dir.path().join("bench.db"), Into::into);
    println!("rampart console benchmarks, {events} access events");
    if db.exists() {
        println!("reusing the store at {}", db.display());
    } else {
        ingest(&db, events);
    }
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!("store size: {:.0} MB", size as f64 / 1e6);
    let size = size_label(events);
    first_frame(&db, &size);
    println!("filters before the indexes cover the store:");
    filters(&db, None);
    index(&db);
    println!("filters with the indexes caught up:");
    filters(&db, Some(&size));
    if !std::env::var("RAMPART_BENCH_STALL").is_ok_and(|v| v == "0") {
        writer_stall(&db, &size);
    }
    if std::env::var_os("RAMPART_BENCH_FILTERS_ONLY").is_some() {
        return;
    }
    let mut peaks = Vec::new();
    for _ in 0..3 {
        let out = std::process::Command::new(&args[0]).args(["--memory-child", db.to_str().unwrap()]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let (hwm, rss): (u64, u64) =
            (parts.next().unwrap_or("0").parse().unwrap_or(0), parts.next().unwrap_or("0").parse().unwrap_or(0));
        println!(
            "resident memory of a console on this store after paging 2,000 screens: peak {} MB, now {} MB",
            hwm / 1024,
            rss / 1024
        );
        peaks.push(hwm as f64 / 1024.0);
    }
    bench_line(&format!("peak RSS, {size}"), "rampart console", "MB", &peaks);
    if std::env::var("RAMPART_BENCH_TYPING").is_ok_and(|v| v == "0") {
        return;
    }
    keystrokes_under_feed(&db, 1_000);
    keystrokes_under_burst(&db);
}
