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
use crate::integrity::{self, exit, sign, TargetCheck, Verdict, Verification};
use crate::respond::{self, Operator, Request};
use crate::sources::integrity::{config_target, resolve};
use crate::store::integrity::{self as stored, Target};
use crate::store::{self, now_ms, Access};
use crate::text::sanitize::clean_all;

/// Where keys belong (a macro, so the texts below can be put together at compile time).
macro_rules! key_help {
    () => {
        "The rsa crate's private-key operations are not constant-time (RUSTSEC-2023-0071), and a watched \
         host may be the compromised one: keep the private key on your workstation and sign there. A watched \
         host needs only the public key; verification never touches a private key. A private key readable by \
         group or others is refused."
    };
}

/// What a signature is checked against, and how to check a baseline without rampart.
macro_rules! check_help {
    () => {
        "Each target's key is pinned when it is baselined (in the store, or by key_fingerprint in its \
         [[integrity]] entry): a manifest signed by any other key is SIGNATURE INVALID (exit 2), whatever \
         public key lies beside it; changing the key is `accept NAME --new-key PRIVATE.pem`.\n\n\
         Check a baseline without rampart (RSA-PSS, SHA-256, 32-byte salt, over MANIFEST's exact bytes):\n  \
         openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \\\n      \
         -verify public.pem -signature MANIFEST.sig MANIFEST\n\
         and that public.pem is the pinned key (the fingerprint `rampart integrity list` shows):\n  \
         openssl pkey -pubin -in public.pem -outform DER | sha256sum"
    };
}

const KEY_HELP: &str = key_help!();
const CHECK_HELP: &str = check_help!();
const INTEGRITY_HELP: &str = concat!(check_help!(), "\n\n", key_help!());

#[derive(Debug, Subcommand)]
#[command(after_help = INTEGRITY_HELP)]
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
    /// Check NAME: the manifest's key against the pinned one and its signature first, then the files;
    /// exit 0 clean, 1 drift, 2 signature failure (another key, a bad or missing signature, manifest or
    /// public key), 3 usage or I/O error
    #[command(after_help = CHECK_HELP)]
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
    /// Re-baseline NAME after a legitimate change: says what it accepts (counts by kind; new set-uid
    /// files, symlinks out of the tree, unreadable files loudly), then a new signed manifest, the
    /// previous one kept beside it; audited with the reason
    #[command(after_help = INTEGRITY_HELP)]
    Accept {
        /// The target to re-baseline
        name: String,
        /// The private half of NAME's pinned key (the key its baseline was signed with)
        #[arg(long, value_name = "PRIVATE.pem", required_unless_present = "new_key", conflicts_with = "new_key")]
        key: Option<PathBuf>,
        /// Change NAME's key: sign with this private key and pin its public key instead of the old
        /// one (audited as `accept-new-key`); also pins a target registered before keys were pinned
        #[arg(long, value_name = "PRIVATE.pem")]
        new_key: Option<PathBuf>,
        /// Why the tree as it is now is right (recorded in the audit log)
        #[arg(long, value_parser = super::args::parse_reason)]
        reason: String,
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
        IntegrityCommand::Accept { name, key, new_key, reason } => {
            let signing = match (key, new_key) {
                (_, Some(path)) => Signing { path, new_key: true },
                (Some(path), None) => Signing { path, new_key: false },
                (None, None) => {
                    return fail("accept needs --key PRIVATE.pem (or --new-key PRIVATE.pem to change keys)")
                }
            };
            accept(&store_path()?, config, &name, &signing, &reason)
        }
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

/// Appends the audit row of a baseline step through the responders' one audit writer.
fn audit(conn: &Connection, request: &Request, ok: bool, message: &str, detail: serde_json::Value) -> Result<()> {
    respond::record(conn, &Operator::current(), request, ok, message, detail).wrap_err("cannot write the audit row")
}

/// In one transaction.
fn transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    store::transaction::immediate(conn, f)
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
        Err(e) => return fail(format!("cannot read {}: {}", path.display(), integrity::walk::file_reason(&e))),
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
    let made = match integrity::baseline(&root, exclude, &key, &crate::host::name(), integrity::walk::cores()) {
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
        let message = format!("baselined {name}: {} entries, key {} pinned", made.entries, made.fingerprint);
        audit(conn, &Request::Baseline { target: name.to_string() }, true, &message, detail)
    })?;
    println!("baseline {name}: {} entries of {} signed with {}", made.entries, root.display(), made.fingerprint);
    println!("  pinned key {} (only a manifest signed by it verifies)", made.fingerprint);
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
        // An operator's verification, audited as the `v` key's is.
        let request = Request::Verify { target: name.to_string() };
        transaction(&conn, |conn| Ok(respond::store_verification(conn, &Operator::current(), &request, name, &v)?))
            .wrap_err("cannot record the verification")?;
    }
    if json {
        let mut out = verification_json(&spec, &v);
        out["recorded"] = not_recorded.is_none().into();
        super::out::json_pretty(&out)?;
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

fn verification_json(spec: &TargetCheck, v: &Verification) -> serde_json::Value {
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
        "key": v.pinned_key,
        "key_found": v.fingerprint,
        "root": spec.root,
        "manifest": spec.manifest,
        "checked": v.checked,
        "changed": v.count(ChangeKind::Changed),
        "added": v.count(ChangeKind::Added),
        "removed": v.count(ChangeKind::Removed),
        "unreadable": v.count(ChangeKind::Unreadable),
        "started": crate::text::format::timestamp(v.started_ms),
        "duration_ms": v.finished_ms - v.started_ms,
        "changes": changes,
    })
}

fn print_verification(spec: &TargetCheck, v: &Verification) {
    println!("{}: {}", spec.name, v.summary());
    let found = match (&v.fingerprint, &v.pinned_key) {
        (Some(found), Some(pinned)) if found != pinned => format!(" · key beside the manifest {found}"),
        (Some(found), None) => format!(" · key beside the manifest {found}"),
        _ => String::new(),
    };
    println!(
        "  root {} · pinned key {}{found} · {:.2} s",
        spec.root.display(),
        v.pinned_key.as_deref().unwrap_or("none"),
        (v.finished_ms - v.started_ms) as f64 / 1000.0
    );
    for kind in ChangeKind::ALL {
        for c in v.changes.iter().filter(|c| c.kind == kind) {
            let path = crate::text::sanitize::clean_all(&c.display_path()).into_owned();
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
                        "status": r.status().label(), "started": crate::text::format::timestamp(r.started),
                        "duration_ms": r.duration_ms(), "checked": r.checked, "changed": r.modified, "added": r.added,
                        "removed": r.removed, "unreadable": r.unreadable, "signature_ok": r.signature_ok,
                        "problem": r.error, "key_found": r.key_fingerprint,
                    })
                });
                serde_json::json!({
                    "name": t.target.name, "tenant": t.target.tenant, "status": t.status().label(), "root": t.target.root,
                    "manifest": t.target.manifest_path, "public_key": t.target.pubkey_path, "key_fingerprint": t.fingerprint(),
                    "every_ms": t.target.every_ms, "baselined_at": t.target.baselined_at.map(crate::text::format::timestamp),
                    "last": last,
                })
            })
            .collect();
        super::out::json_pretty(&out)?;
    } else if rows.is_empty() {
        super::lists::say_no_rows();
    } else {
        out!("{:<20} {:<12} {:<18} {:<20} MANIFEST", "TARGET", "TENANT", "STATUS", "LAST VERIFIED (UTC)")?;
        for t in rows {
            out!(
                "{:<20} {:<12} {:<18} {:<20} {}",
                clean_all(&t.target.name),
                clean_all(t.target.tenant.as_deref().unwrap_or("-")),
                t.status().label(),
                t.run.as_ref().map_or_else(|| "-".to_string(), |r| crate::text::format::time(r.started)),
                clean_all(&t.target.manifest_path)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The private key `accept` signs with, and whether it is to become the target's pinned key.
struct Signing {
    path: PathBuf,
    new_key: bool,
}

/// Prints what accepting signs: its entries by type, the changes by kind, and loudly the warnings.
fn print_what_is_accepted(
    name: &str,
    before: &Verification,
    trusted: bool,
    entries: &[integrity::walk::Entry],
    w: &compare::Warnings,
) {
    let mut by_type = std::collections::BTreeMap::<&str, usize>::new();
    for e in entries {
        *by_type.entry(e.kind.name()).or_default() += 1;
    }
    let types: Vec<String> = by_type.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
    println!("accepting {name}: {} entries will be signed ({})", entries.len(), types.join(", "));
    if trusted {
        println!(
            "  since the signed baseline: {} changed, {} added, {} removed, {} unreadable",
            before.count(ChangeKind::Changed),
            before.count(ChangeKind::Added),
            before.count(ChangeKind::Removed),
            before.count(ChangeKind::Unreadable)
        );
    } else {
        println!("  NO TRUSTED BASELINE TO COMPARE WITH ({}): every entry is accepted as it is now", before.summary());
    }
    print_warnings(trusted, w);
}

/// The warnings of an acceptance, one loud list each.
fn print_warnings(trusted: bool, w: &compare::Warnings) {
    let loud = |title: &str, list: &[(String, String)]| {
        if !list.is_empty() {
            println!("  WARNING: {} {title}:", list.len());
            for (path, what) in list.iter().take(50) {
                println!(
                    "    {}  ({})",
                    crate::text::sanitize::clean_all(path),
                    crate::text::sanitize::clean_all(what)
                );
            }
            if list.len() > 50 {
                println!("    … and {} more", list.len() - 50);
            }
        }
    };
    let setuid = if trusted { "new set-uid/set-gid files" } else { "set-uid/set-gid files" };
    loud(setuid, &w.setuid);
    loud("symlinks pointing outside the tree", &w.outside);
    loud("files now unreadable", &w.unreadable);
}

/// Asks on a terminal whether to go on; off a terminal (a script that gave --reason) it goes on.
fn confirmed(question: &str) -> bool {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return true;
    }
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

fn accept(db: &Path, config: &Config, name: &str, signing: &Signing, reason: &str) -> Result<ExitCode> {
    let conn = open_store(db, config)?;
    let Some(spec) = resolve(&conn, config, name)? else {
        return fail(format!("no integrity target named {name}: `rampart integrity list` shows them"));
    };
    let key = match sign::load_private(&signing.path) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let signer = sign::fingerprint(&key.to_public_key());
    let key_path = signing.path.display();
    let new_key = match (&spec.pinned_key, signing.new_key) {
        (Some(pinned), _) if *pinned == signer => false,
        (Some(pinned), false) => {
            return fail(format!(
                "{key_path} ({signer}) is not the key pinned for {name} ({pinned}): sign with that key, or change \
                 {name}'s key with --new-key {key_path} (audited)"
            ))
        }
        (None, false) => {
            return fail(format!(
                "{name} has no pinned key (it was registered before rampart pinned keys): accept with --new-key \
                 {key_path} to pin the key you sign with ({signer}); that is audited as a change of key"
            ))
        }
        (_, true) => true,
    };
    let config_pin = config.integrity.iter().find(|t| t.name == name).and_then(|t| t.key_fingerprint.as_deref());
    if let Some(pin) = config_pin.filter(|p| sign::normalize_fingerprint(p).as_deref() != Some(signer.as_str())) {
        return fail(format!(
            "the config pins {pin} for {name} (key_fingerprint in its [[integrity]] entry): to sign with {key_path} \
             change it to \"{signer}\" first"
        ));
    }
    // What is being accepted, on record first.
    let before = integrity::verify(&spec, integrity::walk::cores());
    record(&conn, name, &before)?;
    print_verification(&spec, &before);
    let trusted = matches!(before.verdict, Verdict::Clean | Verdict::Drift);
    let exclude = match (trusted, std::fs::read(&spec.manifest).ok()) {
        (true, Some(bytes)) => integrity::manifest::parse(&bytes).map(|m| m.header.exclude).unwrap_or_default(),
        _ => spec.exclude.clone().unwrap_or_default(),
    };
    let root = std::os::unix::ffi::OsStrExt::as_bytes(spec.root.as_os_str()).to_vec();
    let made = match integrity::baseline(&spec.root, &exclude, &key, &crate::host::name(), integrity::walk::cores()) {
        Ok(b) => b,
        Err(e) => {
            let w = compare::Warnings::of_changes(&before.changes, &[], &root);
            print_warnings(trusted, &compare::Warnings { unreadable: w.unreadable, ..Default::default() });
            return fail(e);
        }
    };
    let entries = match integrity::manifest::parse(&made.bytes) {
        Ok(m) => m.entries,
        Err(e) => return fail(format!("the new manifest cannot be read back: {e}")),
    };
    let warnings = if trusted {
        compare::Warnings::of_changes(&before.changes, &entries, &root)
    } else {
        compare::Warnings::of_tree(&entries, &root)
    };
    print_what_is_accepted(name, &before, trusted, &entries, &warnings);
    if new_key {
        println!(
            "  KEY CHANGE: {name}'s pinned key {} → {signer}",
            spec.pinned_key.as_deref().unwrap_or("none (never pinned)")
        );
    }
    if !confirmed(&format!("accept this as {name}'s baseline?")) {
        eprintln!("rampart integrity: not accepted: nothing was changed");
        return Ok(ExitCode::from(exit::ERROR));
    }
    // The previous manifest, signature and (on a change of key) public key are kept beside the new
    // ones as MANIFEST.<when replaced>, MANIFEST.<when replaced>.sig and so on.
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let kept = |path: &Path| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{stamp}"));
        PathBuf::from(name)
    };
    let signature = integrity::signature_path(&spec.manifest);
    let mut moves = vec![
        (spec.manifest.clone(), kept(&spec.manifest)),
        (signature.clone(), integrity::signature_path(&kept(&spec.manifest))),
    ];
    // The public key the verifier reads is rewritten when it is not the signing key's (a change of
    // key, or a file someone replaced).
    let public_ok = sign::load_public(&spec.public_key).map(|k| sign::fingerprint(&k) == signer).unwrap_or(false);
    if !public_ok {
        moves.push((spec.public_key.clone(), kept(&spec.public_key)));
    }
    let mut previous = Vec::new();
    for (from, to) in &moves {
        if from.symlink_metadata().is_ok() {
            std::fs::rename(from, to)
                .wrap_err_with(|| format!("cannot keep {} as {}", from.display(), to.display()))?;
            previous.push(to.display().to_string());
        }
    }
    write_whole(&spec.manifest, &made.bytes)?;
    write_whole(&signature, &made.signature)?;
    if !public_ok {
        write_whole(&spec.public_key, sign::public_pem(&key.to_public_key()).as_bytes())?;
    }
    // The tree as just signed: checked against the signing key's public half, recorded as this run.
    let started = now_ms();
    let verdict = match sign::verify(&key.to_public_key(), &made.bytes, &made.signature) {
        Ok(()) => Verdict::Clean,
        Err(e) => Verdict::SignatureInvalid(e),
    };
    let after = Verification {
        verdict,
        checked: made.entries as u64,
        changes: Vec::new(),
        started_ms: started,
        finished_ms: now_ms(),
        fingerprint: Some(signer.clone()),
        pinned_key: Some(signer.clone()),
    };
    let ok = after.verdict == Verdict::Clean;
    let (run, _) = after.to_run(name);
    let list = |l: &[(String, String)]| l.iter().take(100).map(|(p, w)| format!("{p} ({w})")).collect::<Vec<_>>();
    let request = Request::Accept { target: name.to_string(), reason: reason.to_string(), new_key };
    let message = format!(
        "accepted {name}: {} entries{}",
        made.entries,
        if new_key { format!(", key changed to {signer}") } else { String::new() }
    );
    transaction(&conn, |conn| {
        stored::pin_key(conn, name, &signer, now_ms())?;
        stored::insert_run(conn, &run, &[])?;
        let detail = serde_json::json!({
            "accepted": before.summary(), "trusted_baseline": trusted,
            "changed": before.count(ChangeKind::Changed), "added": before.count(ChangeKind::Added),
            "removed": before.count(ChangeKind::Removed), "unreadable": before.count(ChangeKind::Unreadable),
            "new_setuid": list(&warnings.setuid), "symlinks_outside": list(&warnings.outside),
            "previous": previous, "manifest": spec.manifest, "entries": made.entries,
            "key": signer, "previous_key": spec.pinned_key,
        });
        audit(conn, &request, ok, &message, detail)
    })?;
    println!(
        "accepted: {name} re-baselined ({} entries) → {}; previous kept as {}",
        made.entries,
        spec.manifest.display(),
        if previous.is_empty() { "nothing (there was none)".to_string() } else { previous.join(", ") }
    );
    if new_key {
        println!("pinned key of {name} is now {signer}");
    }
    Ok(ExitCode::SUCCESS)
}
