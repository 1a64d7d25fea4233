//! Integrity verification of a large tree (`/usr/share` by default: ~650 MB, ~45,000 files) against
//! `find … -print0 | xargs -0 -P2 sha256sum` (budget: no slower) and `aide --check` with the same
//! attributes (budget: at least 15× faster). Warm cache, runs alternating, medians.
//!
//! Run: `cargo bench --bench integrity` (AIDE from Debian is timed when installed: `apt-get install
//! aide`). `RAMPART_BENCH_TREE=/some/dir` picks another tree; `RAMPART_BENCH_ROUNDS=N` the rounds.
//! Each series is also printed as one `BENCH {json}` line for `benches/run`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rampart::integrity::{self, sign, walk, TargetCheck, Verdict};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One series of measurements as a machine-readable line, for `benches/run`.
fn bench_line(row: &str, tool: &str, unit: &str, samples: &[f64]) {
    let line = serde_json::json!({"row": row, "tool": tool, "unit": unit, "samples": samples});
    println!("BENCH {line}");
}

fn seconds(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn sh(script: &str) {
    let status = Command::new("sh").arg("-c").arg(script).status().expect("sh");
    assert!(status.success(), "{script} failed");
}

/// An AIDE config checking what a rampart manifest holds: permissions, owner, group, size, mtime,
/// file type, symlink target and SHA-256.
fn aide_config(dir: &Path, tree: &Path) -> PathBuf {
    let conf = dir.join("aide.conf");
    let text = format!(
        "database_in=file:{0}/aide.db\ndatabase_out=file:{0}/aide.db.new\ngzip_dbout=no\n\
         report_url=stdout\nR = p+u+g+s+m+ftype+l+sha256\n{1} R\n",
        dir.display(),
        tree.display()
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

fn main() {
    let tree = PathBuf::from(std::env::var("RAMPART_BENCH_TREE").unwrap_or_else(|_| "/usr/share".into()));
    let rounds: usize = std::env::var("RAMPART_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let cores = walk::cores();
    println!("tree {} · {} cores · {rounds} alternating rounds, warm cache", tree.display(), cores);

    let (private, public) = sign::keygen(&dir.path().join("keys"), 3072).unwrap();
    let key = sign::load_private(&private).unwrap();
    let t = Instant::now();
    let made = integrity::baseline(&tree, &[], &key, "bench", cores).unwrap_or_else(|e| panic!("baseline: {e}"));
    println!("baseline: {} entries, {:.2} s (cold or warm, first read)", made.entries, t.elapsed().as_secs_f64());
    let manifest = dir.path().join("MANIFEST");
    std::fs::write(&manifest, &made.bytes).unwrap();
    std::fs::write(integrity::signature_path(&manifest), &made.signature).unwrap();
    let spec = TargetCheck {
        name: "bench".into(),
        root: tree.clone(),
        manifest,
        public_key: public,
        pinned_key: Some(made.fingerprint.clone()),
        exclude: None,
    };

    let files = format!("find {} -type f -print0", tree.display());
    let sha256sum = format!("{files} | xargs -0 -P2 sha256sum > /dev/null");
    let aide = Command::new("aide").arg("--version").output().is_ok_and(|o| o.status.success());
    let conf = aide_config(dir.path(), &tree);
    if aide {
        let conf = conf.display();
        sh(&format!("aide --init -c {conf} > /dev/null 2>&1; mv {0}/aide.db.new {0}/aide.db", dir.path().display()));
    } else {
        println!("aide is not installed: `apt-get install aide` to time it");
    }
    // Warm the cache for everyone.
    sh(&sha256sum);
    let verify = || {
        let v = integrity::verify(&spec, cores);
        // Files under /usr/share may change between rounds (a package upgrade); only a bad
        // signature or an error would make the figure meaningless.
        assert!(matches!(v.verdict, Verdict::Clean | Verdict::Drift), "{}", v.summary());
    };
    verify();

    let (mut ours, mut theirs, mut aide1, mut aide2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        ours.push(seconds(verify));
        theirs.push(seconds(|| sh(&sha256sum)));
        if aide {
            // aide --check exits with a bit mask of what differed; only its time matters here.
            let check = |workers: &str| {
                let conf = conf.display();
                let _ = Command::new("sh")
                    .arg("-c")
                    .arg(format!("aide --check -c {conf} {workers} > /dev/null 2>&1"))
                    .status();
            };
            aide1.push(seconds(|| check("")));
            aide2.push(seconds(|| check("--workers 2")));
        }
        println!(
            "round {}: rampart {:.2} s, sha256sum -P2 {:.2} s{}",
            round + 1,
            ours[round],
            theirs[round],
            if aide {
                format!(", aide {:.2} s, aide --workers 2 {:.2} s", aide1[round], aide2[round])
            } else {
                String::new()
            }
        );
    }
    let row = "integrity verify";
    bench_line(row, "rampart", "s", &ours);
    bench_line(row, "sha256sum -P2", "s", &theirs);
    if aide {
        bench_line(row, "aide --check", "s", &aide1);
        bench_line(row, "aide --check --workers 2", "s", &aide2);
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!("median: rampart integrity verify {ours:.2} s");
    println!(
        "median: find | xargs -0 -P2 sha256sum {theirs:.2} s  → rampart takes {:.2}× its time (budget ≤ 1)",
        ours / theirs
    );
    if aide {
        let (a1, a2) = (median(aide1), median(aide2));
        println!("median: aide --check {a1:.2} s  → rampart is {:.1}× faster (budget ≥ 15)", a1 / ours);
        println!("median: aide --check --workers 2 {a2:.2} s  → rampart is {:.1}× faster", a2 / ours);
    }
}
