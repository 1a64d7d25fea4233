//! Test harness: a console on a real SQLite store in a temp dir, drawn on a fixed-size TestBackend,
//! with keys injected and effects carried out in line.
#![allow(dead_code)]

#[cfg(feature = "real-components")]
pub mod f2b;
#[cfg(feature = "real-components")]
pub mod lab;
#[cfg(feature = "real-components")]
pub mod moto;
#[cfg(feature = "real-components")]
pub mod tmux;
#[cfg(feature = "real-components")]
pub mod users;
mod wait;

pub use wait::wait_for;

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Terminal;
use tempfile::TempDir;

use rampart::app::effects::Inline;
use rampart::app::msg::{Effect, Msg};
use rampart::app::state::{Role, Session, State};
use rampart::app::update;
use rampart::config::{self, Keymap, Theme};
use rampart::respond::{Backend, Operator};
use rampart::store::writer::{ChangeNotes, StoreWriter};
use rampart::store::{self, Access};

/// 2026-11-26T12:00:00Z: every test sees the same clock.
pub const NOW: i64 = 1_795_694_400_000;

pub fn operator() -> Operator {
    Operator {
        name: "operator".into(),
        ssh_client: Some("192.0.2.10".into()),
        host: "testhost".into(),
        ..Default::default()
    }
}

/// The real-host backend with the default Docker settings.
pub fn live() -> Backend {
    Backend::Live(std::sync::Arc::new(rampart::config::Config::default()))
}

pub fn theme(name: &str) -> Theme {
    config::shipped_theme(name).expect("shipped theme")
}

pub fn keymap(name: &str) -> Keymap {
    let (_, text) = config::KEYMAPS.iter().find(|(n, _)| *n == name).expect("shipped keymap");
    Keymap::parse(name, text).expect("shipped keymap parses")
}

pub struct Harness {
    pub state: State,
    pub fx: Inline,
    pub term: Terminal<TestBackend>,
    pub db: PathBuf,
    pub dir: TempDir,
}

impl Harness {
    /// A console on a store seeded by the demo (seed 1) with `events` access events.
    pub fn demo(width: u16, height: u16, events: usize) -> Harness {
        Harness::build(width, height, Some(events), Backend::Demo, None)
    }

    /// A console on a fresh, empty store.
    pub fn empty(width: u16, height: u16) -> Harness {
        Harness::build(width, height, None, live(), None)
    }

    pub fn build(width: u16, height: u16, events: Option<usize>, backend: Backend, read_only: Option<&str>) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("test.db");
        let writer = store::open(&db, Access::ReadWrite).expect("open store");
        if let Some(events) = events {
            rampart::demo::seed::seed(&writer, 1, NOW, events).expect("seed");
        }
        let reader = store::open(&db, Access::ReadOnly).expect("open reader");
        let session = Session {
            operator: operator(),
            read_only: read_only.map(str::to_string),
            demo: matches!(backend, Backend::Demo),
            role: Role::Collector,
            denied: Default::default(),
        };
        let state = State::new(session, theme("default"), keymap("default"), Rect::new(0, 0, width, height), NOW);
        let fx = Inline { reader, writer, backend, operator: operator(), config_dir: dir.path().join("config") };
        let term = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        let mut h = Harness { state, fx, term, db, dir };
        let effects = update::start(&mut h.state);
        h.run(effects);
        h
    }

    /// Sends a message and carries out every effect that follows, to quiescence.
    pub fn send(&mut self, msg: Msg) {
        let effects = update::update(&mut self.state, msg);
        self.run(effects);
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let mut queue = effects;
        while let Some(effect) = (!queue.is_empty()).then(|| queue.remove(0)) {
            for msg in self.fx.run(effect, self.state.now_ms) {
                queue.extend(update::update(&mut self.state, msg));
            }
        }
    }

    /// Presses keys written as the keymap writes them, separated by spaces: `"tab j j enter"`.
    pub fn press(&mut self, keys: &str) {
        for name in keys.split(' ').filter(|k| !k.is_empty()) {
            let chord = rampart::config::keymap::Chord::parse(name).unwrap_or_else(|| panic!("bad key {name}"));
            self.send(Msg::Key(KeyEvent::new(chord.code, chord.mods)));
        }
    }

    /// Types text character by character (into a filter, command line or reason field).
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.send(Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
        }
    }

    /// Runs a collector source against this console's store until `done` holds for the store
    /// (within a generous deadline), then stops it and tells the console the store changed.
    pub fn run_source_until<F>(
        &mut self,
        source: impl FnOnce(StoreWriter) -> F,
        done: impl Fn(&rusqlite::Connection) -> bool,
    ) where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let conn = store::open(&self.db, Access::ReadWrite).unwrap();
        let notes = std::sync::Arc::new(ChangeNotes::default());
        let (writer, thread) = StoreWriter::spawn(conn, notes.clone());
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let task = rt.spawn(source(writer.clone()));
        wait_for("the source to get there", || done(&self.fx.reader), |done| *done);
        task.abort();
        let _ = rt.block_on(task);
        drop(writer);
        thread.join().unwrap();
        // Told as the live console is told: by the writer's notes of what it changed.
        if let Some(changed) = rampart::app::effects::noted_change(&notes) {
            self.send(changed);
        }
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.term.backend_mut().resize(width, height);
        self.send(Msg::Resize(width, height));
    }

    pub fn draw(&mut self) -> Buffer {
        let state = &self.state;
        self.term.draw(|f| rampart::ui::draw(f, state)).expect("draw");
        self.term.backend().buffer().clone()
    }

    /// The screen as text, one line per row.
    pub fn screen(&mut self) -> String {
        let buffer = self.draw();
        buffer_text(&buffer)
    }

    /// Where `needle` first appears on screen, as (x, y).
    pub fn find(&mut self, needle: &str) -> Option<(u16, u16)> {
        let buffer = self.draw();
        let text = buffer_text(&buffer);
        text.lines()
            .enumerate()
            .find_map(|(y, line)| line.find(needle).map(|byte| (line[..byte].chars().count() as u16, y as u16)))
    }
}

/// The rampart binary under test (for a test that must name it: in a shell, behind `setpriv`).
pub const BIN: &str = env!("CARGO_BIN_EXE_rampart");

/// The one way a test starts rampart: the binary under test, without the settings of the
/// environment the tests run in (`RAMPART_DB`, `NO_COLOR`, and `RUST_BACKTRACE`, which asks for
/// the full report of every error). [`Homed::home`] gives it a home of its own.
pub fn rampart() -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command
        .env_remove("RAMPART_DB")
        .env_remove("NO_COLOR")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    command
}

/// A home of its own for rampart: its config, data and default store there, none of the machine's.
pub trait Homed {
    fn home(&mut self, home: &std::path::Path) -> &mut Self;
}

impl Homed for std::process::Command {
    fn home(&mut self, home: &std::path::Path) -> &mut Self {
        self.env("HOME", home).env("XDG_CONFIG_HOME", home.join("config")).env("XDG_DATA_HOME", home.join("data"))
    }
}

/// Whether `source`'s status line in the store contains `text`.
pub fn status_says(conn: &rusqlite::Connection, source: &str, text: &str) -> bool {
    let detail =
        conn.query_row("SELECT detail FROM source_status WHERE source = ?", [source], |r| r.get::<_, String>(0));
    detail.is_ok_and(|d| d.contains(text))
}

pub fn buffer_text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut skip = 0;
        for x in 0..area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            out.push_str(symbol);
            skip = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
        }
        out.push('\n');
    }
    out
}

/// A running `rampart collect`, killed when dropped (a failing test leaves none behind).
pub struct Collector {
    pub child: std::process::Child,
}

impl Drop for Collector {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Alerts of rampart's own rules per rule: how many, the first and the last time (of day).
pub fn alerts_by_rule(conn: &rusqlite::Connection) -> Vec<(String, i64, String, String)> {
    let time = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%H:%M:%S").to_string();
    let mut stmt = conn
        .prepare(
            "SELECT rule, count(*), min(ts), max(ts) FROM alerts WHERE source = 'rampart' GROUP BY rule ORDER BY rule",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, time(r.get(2)?), time(r.get(3)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}
