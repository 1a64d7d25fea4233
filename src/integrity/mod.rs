//! File integrity: walk and hash a tree, write it as a canonical manifest signed with RSA-PSS, and
//! later check the signature first and then the tree against it.

pub mod compare;
pub mod manifest;
pub mod sign;
pub mod walk;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

use compare::{Change, ChangeKind};
use sign::SignatureFailure;
use walk::Excludes;

/// `[[integrity]]` in the config file: a tree the collector re-verifies on a schedule.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub name: String,
    pub root: PathBuf,
    /// The signed manifest; its signature is `<manifest>.sig`.
    pub manifest: PathBuf,
    /// The public key that signed it (the private key never needs to be on this host).
    pub public_key: PathBuf,
    /// The key to trust, pinned here (`SHA256:…`, as `keygen` and `baseline` print it): any other
    /// key in `public_key` is a signature failure. Without it, the key `accept` pinned in the store.
    pub key_fingerprint: Option<String>,
    pub tenant: Option<String>,
    /// When given, must equal the exclude list signed into the manifest (which is what applies).
    pub exclude: Option<Vec<String>>,
    /// How often to re-verify: `90s`, `15m`, `2h`, `1d` [default: 1h].
    pub every: Option<String>,
}

/// How often a target without its own `every` is re-verified.
pub const DEFAULT_EVERY_MS: i64 = 3_600_000;

/// `15m` → 900,000 ms. Units: s, m, h, d.
pub fn parse_every(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| format!("'{text}' is not a duration like 90s, 15m, 2h or 1d"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("'{text}' is not a duration like 90s, 15m, 2h or 1d")),
    };
    match n.checked_mul(unit_ms) {
        Some(ms) if ms >= 10_000 => Ok(ms),
        _ => Err(format!("'{text}' is too short or too long: verify at most every 10s")),
    }
}

/// Where a manifest's detached signature lives: `<manifest>.sig`.
pub fn signature_path(manifest: &Path) -> PathBuf {
    let mut name = manifest.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// A signed manifest, ready to write.
pub struct Baseline {
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
    pub entries: usize,
    pub fingerprint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error(transparent)]
    Walk(#[from] walk::WalkError),
    #[error(transparent)]
    Key(#[from] sign::KeyError),
    #[error(
        "{} entries could not be read, so the baseline would not be whole:\n{}\nexclude them (--exclude) \
         or make them readable, then try again",
        .0.len(),
        .0.iter().take(20).map(|(p, why)| format!("  {p}: {why}")).collect::<Vec<_>>().join("\n")
    )]
    Unreadable(Vec<(String, String)>),
}

/// Walks `root` and signs its manifest with `key`. Any entry that cannot be read fails the baseline.
pub fn baseline(
    root: &Path,
    exclude: &[String],
    key: &rsa::RsaPrivateKey,
    host: &str,
    threads: usize,
) -> Result<Baseline, BaselineError> {
    let excludes = Excludes::new(exclude)?;
    let walked = walk::walk(root, &excludes, threads)?;
    if !walked.unreadable.is_empty() {
        return Err(BaselineError::Unreadable(
            walked.unreadable.iter().map(|(p, why)| (String::from_utf8_lossy(p).into_owned(), why.clone())).collect(),
        ));
    }
    let fingerprint = sign::fingerprint(&key.to_public_key());
    let header = manifest::Header {
        tool: format!("rampart/{}", env!("CARGO_PKG_VERSION")),
        host: host.to_string(),
        root: std::os::unix::ffi::OsStrExt::as_bytes(root.as_os_str()).to_vec(),
        key: fingerprint.clone(),
        exclude: exclude.to_vec(),
    };
    let bytes = manifest::render(&header, &walked.entries);
    let signature = sign::sign(key, &bytes)?;
    Ok(Baseline { bytes, signature, entries: walked.entries.len(), fingerprint })
}

/// What a target is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCheck {
    pub name: String,
    pub root: PathBuf,
    pub manifest: PathBuf,
    pub public_key: PathBuf,
    /// The fingerprint of the only key whose signature counts (pinned at baseline, in the store or
    /// the config); `None` for a target registered before keys were pinned: nothing verifies.
    pub pinned_key: Option<String>,
    /// The config's exclude list, which must match the signed one when given.
    pub exclude: Option<Vec<String>>,
}

/// The outcome of a verification, worst first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing in the manifest is trusted, and no file was compared.
    SignatureInvalid(SignatureFailure),
    /// The check could not be done (a file missing, the root gone, a bad key file).
    Error(String),
    Drift,
    Clean,
}

/// Exit codes of `rampart integrity verify`.
pub mod exit {
    pub const CLEAN: u8 = 0;
    pub const DRIFT: u8 = 1;
    pub const SIGNATURE: u8 = 2;
    pub const ERROR: u8 = 3;
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub verdict: Verdict,
    /// Entries in the baseline (what was checked).
    pub checked: u64,
    pub changes: Vec<Change>,
    pub started_ms: i64,
    pub finished_ms: i64,
    /// Of the public key found beside the manifest, once it was read.
    pub fingerprint: Option<String>,
    /// Of the key pinned for the target (what the found key must be).
    pub pinned_key: Option<String>,
}

impl Verification {
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Clean => exit::CLEAN,
            Verdict::Drift => exit::DRIFT,
            Verdict::SignatureInvalid(_) => exit::SIGNATURE,
            Verdict::Error(_) => exit::ERROR,
        }
    }

    pub fn count(&self, kind: ChangeKind) -> i64 {
        self.changes.iter().filter(|c| c.kind == kind).count() as i64
    }

    /// One line: `clean`, `drift: 3 changed, 1 added…`, `SIGNATURE INVALID: …`, `error: …`.
    pub fn summary(&self) -> String {
        match &self.verdict {
            Verdict::Clean => format!("clean: {} entries match the signed baseline", self.checked),
            Verdict::Drift => format!(
                "DRIFT: {} changed, {} added, {} removed, {} unreadable (of {} entries in the signed baseline)",
                self.count(ChangeKind::Changed),
                self.count(ChangeKind::Added),
                self.count(ChangeKind::Removed),
                self.count(ChangeKind::Unreadable),
                self.checked
            ),
            Verdict::SignatureInvalid(why) => {
                format!("SIGNATURE INVALID: {why} — nothing in the manifest is trusted; no files were compared")
            }
            Verdict::Error(why) => format!("error: {why}"),
        }
    }

    /// The store's run row and change rows for this verification of `target`.
    pub fn to_run(&self, target: &str) -> (crate::store::integrity::Run, Vec<crate::store::integrity::Change>) {
        let run = crate::store::integrity::Run {
            target: target.to_string(),
            started: self.started_ms,
            finished: Some(self.finished_ms),
            signature_ok: match &self.verdict {
                Verdict::SignatureInvalid(_) => Some(false),
                Verdict::Error(_) if self.fingerprint.is_none() || self.checked == 0 => None,
                _ => Some(true),
            },
            checked: self.checked as i64,
            modified: self.count(ChangeKind::Changed),
            added: self.count(ChangeKind::Added),
            removed: self.count(ChangeKind::Removed),
            unreadable: self.count(ChangeKind::Unreadable),
            error: match &self.verdict {
                Verdict::SignatureInvalid(why) => Some(why.to_string()),
                Verdict::Error(why) => Some(why.clone()),
                _ => None,
            },
            key_fingerprint: self.fingerprint.clone(),
        };
        let changes = self
            .changes
            .iter()
            .map(|c| crate::store::integrity::Change {
                path: c.display_path(),
                kind: c.kind.as_str().to_string(),
                before_json: (!c.before.is_empty()).then(|| serde_json::Value::Object(c.before.clone()).to_string()),
                after_json: (!c.after.is_empty()).then(|| serde_json::Value::Object(c.after.clone()).to_string()),
            })
            .collect();
        (run, changes)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Verifies a target: the signature over the manifest's exact bytes first (with the public key
/// only), then a fresh walk of the root compared with the signed entries.
pub fn verify(spec: &TargetCheck, threads: usize) -> Verification {
    let started_ms = now_ms();
    let clock = Instant::now();
    let mut v = Verification {
        verdict: Verdict::Clean,
        checked: 0,
        changes: Vec::new(),
        started_ms,
        finished_ms: started_ms,
        fingerprint: None,
        pinned_key: spec.pinned_key.clone(),
    };
    let finish = |mut v: Verification, verdict: Verdict| {
        v.verdict = verdict;
        v.finished_ms = started_ms + clock.elapsed().as_millis() as i64;
        v
    };
    // All three files first: any that is missing is a signature failure, named.
    let mut missing = Vec::new();
    let mut take = |path: &Path, what: &str| match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            missing.push(format!("the {what} {}", path.display()));
            Ok(Vec::new())
        }
        Err(e) => Err(format!("cannot read the {what} {}: {}", path.display(), walk::io_reason(&e))),
    };
    let (bytes, signature, public_pem) = match (
        take(&spec.manifest, "manifest"),
        take(&signature_path(&spec.manifest), "signature"),
        take(&spec.public_key, "public key"),
    ) {
        (Ok(m), Ok(s), Ok(k)) => (m, s, k),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return finish(v, Verdict::Error(e)),
    };
    if !missing.is_empty() {
        return finish(v, Verdict::SignatureInvalid(SignatureFailure::Missing(missing)));
    }
    let key = match sign::parse_public(&spec.public_key, &public_pem) {
        Ok(k) => k,
        Err(e) => return finish(v, Verdict::SignatureInvalid(SignatureFailure::UnusableKey(e.to_string()))),
    };
    let fingerprint = sign::fingerprint(&key);
    v.fingerprint = Some(fingerprint.clone());
    // The key must be the pinned one before its signature means anything.
    match &spec.pinned_key {
        None => {
            let failure = SignatureFailure::NotPinned { target: spec.name.clone(), found: fingerprint };
            return finish(v, Verdict::SignatureInvalid(failure));
        }
        Some(pinned) if *pinned != fingerprint => {
            let target = spec.name.clone();
            let failure = SignatureFailure::UnpinnedKey { target, found: fingerprint, pinned: pinned.clone() };
            return finish(v, Verdict::SignatureInvalid(failure));
        }
        Some(_) => {}
    }
    if let Err(failure) = sign::verify(&key, &bytes, &signature) {
        // Nothing in the manifest is trusted; its key line only helps say what went wrong.
        let claimed = claimed_key(&bytes).filter(|k| *k != fingerprint);
        let failure = match (failure, claimed) {
            (SignatureFailure::Mismatch, Some(claimed)) => {
                SignatureFailure::OtherKey { claimed, expected: fingerprint }
            }
            (failure, _) => failure,
        };
        return finish(v, Verdict::SignatureInvalid(failure));
    }
    let manifest = match manifest::parse(&bytes) {
        Ok(m) => m,
        Err(e) => return finish(v, Verdict::SignatureInvalid(SignatureFailure::Malformed(e.to_string()))),
    };
    if manifest.header.key != fingerprint {
        let failure = SignatureFailure::OtherKey { claimed: manifest.header.key.clone(), expected: fingerprint };
        return finish(v, Verdict::SignatureInvalid(failure));
    }
    v.checked = manifest.entries.len() as u64;
    if let Some(config) = &spec.exclude {
        if *config != manifest.header.exclude {
            let why = format!(
                "the config's exclude list ({}) differs from the one signed into the manifest ({}): \
                 re-baseline, or make them equal",
                config.join(" "),
                manifest.header.exclude.join(" ")
            );
            return finish(v, Verdict::Error(why));
        }
    }
    let excludes = match Excludes::new(&manifest.header.exclude) {
        Ok(x) => x,
        Err(e) => return finish(v, Verdict::Error(e.to_string())),
    };
    let walked = match walk::walk(&spec.root, &excludes, threads) {
        Ok(w) => w,
        Err(e) => return finish(v, Verdict::Error(e.to_string())),
    };
    v.changes = compare::compare(&manifest.entries, &walked);
    let verdict = if v.changes.is_empty() { Verdict::Clean } else { Verdict::Drift };
    finish(v, verdict)
}

/// The `key` line of an unverified manifest, for diagnosis only.
fn claimed_key(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    text.lines().find_map(|l| l.strip_prefix("key ")).map(|k| k.chars().take(80).collect())
}
