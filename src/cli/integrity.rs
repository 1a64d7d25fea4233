//! `rampart integrity keygen|baseline|verify|list|accept`: signed baselines of file trees and their
//! verification, for the operator's workstation (signing) and scripts on the watched host.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use color_eyre::eyre::{eyre, WrapErr};
use color_eyre::Result;
use rusqlite::Connection;

use crate::config::Config;
use crate::integrity::compare::{self, ChangeKind};
use crate::integrity::{self, exit, sign, Spec, Verdict, Verification};
use crate::respond::Operator;
use crate::sources::integrity::{config_target, resolve};
use crate::store::integrity::{self as stored, Target};
use crate::store::{self, audit, now_ms, Access};

const KEY_HELP: &str = "The rsa crate's private-key operations are not constant-time (RUSTSEC-2023-0071), \
    and a watched host may be the compromised one: keep the private key on your workstation and sign there. \
    A watched host needs only the public key; verification never touches a private key. A private key \
    readable by group or others is refused.";

#[derive(Debug, Subcommand)]
#[command(after_help = KEY_HELP)]
pub enum IntegrityCommand {
    /// Make an RSA key pair in DIR: private.pem (PKCS#8, mode 0600) and public.pem (SPKI); never overwrites
    #[command(after_help = KEY_HELP)]
    Keygen {
        /// The folder to write the two files in (created 0700 if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Key size in bits
        #[arg(long, default_value_t = sign::DEFAULT_BITS, value_parser = clap::value_parser!(u16).range(2048..=8192))]
        bits: u16,
    },
    /// Walk PATH, write its signed manifest (MANIFEST and MANIFEST.sig), and register target NAME
    #[command(after_help = KEY_HELP)]
    Baseline {
        /// The target's name (how `verify`, `accept` and the console call it)
        name: String,
        /// The root of the file tree to baseline
        path: PathBuf,
        /// The private key to sign with (PKCS#8 PEM, mode 0600)
        #[arg(long, value_name = "PRIVATE.pem")]
        key: PathBuf,
        /// The tenant the files belong to (its row in the Tenants pane shows their integrity)
        #[arg(long)]
        tenant: Option<String>,
        /// Leave out entries matching GLOB: a name at any depth (`*.log`, `cache`) or, with a `/`, a
        /// path from the root (`var/cache/**`); signed into the manifest
        #[arg(long, value_name = "GLOB", num_args = 1..)]
        exclude: Vec<String>,
        /// Where to write the manifest [default: integrity/NAME/MANIFEST beside the store]
        #[arg(long, value_name = "PATH")]
        manifest: Option<PathBuf>,
        /// How often the collector re-verifies it (90s, 15m, 2h, 1d)
        #[arg(long, default_value = "1h", value_parser = integrity::parse_every)]
        every: i64,
    },
    /// Check NAME: the manifest's signature first, then the files; exit 0 clean, 1 drift, 2 signature
    /// failure, 3 usage or I/O error
    Verify {
        /// The target to verify
        name: String,
        /// One JSON object instead of text
        #[arg(long)]
        json: bool,
    },
    /// Every target with its manifest and last result
    List {
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Re-baseline NAME after a legitimate change: a new signed manifest, the previous one kept beside it
    #[command(after_help = KEY_HELP)]
    Accept {
        /// The target to re-baseline
        name: String,
        /// The private key NAME's baseline was signed with
        #[arg(long, value_name = "PRIVATE.pem")]
        key: PathBuf,
    },
}

/// An error that ends the command with exit 3.
fn fail(e: impl std::fmt::Display) -> Result<ExitCode> {
    eprintln!("rampart integrity: {e}");
    Ok(ExitCode::from(exit::ERROR))
}

pub fn run(
    store_path: &dyn Fn() -> Result<PathBuf>,
    config: &Config,
    read_only: bool,
    command: IntegrityCommand,
) -> Result<ExitCode> {
    let changes = matches!(
        command,
        IntegrityCommand::Keygen { .. } | IntegrityCommand::Baseline { .. } | IntegrityCommand::Accept { .. }
    );
    if read_only && changes {
        return fail("refused: --read-only");
    }
    match command {
        IntegrityCommand::Keygen { out, bits } => match sign::keygen(&out, bits.into()) {
            Ok((private, public)) => {
                let key = sign::load_public(&public)?;
                println!("private key {} (mode 0600: keep it on this workstation)", private.display());
                println!("public key  {} (copy it to each watched host)", public.display());
                println!("fingerprint {}", sign::fingerprint(&key));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => fail(e),
        },
        IntegrityCommand::Baseline { name, path, key, tenant, exclude, manifest, every } => {
            baseline(&store_path()?, config, &name, &path, &key, tenant, &exclude, manifest, every)
        }
        IntegrityCommand::Verify { name, json } => verify(&store_path()?, config, &name, json, read_only),
        IntegrityCommand::List { json } => list(&store_path()?, config, json),
        IntegrityCommand::Accept { name, key } => accept(&store_path()?, config, &name, &key),
    }
}

/// Opens the store and registers the config file's targets in it.
fn open_store(db: &Path, config: &Config) -> Result<Connection> {
    let conn = store::open(db, Access::ReadWrite)?;
    for t in &config.integrity {
        stored::upsert_target(&conn, &config_target(t)).wrap_err("cannot register the config's integrity targets")?;
    }
    Ok(conn)
}

fn audit_row(conn: &Connection, action: &str, name: &str, ok: bool, detail: serde_json::Value) -> Result<()> {
    let operator = Operator::current();
    audit::append(
        conn,
        &audit::NewEntry {
            ts: now_ms(),
            operator: operator.name,
            ssh_client: operator.ssh_client,
            host: operator.host,
            action: action.into(),
            target: format!("integrity target {name}"),
            reason: None,
            outcome: if ok { "ok".into() } else { "failed".into() },
            detail_json: detail.to_string(),
        },
    )
    .wrap_err("cannot write the audit row")?;
    Ok(())
}

/// In one transaction.
fn transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE").wrap_err("cannot write to the store")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT").wrap_err("cannot commit to the store")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn host() -> String {
    whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into())
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a reader never sees half.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).wrap_err_with(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes).wrap_err_with(|| format!("cannot write {}", path.display()))?;
    tmp.as_file().sync_all().wrap_err_with(|| format!("cannot write {}", path.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path).map_err(|e| eyre!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

fn openssl_hint(manifest: &Path, public: &Path) -> String {
    format!(
        "openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -verify {} -signature {} {}",
        public.display(),
        integrity::signature_path(manifest).display(),
        manifest.display()
    )
}

#[allow(clippy::too_many_arguments)]
fn baseline(
    db: &Path,
    config: &Config,
    name: &str,
    path: &Path,
    key_path: &Path,
    tenant: Option<String>,
    exclude: &[String],
    manifest: Option<PathBuf>,
    every: i64,
) -> Result<ExitCode> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return fail(format!("'{name}' cannot name a target: use letters, digits, '-' or '_'"));
    }
    let conn = open_store(db, config)?;
    if stored::find(&conn, name)?.is_some() {
        return fail(format!(
            "target {name} already exists: `rampart integrity accept {name} --key …` re-baselines it (keeping the \
             previous manifest)"
        ));
    }
    let key = match sign::load_private(key_path) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let root = match std::fs::canonicalize(path) {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot read {}: {}", path.display(), integrity::walk::io_reason(&e))),
    };
    let manifest =
        manifest.unwrap_or_else(|| db.parent().unwrap_or(Path::new(".")).join("integrity").join(name).join("MANIFEST"));
    let signature = integrity::signature_path(&manifest);
    let public = pubkey_path(&manifest);
    for p in [&manifest, &signature, &public] {
        if p.symlink_metadata().is_ok() {
            return fail(format!("{} already exists: choose another --manifest", p.display()));
        }
    }
    let made = match integrity::baseline(&root, exclude, &key, &host(), integrity::walk::cores()) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    if let Some(dir) = manifest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    }
    write_whole(&manifest, &made.bytes)?;
    write_whole(&signature, &made.signature)?;
    write_whole(&public, sign::public_pem(&key.to_public_key()).as_bytes())?;
    let target = Target {
        name: name.to_string(),
        tenant,
        root: root.display().to_string(),
        manifest_path: manifest.display().to_string(),
        pubkey_path: public.display().to_string(),
        key_fingerprint: Some(made.fingerprint.clone()),
        every_ms: Some(every),
        baselined_at: Some(now_ms()),
    };
    transaction(&conn, |conn| {
        stored::upsert_target(conn, &target)?;
        let detail = serde_json::json!({
            "root": target.root, "manifest": target.manifest_path, "entries": made.entries, "key": made.fingerprint,
            "exclude": exclude,
        });
        audit_row(conn, "baseline", name, true, detail)
    })?;
    println!("baseline {name}: {} entries of {} signed with {}", made.entries, root.display(), made.fingerprint);
    println!("  manifest   {}", manifest.display());
    println!("  signature  {}", signature.display());
    println!("  public key {}", public.display());
    println!("check it without rampart:\n  {}", openssl_hint(&manifest, &public));
    Ok(ExitCode::SUCCESS)
}

/// The copy of the public key written beside a manifest.
fn pubkey_path(manifest: &Path) -> PathBuf {
    let mut name = manifest.as_os_str().to_owned();
    name.push(".pub.pem");
    PathBuf::from(name)
}

/// Stores a verification of `name` (the run and every change) in one write.
fn record(conn: &Connection, name: &str, v: &Verification) -> Result<i64> {
    let (run, changes) = v.to_run(name);
    transaction(conn, |conn| Ok(stored::insert_run(conn, &run, &changes)?))
}

fn verify(db: &Path, config: &Config, name: &str, json: bool, read_only: bool) -> Result<ExitCode> {
    // Read-only, or on a store this user may not write: verified and shown all the same, not recorded.
    let not_recorded = if read_only { Some("read-only".to_string()) } else { store::unwritable(db) };
    let conn = match not_recorded {
        None => open_store(db, config)?,
        Some(_) => store::open(db, Access::ReadOnly)?,
    };
    let Some(spec) = resolve(&conn, config, name)? else {
        return fail(format!("no integrity target named {name}: `rampart integrity list` shows them"));
    };
    let v = integrity::verify(&spec, integrity::walk::cores());
    if not_recorded.is_none() {
        record(&conn, name, &v)?;
    }
    if json {
        let mut out = verification_json(&spec, &v);
        out["recorded"] = not_recorded.is_none().into();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_verification(&spec, &v);
    }
    if let Some(why) = not_recorded {
        eprintln!("this run was not recorded in the store: {why}");
    }
    Ok(ExitCode::from(v.exit_code()))
}

fn status_word(v: &Verification) -> &'static str {
    match v.verdict {
        Verdict::Clean => "clean",
        Verdict::Drift => "drift",
        Verdict::SignatureInvalid(_) => "signature invalid",
        Verdict::Error(_) => "error",
    }
}

fn verification_json(spec: &Spec, v: &Verification) -> serde_json::Value {
    let changes: Vec<serde_json::Value> = v
        .changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "path": c.display_path(), "kind": c.kind.as_str(), "before": c.before, "after": c.after,
            })
        })
        .collect();
    let problem = match &v.verdict {
        Verdict::SignatureInvalid(why) => Some(why.to_string()),
        Verdict::Error(why) => Some(why.clone()),
        _ => None,
    };
    serde_json::json!({
        "target": spec.name,
        "status": status_word(v),
        "exit": v.exit_code(),
        "summary": v.summary(),
        "signature_ok": v.to_run(&spec.name).0.signature_ok,
        "problem": problem,
        "key": v.fingerprint,
        "root": spec.root,
        "manifest": spec.manifest,
        "checked": v.checked,
        "changed": v.count(ChangeKind::Changed),
        "added": v.count(ChangeKind::Added),
        "removed": v.count(ChangeKind::Removed),
        "unreadable": v.count(ChangeKind::Unreadable),
        "started": crate::ui::format::timestamp(v.started_ms),
        "duration_ms": v.finished_ms - v.started_ms,
        "changes": changes,
    })
}

fn print_verification(spec: &Spec, v: &Verification) {
    println!("{}: {}", spec.name, v.summary());
    println!(
        "  root {} · key {} · {:.2} s",
        spec.root.display(),
        v.fingerprint.as_deref().unwrap_or("—"),
        (v.finished_ms - v.started_ms) as f64 / 1000.0
    );
    for kind in ChangeKind::ALL {
        for c in v.changes.iter().filter(|c| c.kind == kind) {
            let path = crate::ui::sanitize::clean_all(&c.display_path()).into_owned();
            match kind {
                ChangeKind::Changed => {
                    println!("{:<11} {path}", kind.as_str());
                    for (attr, before, after) in compare::diff_rows(&c.before, &c.after) {
                        println!("{:<13} {attr:<7} {before} → {after}", "");
                    }
                }
                ChangeKind::Added => println!("{:<11} {path}  ({})", kind.as_str(), compare::describe(&c.after)),
                ChangeKind::Removed => println!("{:<11} {path}  (was {})", kind.as_str(), compare::describe(&c.before)),
                ChangeKind::Unreadable => println!("{:<11} {path}  ({})", kind.as_str(), compare::describe(&c.after)),
            }
        }
    }
}

fn list(db: &Path, config: &Config, json: bool) -> Result<ExitCode> {
    let conn = open_store(db, config)?;
    let rows = stored::list(&conn)?;
    if json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|t| {
                let last = t.run.as_ref().map(|r| {
                    serde_json::json!({
                        "status": r.status().label(), "started": crate::ui::format::timestamp(r.started),
                        "duration_ms": r.duration_ms(), "checked": r.checked, "changed": r.modified, "added": r.added,
                        "removed": r.removed, "unreadable": r.unreadable, "signature_ok": r.signature_ok,
                        "problem": r.error,
                    })
                });
                serde_json::json!({
                    "name": t.name, "tenant": t.tenant, "status": t.status().label(), "root": t.root,
                    "manifest": t.manifest_path, "public_key": t.pubkey_path, "key_fingerprint": t.fingerprint(),
                    "every_ms": t.every_ms, "baselined_at": t.baselined_at.map(crate::ui::format::timestamp),
                    "last": last,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{:<20} {:<12} {:<18} {:<20} MANIFEST", "TARGET", "TENANT", "STATUS", "LAST VERIFIED (UTC)");
        for t in rows {
            println!(
                "{:<20} {:<12} {:<18} {:<20} {}",
                t.name,
                t.tenant.as_deref().unwrap_or("-"),
                t.status().label(),
                t.run.as_ref().map_or_else(|| "-".to_string(), |r| crate::ui::format::time(r.started)),
                t.manifest_path
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn accept(db: &Path, config: &Config, name: &str, key_path: &Path) -> Result<ExitCode> {
    let conn = open_store(db, config)?;
    let Some(spec) = resolve(&conn, config, name)? else {
        return fail(format!("no integrity target named {name}: `rampart integrity list` shows them"));
    };
    let key = match sign::load_private(key_path) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let public = match sign::load_public(&spec.public_key) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let (signing, expected) = (sign::fingerprint(&key.to_public_key()), sign::fingerprint(&public));
    if signing != expected {
        return fail(format!(
            "{} ({signing}) is not the key of {name}'s public key {} ({expected}): sign with the matching key",
            key_path.display(),
            spec.public_key.display()
        ));
    }
    // What is being accepted, on record first.
    let before = integrity::verify(&spec, integrity::walk::cores());
    record(&conn, name, &before)?;
    print_verification(&spec, &before);
    let exclude = match (&before.verdict, std::fs::read(&spec.manifest).ok()) {
        (Verdict::Clean | Verdict::Drift, Some(bytes)) => {
            integrity::manifest::parse(&bytes).map(|m| m.header.exclude).unwrap_or_default()
        }
        _ => spec.exclude.clone().unwrap_or_default(),
    };
    let made = match integrity::baseline(&spec.root, &exclude, &key, &host(), integrity::walk::cores()) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    // The previous manifest and signature are kept beside the new ones as MANIFEST.<when replaced>
    // and MANIFEST.<when replaced>.sig, a pair `verify` or openssl can still check.
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut kept_manifest = spec.manifest.as_os_str().to_owned();
    kept_manifest.push(format!(".{stamp}"));
    let kept_manifest = PathBuf::from(kept_manifest);
    let signature = integrity::signature_path(&spec.manifest);
    let mut previous = Vec::new();
    for (from, to) in [(&spec.manifest, kept_manifest.clone()), (&signature, integrity::signature_path(&kept_manifest))]
    {
        if from.exists() {
            std::fs::rename(from, &to)
                .wrap_err_with(|| format!("cannot keep {} as {}", from.display(), to.display()))?;
            previous.push(to.display().to_string());
        }
    }
    write_whole(&spec.manifest, &made.bytes)?;
    write_whole(&signature, &made.signature)?;
    // The tree as just signed: checked against the target's public key, recorded as this run.
    let started = now_ms();
    let verdict = match sign::verify(&public, &made.bytes, &made.signature) {
        Ok(()) => Verdict::Clean,
        Err(e) => Verdict::SignatureInvalid(e),
    };
    let after = Verification {
        verdict,
        checked: made.entries as u64,
        changes: Vec::new(),
        started_ms: started,
        finished_ms: now_ms(),
        fingerprint: Some(expected.clone()),
    };
    let ok = after.verdict == Verdict::Clean;
    let (run, _) = after.to_run(name);
    transaction(&conn, |conn| {
        conn.execute(
            "UPDATE integrity_targets SET baselined_at = ?, key_fingerprint = ? WHERE name = ?",
            rusqlite::params![now_ms(), expected, name],
        )?;
        stored::insert_run(conn, &run, &[])?;
        let detail = serde_json::json!({
            "accepted": before.summary(), "previous": previous, "manifest": spec.manifest,
            "entries": made.entries, "key": made.fingerprint,
        });
        audit_row(conn, "accept", name, ok, detail)
    })?;
    println!(
        "accepted: {name} re-baselined ({} entries) → {}; previous kept as {}",
        made.entries,
        spec.manifest.display(),
        if previous.is_empty() { "nothing (there was none)".to_string() } else { previous.join(", ") }
    );
    Ok(ExitCode::SUCCESS)
}
