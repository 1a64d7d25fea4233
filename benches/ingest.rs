//! `rampart ingest access` against lnav on the same 1,000,000-line combined log, and where the
//! time goes (parsing alone, parsing + storing, and what binding text in place saves over copying).
//!
//! Run: `cargo bench --bench ingest` (lnav from Debian is timed when installed).
//! `benches/run` drives it with RAMPART_BENCH_LOG (a log to reuse, made if missing and kept),
//! RAMPART_BENCH_LINES (its size), RAMPART_BENCH_ROUNDS, RAMPART_BENCH_STORE (where to keep the
//! last run's store), RAMPART_BENCH_IMPORT_ONLY (skip the sections after the import) and
//! RAMPART_BENCH_STAGES (only the import's stages, each alone: parse, judge, store); each
//! series is also printed as one `BENCH {json}` line.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A combined-format log of `lines` lines, the same bytes every run.
fn make_log(path: &Path, lines: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let paths = [
        "/",
        "/index.html",
        "/api/v1/orders",
        "/api/v1/orders/1842",
        "/static/app.js",
        "/login",
        "/search?q=blue+shoes",
    ];
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "curl/8.5.0",
        "python-requests/2.32.3",
    ];
    let mut x: u64 = 7;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z").unwrap();
    for i in 0..lines {
        let t = start + chrono::Duration::milliseconds(i as i64 * 86);
        let r = next();
        writeln!(
            out,
            "203.0.{}.{} - {} [{}] \"{} {} HTTP/1.1\" {} {} \"-\" \"{}\"",
            r % 256,
            (r >> 8) % 254 + 1,
            ["-", "-", "bob", "alice"][(r >> 16) as usize % 4],
            t.format("%d/%b/%Y:%H:%M:%S %z"),
            ["GET", "GET", "POST"][(r >> 20) as usize % 3],
            paths[(r >> 24) as usize % paths.len()],
            [200, 200, 200, 304, 404, 401, 500][(r >> 28) as usize % 7],
            (r >> 32) % 50_000,
            agents[(r >> 40) as usize % agents.len()]
        )
        .unwrap();
    }
}

/// lnav with a home of its own: it writes its sample configs and formats (`configs/`, `formats/`)
/// into its home folder on every start, and must never write them into the work tree.
fn lnav_in(home: &tempfile::TempDir) -> Command {
    let mut lnav = Command::new("lnav");
    lnav.current_dir(home.path())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_DATA_HOME", home.path().join(".local/share"));
    lnav
}

/// A knob from the environment, or its default.
fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One series of measurements as a machine-readable line, for `benches/run`.
fn bench_line(row: &str, tool: &str, unit: &str, samples: &[f64]) {
    let line = serde_json::json!({"row": row, "tool": tool, "unit": unit, "samples": samples});
    println!("BENCH {line}");
}

fn main() {
    let lines = knob("RAMPART_BENCH_LINES", 1_000_000);
    let rounds = knob("RAMPART_BENCH_ROUNDS", 5);
    let dir = tempfile::tempdir().unwrap();
    let log = std::env::var_os("RAMPART_BENCH_LOG").map_or_else(|| dir.path().join("access.log"), Into::into);
    if !log.exists() {
        let partial = log.with_extension("partial");
        make_log(&partial, lines);
        std::fs::rename(&partial, &log).unwrap();
    }
    let size = std::fs::metadata(&log).unwrap().len();
    println!("{lines} combined-format lines, {:.0} MB", size as f64 / 1e6);
    let _ = std::fs::read(&log); // warm the page cache for everyone
    if std::env::var_os("RAMPART_BENCH_STAGES").is_some() {
        return stages(&log);
    }

    // The two commands in turn, so that both see the same machine; a new store each time.
    let bin = env!("CARGO_BIN_EXE_rampart");
    let lnav_home = tempfile::tempdir().unwrap();
    let lnav = lnav_in(&lnav_home).arg("-V").output().ok().filter(|v| v.status.success());
    let lnav_version = lnav.map(|v| String::from_utf8_lossy(&v.stdout).trim().to_string());
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for run in 1..=rounds {
        let db = dir.path().join(format!("run{run}.db"));
        let t0 = Instant::now();
        let out = Command::new(bin)
            .args(["--db", db.to_str().unwrap(), "ingest", "access", log.to_str().unwrap(), "--tenant", "acme"])
            .output()
            .unwrap();
        ours.push(t0.elapsed().as_secs_f64());
        let said = String::from_utf8_lossy(&out.stderr);
        // The last two lines: what was stored, then what the detection rules made of it.
        let summary: Vec<&str> = said.lines().rev().take(2).collect();
        println!(
            "rampart ingest access, run {run}: {:.2} s wall — {}",
            ours[run - 1],
            summary.into_iter().rev().collect::<Vec<_>>().join("; ")
        );
        if let Some(version) = &lnav_version {
            let t0 = Instant::now();
            let out = lnav_in(&lnav_home)
                .args(["-n", "-c", ";SELECT count(*) FROM access_log", log.to_str().unwrap()])
                .output()
                .unwrap();
            theirs.push(t0.elapsed().as_secs_f64());
            let count = String::from_utf8_lossy(&out.stdout).split_whitespace().last().unwrap_or("?").to_string();
            println!("{version} loading the same file, run {run}: {:.2} s wall ({count} rows)", theirs[run - 1]);
        }
        match std::env::var_os("RAMPART_BENCH_STORE") {
            Some(keep) if run == rounds => {
                for suffix in ["", "-wal", "-shm"] {
                    let from = format!("{}{suffix}", db.display());
                    if Path::new(&from).exists() {
                        std::fs::rename(&from, format!("{}{suffix}", Path::new(&keep).display())).unwrap();
                    }
                }
            }
            _ => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
            }
        }
    }
    if rounds == 0 {
        return;
    }
    let size = match lines {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n => n.to_string(),
    };
    let row = format!("import {size} lines");
    bench_line(&row, "rampart", "s", &ours);
    if let Some(version) = &lnav_version {
        bench_line(&row, &format!("{version} -n"), "s", &theirs);
    }
    match lnav_version {
        Some(_) => println!(
            "median of {rounds}: rampart {:.2} s, lnav {:.2} s (rampart / lnav = {:.2})",
            median(&ours),
            median(&theirs),
            median(&ours) / median(&theirs)
        ),
        None => println!(
            "median of {rounds}: rampart {:.2} s; lnav is not installed (apt-get install lnav) — not compared",
            median(&ours)
        ),
    }

    for own in ["configs", "formats"] {
        let stray = Path::new(env!("CARGO_MANIFEST_DIR")).join(own);
        assert!(!stray.exists(), "lnav wrote {} into the work tree", stray.display());
    }
    if std::env::var_os("RAMPART_BENCH_IMPORT_ONLY").is_some() {
        return;
    }

    stages(&log);
}

/// The middle value of `v` (the upper of the two middle ones for an even count).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The shortest of three runs of `f`, which returns the seconds it took.
fn best_of_3(f: &mut dyn FnMut() -> f64) -> f64 {
    (0..3).map(|_| f()).fold(f64::INFINITY, f64::min)
}

/// Each of the import's stages alone, on the same log in memory, best of 3 (one thread each; the
/// import runs them side by side on threads of their own): parsing lines into packed batches, the
/// detection rules over those batches as the import's judging thread reads them, and storing them.
/// `RAMPART_BENCH_STAGES=1` runs only these, `=judge` or `=store` only that stage after parsing
/// (for `perf record` on one stage).
fn stages(log: &Path) {
    let only = std::env::var("RAMPART_BENCH_STAGES").ok().filter(|s| s == "judge" || s == "store");
    use rampart::store::access::Bulk;
    let text = std::fs::read_to_string(log).unwrap();
    let lines = text.lines().count();
    let per_line = |secs: f64| secs * 1e9 / lines as f64;

    // Timed into one batch used again (the import's batches are handed on and freed; the heap
    // gives their room back to the next), then packed once more, untimed, for the next stages.
    let parse_into = |bulk: &mut Bulk, each_full: &mut dyn FnMut(&mut Bulk)| {
        for line in text.lines() {
            if let Ok(fields) = rampart::parse::combined::fields(line) {
                bulk.push(&fields.row("acme", "ingest:access.log"));
                if bulk.len() == 8_192 {
                    each_full(bulk);
                }
            }
        }
        each_full(bulk);
    };
    let parse = best_of_3(&mut || {
        let mut bulk = Bulk::with_capacity(8_192, 8_192 * 160);
        let t0 = Instant::now();
        parse_into(&mut bulk, &mut Bulk::clear);
        t0.elapsed().as_secs_f64()
    });
    let mut bulks = Vec::new();
    parse_into(&mut Bulk::default(), &mut |bulk| bulks.push(std::mem::take(bulk)));
    println!("stage parse (line to packed batch): {:.0} ns a line", per_line(parse));

    if only.as_deref() != Some("store") {
        judge_stage(&bulks, per_line);
    }
    if only.as_deref() != Some("judge") {
        bulk_insert_in_place_vs_copied(&bulks, per_line);
    }
}

fn judge_stage(bulks: &[rampart::store::access::Bulk], per_line: impl Fn(f64) -> f64) {
    let mut alerts = 0;
    let judge = best_of_3(&mut || {
        let mut detector = rampart::detect::Detector::new(rampart::detect::Rules::default());
        let t0 = Instant::now();
        let (mut id, mut raised) = (0, 0);
        for bulk in bulks {
            for row in bulk.rows() {
                id += 1;
                raised += detector.observe_row(id, &row).len();
            }
            raised += detector.flush().len();
        }
        alerts = raised;
        t0.elapsed().as_secs_f64()
    });
    println!("stage judge (the rules over the packed batches): {:.0} ns a line ({alerts} alerts)", per_line(judge));
}

/// What the crate's one `unsafe` module buys: the same parsed rows stored once read by SQLite
/// where they lie (the `rampart_bulk` table) and once bound row by row to 50-row statements, each
/// text copied by SQLite (`SQLITE_TRANSIENT`, rusqlite's ordinary binding), alternating, a new
/// store each time.
fn bulk_insert_in_place_vs_copied(bulks: &[rampart::store::access::Bulk], per_line: impl Fn(f64) -> f64) {
    use rampart::store::access::{self, Bulk, TextBinding};
    let rows: usize = bulks.iter().map(Bulk::len).sum();
    let dir = tempfile::tempdir().unwrap();
    let mut times = [(TextBinding::Table, Vec::new()), (TextBinding::Copied, Vec::new())];
    for run in 0..3 {
        for (binding, secs) in times.iter_mut() {
            let db = dir.path().join(format!("bind-{binding:?}-{run}.db"));
            let conn = rampart::store::open(&db, rampart::store::Access::ReadWrite).unwrap();
            let t0 = Instant::now();
            // Transactions of about 50,000 rows, as imports commit them.
            for batch in bulks.chunks(6) {
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                for bulk in batch {
                    access::insert_bulk_with(&conn, bulk, *binding).unwrap();
                }
                conn.execute_batch("COMMIT").unwrap();
            }
            secs.push(t0.elapsed().as_secs_f64());
            drop(conn);
            let _ = std::fs::remove_file(&db);
        }
    }
    let (in_place, copied) = (median(&times[0].1), median(&times[1].1));
    println!("stage store (insert and commit, read in place, median of 3): {:.0} ns a line", per_line(in_place));
    println!(
        "bulk insert of {rows} parsed rows, read in place vs bound and copied (median of 3): {in_place:.2} s vs \
         {copied:.2} s — reading in place saves {:.0}% of the insert",
        (1.0 - in_place / copied) * 100.0
    );
}
