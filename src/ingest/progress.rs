//! How far an import is, drawn as one line on standard error when it is a terminal: a bar, rows,
//! rows per second and time left (from the file's size); nothing at all when it is not.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::text::format::thousands;

/// How often the line is drawn again.
const EVERY: Duration = Duration::from_millis(100);

/// What the import has done so far, counted by the reading and parsing thread.
#[derive(Debug, Default)]
pub struct Meter {
    /// Bytes of the input read.
    pub bytes: AtomicU64,
    /// Lines read.
    pub lines: AtomicU64,
}

/// Word to the drawing thread that the import is over, and how it is woken.
type Done = Arc<(Mutex<bool>, Condvar)>;

/// The line being drawn, and the thread that draws it.
pub struct Bar {
    meter: Arc<Meter>,
    drawing: Option<(Done, JoinHandle<()>)>,
}

impl Bar {
    /// A bar for `name` (of `total` bytes when known), drawn on standard error if it is a
    /// terminal; otherwise the meter is only counted.
    pub fn start(name: &str, total: Option<u64>) -> Bar {
        Bar::start_on(name, total, std::io::stderr().is_terminal())
    }

    fn start_on(name: &str, total: Option<u64>, terminal: bool) -> Bar {
        let meter = Arc::new(Meter::default());
        if !terminal {
            return Bar { meter, drawing: None };
        }
        let done: Done = Arc::new((Mutex::new(false), Condvar::new()));
        let (m, d, name) = (meter.clone(), done.clone(), name.to_string());
        let thread = std::thread::Builder::new().name("ingest-progress".into()).spawn(move || {
            let started = Instant::now();
            let mut drawn = false;
            let (lock, wake) = &*d;
            let mut finished = lock.lock().unwrap_or_else(|e| e.into_inner());
            while !*finished {
                let width = crossterm::terminal::size().map(|(w, _)| w as usize).unwrap_or(80);
                let text = line(&name, total, &m, started.elapsed(), width);
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{text}");
                let _ = err.flush();
                drawn = true;
                finished = wake.wait_timeout(finished, EVERY).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
            }
            if drawn {
                // The line goes, so that what the import says next starts on a clean line.
                let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
            }
        });
        Bar { meter, drawing: thread.ok().map(|t| (done, t)) }
    }

    /// The counters the import adds to.
    pub fn meter(&self) -> Arc<Meter> {
        self.meter.clone()
    }

    /// Takes the line away.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some((done, thread)) = self.drawing.take() {
            *done.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
            done.1.notify_all();
            let _ = thread.join();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The line for `meter` after `elapsed`, at most `width` columns:
/// `access.log  42% [########--------]  420,000 rows  610,000 rows/s  1 s left`.
fn line(name: &str, total: Option<u64>, meter: &Meter, elapsed: Duration, width: usize) -> String {
    let bytes = meter.bytes.load(Ordering::Relaxed);
    let lines = meter.lines.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { lines as f64 / secs } else { 0.0 };
    let mut parts = vec![crate::text::sanitize::clean_all(name).into_owned()];
    if let Some(total) = total.filter(|t| *t > 0) {
        let done = (bytes as f64 / total as f64).clamp(0.0, 1.0);
        let filled = (done * 20.0).round() as usize;
        parts.push(format!("{:>3.0}% [{}{}]", done * 100.0, "#".repeat(filled), "-".repeat(20 - filled)));
    }
    parts.push(format!("{} rows", thousands(lines)));
    parts.push(format!("{} rows/s", thousands(rate as u64)));
    if let Some(total) = total.filter(|_| bytes > 0 && secs >= 0.2) {
        let left = total.saturating_sub(bytes) as f64 / (bytes as f64 / secs);
        parts.push(format!("{} left", remaining(left)));
    }
    let text = parts.join("  ");
    text.chars().take(width.saturating_sub(1)).collect()
}

fn remaining(secs: f64) -> String {
    let s = secs.ceil() as u64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_how_far_how_fast_and_how_long() {
        let meter = Meter::default();
        meter.bytes.store(40_000_000, Ordering::Relaxed);
        meter.lines.store(250_000, Ordering::Relaxed);
        let text = line("access.log", Some(100_000_000), &meter, Duration::from_millis(500), 200);
        assert_eq!(text, "access.log   40% [########------------]  250,000 rows  500,000 rows/s  1 s left");
        assert_eq!(line("-", None, &meter, Duration::from_secs(2), 200), "-  250,000 rows  125,000 rows/s");
        assert_eq!(line("access.log", Some(100_000_000), &meter, Duration::from_millis(500), 12), "access.log ");
    }

    #[test]
    fn nothing_is_drawn_off_a_terminal() {
        let bar = Bar::start_on("x", Some(10), false);
        assert!(bar.drawing.is_none());
        bar.meter().lines.fetch_add(5, Ordering::Relaxed);
        bar.finish();
    }
}
