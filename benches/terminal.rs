//! The real binary in a pseudo-terminal, as an SSH session carries it: keystroke to frame on a
//! quiet store and under live feeds of 1,000 and 10,000 events/s, and the bytes written to the
//! terminal per second meanwhile (what a slow link has to carry).
//!
//! Run: `cargo bench --bench terminal` (RAMPART_BENCH_KEYS sets the keystrokes per case, default 40;
//! RAMPART_BENCH_BIN another rampart binary to measure, e.g. an older build).
//! A keystroke's time runs from writing the key into the terminal to the moment the screen, as a
//! terminal emulator (vt100) sees it, shows the answer: `z` zooms the Tenants pane (its border says
//! `zoomed`), `z` again brings the other panes back (`2 Alerts` is on screen again).
//! Each case is also printed as `BENCH {json}` lines (keystroke times, output rate) for `benches/run`.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};
use rand::{Rng, SeedableRng};

/// The binary under test: this build's, or RAMPART_BENCH_BIN (an older build, to compare).
fn binary() -> String {
    std::env::var("RAMPART_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rampart").to_string())
}
const ROWS: u16 = 48;
const COLS: u16 = 160;

/// One console in a pseudo-terminal, with a terminal emulator reading everything it writes.
struct Console {
    keys: Box<dyn Write + Send>,
    output: mpsc::Receiver<(Instant, Vec<u8>)>,
    screen: vt100::Parser,
    bytes: u64,
    child: Box<dyn Child + Send + Sync>,
}

impl Console {
    fn spawn(home: &Path, args: &[&str]) -> Console {
        let pty = native_pty_system()
            .openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 })
            .expect("a pseudo-terminal");
        let mut cmd = CommandBuilder::new(binary());
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", home);
        cmd.env_remove("RAMPART_DB");
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).expect("rampart starts");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let keys = pty.master.take_writer().unwrap();
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        });
        Console { keys, output, screen: vt100::Parser::new(ROWS, COLS, 0), bytes: 0, child }
    }

    fn take(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        self.screen.process(chunk);
    }

    /// When the screen first showed `needle`, or None if it did not within `limit`.
    fn wait_for(&mut self, needle: &str, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        if self.screen.screen().contents().contains(needle) {
            return Some(Instant::now());
        }
        while let Ok((at, chunk)) = self.output.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.take(&chunk);
            if self.screen.screen().contents().contains(needle) {
                return Some(at);
            }
        }
        None
    }

    /// Reads (and counts) everything written for `span`.
    fn drain_for(&mut self, span: Duration) -> u64 {
        let before = self.bytes;
        let deadline = Instant::now() + span;
        while let Ok((_, chunk)) = self.output.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.take(&chunk);
        }
        self.bytes - before
    }

    /// Presses `key` and returns how long until the screen shows `answer`.
    fn keystroke(&mut self, key: &[u8], answer: &str) -> Option<Duration> {
        let sent = Instant::now();
        self.keys.write_all(key).unwrap();
        self.keys.flush().unwrap();
        self.wait_for(answer, Duration::from_secs(5)).map(|at| at.saturating_duration_since(sent))
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.keys.write_all(b"q");
        let _ = self.keys.flush();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            let _ = self.output.recv_timeout(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

/// One series of measurements as a machine-readable line, for `benches/run`.
fn bench_line(row: &str, tool: &str, unit: &str, samples: &[f64]) {
    let line = serde_json::json!({"row": row, "tool": tool, "unit": unit, "samples": samples});
    println!("BENCH {line}");
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Zooms and unzooms `keys` times at random moments, then counts the bytes of a quiet 10 s;
/// `case` names the rows of its `BENCH` lines.
fn measure(label: &str, case: &str, console: &mut Console, keys: usize) {
    assert!(console.wait_for("2 Alerts", Duration::from_secs(60)).is_some(), "{label}: the console never drew");
    console.drain_for(Duration::from_secs(2));
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let mut times = Vec::new();
    let mut missed = 0;
    for _ in 0..keys {
        for (key, answer) in [(b"z", "zoomed"), (b"z", "2 Alerts")] {
            match console.keystroke(key, answer) {
                Some(t) => times.push(t),
                None => missed += 1,
            }
            console.drain_for(Duration::from_millis(rng.gen_range(50..350)));
        }
    }
    times.sort();
    let bytes = console.drain_for(Duration::from_secs(10));
    let millis: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e3).collect();
    bench_line(&format!("keystroke to frame, {case}"), "rampart", "ms", &millis);
    bench_line(&format!("terminal output, {case}"), "rampart", "KiB/s", &[bytes as f64 / 10.0 / 1024.0]);
    println!(
        "{label}: keystroke to frame p50 {} p99 {} max {} over {} keys{}; terminal output {:.1} KiB/s",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().unwrap()),
        times.len(),
        if missed > 0 { format!(" ({missed} never answered within 5 s)") } else { String::new() },
        bytes as f64 / 10.0 / 1024.0
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let keys: usize = std::env::var("RAMPART_BENCH_KEYS").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quiet.db");
    let config = dir.path().join("config.toml");
    // A quiet store: a day of demo history, no source that writes (no Docker host, no Fail2Ban).
    std::fs::write(&config, "[docker]\nhost = \"unix:///nonexistent/docker.sock\"\n").unwrap();
    {
        let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
        rampart::demo::seed::seed(&conn, 1, rampart::store::now_ms(), 100_000).unwrap();
    }
    let (db, config) = (db.to_str().unwrap(), config.to_str().unwrap());
    if std::env::var_os("RAMPART_BENCH_BIN").is_none() {
        let mut console = Console::spawn(dir.path(), &["--db", db, "--config", config]);
        measure("quiet store (no feed)", "idle", &mut console, keys);
    } else {
        println!("quiet store: skipped (another build may not open this build's schema); see the 0.1 events/s demo");
    }
    for rate in ["0.1", "1000", "10000"] {
        let mut console = Console::spawn(dir.path(), &["demo", "--seed", "1", "--events", "100000", "--rate", rate]);
        let case = if rate == "0.1" { "demo at 0.1 events/s".to_string() } else { format!("{rate} events/s") };
        measure(&format!("demo feed {rate} events/s"), &case, &mut console, keys);
    }
}
