//! File integrity on real files in temp dirs, through the real binary: signed baselines, every kind
//! of drift with its attributes, tampered manifests and signatures (checked by openssl too), the
//! exit codes, and what reaches the store.

use crate::support;
use crate::support::tmux;
use crate::support::Homed;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::BIN;

/// One key pair for every test (2048 bits: key generation is the slow part), kept in the target
/// folder between runs.
fn keys() -> (&'static PathBuf, &'static PathBuf) {
    static KEYS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    let (private, public) = KEYS.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("integrity-test-keys");
        let (private, public) = (out.join("private.pem"), out.join("public.pem"));
        if !(private.exists() && public.exists()) {
            let _ = fs::remove_dir_all(&out);
            let o = run_in(
                Path::new(env!("CARGO_TARGET_TMPDIR")),
                &["integrity", "keygen", "--out", out.to_str().unwrap(), "--bits", "2048"],
            );
            assert!(o.status.success(), "{}", text(&o));
        }
        (private, public)
    });
    (private, public)
}

fn run_in(home: &Path, args: &[&str]) -> Output {
    crate::support::rampart().args(args).home(home).env("RAMPART_DB", home.join("store.db")).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A temp dir with a small tree in `tree/` and a store, baselined as target `web`.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let lab = Lab { dir: tempfile::tempdir().unwrap() };
        let t = lab.tree();
        fs::create_dir_all(t.join("etc")).unwrap();
        fs::create_dir_all(t.join("bin")).unwrap();
        fs::write(t.join("etc/app.conf"), "listen 8080\n").unwrap();
        fs::write(t.join("bin/app"), vec![0x7f; 300_000]).unwrap();
        fs::set_permissions(t.join("bin/app"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(t.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        symlink("app.conf", t.join("etc/current")).unwrap();
        lab
    }

    fn tree(&self) -> PathBuf {
        self.dir.path().join("tree")
    }

    fn run(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), args)
    }

    fn baseline(&self, name: &str) -> Output {
        let (private, _) = keys();
        self.run(&["integrity", "baseline", name, self.tree().to_str().unwrap(), "--key", private.to_str().unwrap()])
    }

    fn manifest(&self, name: &str) -> PathBuf {
        self.dir.path().join("integrity").join(name).join("MANIFEST")
    }

    /// `verify --json`: the exit code and the report.
    fn verify(&self, name: &str) -> (i32, Value) {
        let o = self.run(&["integrity", "verify", name, "--json"]);
        let report = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        (o.status.code().unwrap_or(-1), report)
    }

    /// The binary without the capabilities that let root read anything (CAP_DAC_OVERRIDE,
    /// CAP_DAC_READ_SEARCH), as an unprivileged walk would be.
    fn run_unprivileged(&self, args: &[&str]) -> Output {
        Command::new("setpriv")
            .args(["--bounding-set=-dac_override,-dac_read_search", BIN])
            .args(args)
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("RAMPART_DB", self.dir.path().join("store.db"))
            .output()
            .expect("setpriv (util-linux) runs the walk without root's read-anything capabilities")
    }

    fn verify_unprivileged(&self, name: &str) -> (i32, Value) {
        let o = self.run_unprivileged(&["integrity", "verify", name, "--json"]);
        let report = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        (o.status.code().unwrap_or(-1), report)
    }

    fn store(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("store.db")).unwrap()
    }

    /// A second key pair, made in the lab.
    fn other_key(&self) -> PathBuf {
        let other = self.dir.path().join("other");
        let o = self.run(&["integrity", "keygen", "--out", other.to_str().unwrap(), "--bits", "2048"]);
        assert!(o.status.success(), "{}", text(&o));
        other
    }
}

/// A key's fingerprint as openssl computes it: `SHA256:` and the hex SHA-256 of its DER form.
fn openssl_fingerprint(public: &Path) -> String {
    let der = Command::new("openssl").args(["pkey", "-pubin", "-outform", "DER", "-in"]).arg(public).output().unwrap();
    assert!(der.status.success());
    let sum = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            std::io::Write::write_all(c.stdin.as_mut().unwrap(), &der.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    format!("SHA256:{}", String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap())
}

fn baselined() -> Lab {
    let lab = Lab::new();
    let o = lab.baseline("web");
    assert!(o.status.success(), "{}", text(&o));
    lab
}

/// The changes of a report as (path, kind) → change.
fn change<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .unwrap_or_else(|| panic!("no change for {path}: {report:#}"))
}

/// The change of `kind` for `path`.
fn change_of<'a>(report: &'a Value, path: &str, kind: &str) -> &'a Value {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path && c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} change for {path}: {report:#}"))
}

fn changed_attributes(c: &Value) -> Vec<String> {
    let mut keys: Vec<String> = c["after"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn set_mtime(path: &Path, to: std::time::SystemTime) {
    fs::File::options().write(true).open(path).unwrap().set_modified(to).unwrap();
}

fn is_root() -> bool {
    // The effective uid owns a file this process makes.
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().unwrap()) == 0
}

#[test]
fn an_unchanged_tree_verifies_clean_and_is_stored() {
    let lab = baselined();
    let (code, report) = lab.verify("web");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "clean");
    assert_eq!(report["checked"], 7, "root, 2 dirs, 3 files, 1 symlink: {report:#}");
    let conn = rusqlite::Connection::open(lab.dir.path().join("store.db")).unwrap();
    let (sig, checked): (bool, i64) = conn
        .query_row("SELECT signature_ok, checked FROM integrity_runs WHERE target = 'web'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(sig);
    assert_eq!(checked, 7);
}

#[test]
fn content_changed_at_the_same_size_and_time_is_a_hash_change() {
    let lab = baselined();
    let conf = lab.tree().join("etc/app.conf");
    let mtime = fs::metadata(&conf).unwrap().modified().unwrap();
    fs::write(&conf, "listen 6666\n").unwrap();
    set_mtime(&conf, mtime);
    let (code, report) = lab.verify("web");
    assert_eq!(code, 1, "{report:#}");
    let c = change(&report, "etc/app.conf");
    assert_eq!(c["kind"], "changed");
    assert_eq!(changed_attributes(c), ["sha256"], "only the content: {c:#}");
    assert_ne!(c["before"]["sha256"], c["after"]["sha256"]);
    assert_eq!(report["changes"].as_array().unwrap().len(), 1, "{report:#}");
}

#[test]
fn mode_owner_and_mtime_changes_name_each_attribute() {
    let lab = baselined();
    let t = lab.tree();
    fs::set_permissions(t.join("bin/app"), fs::Permissions::from_mode(0o4755)).unwrap();
    let hosts = t.join("etc/hosts");
    set_mtime(&hosts, std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000));
    if is_root() {
        std::os::unix::fs::chown(t.join("etc/app.conf"), Some(1234), Some(5678)).unwrap();
    }
    let (code, report) = lab.verify("web");
    assert_eq!(code, 1, "{report:#}");
    let app = change(&report, "bin/app");
    assert_eq!(changed_attributes(app), ["mode"]);
    assert_eq!((app["before"]["mode"].as_str(), app["after"]["mode"].as_str()), (Some("0755"), Some("4755")));
    let hosts = change(&report, "etc/hosts");
    assert_eq!(changed_attributes(hosts), ["mtime"]);
    assert_eq!(hosts["after"]["mtime"], "2001-09-09 01:46:40.000000000 UTC");
    if is_root() {
        let conf = change(&report, "etc/app.conf");
        assert_eq!(changed_attributes(conf), ["gid", "uid"]);
        assert_eq!((conf["before"]["uid"].as_u64(), conf["after"]["uid"].as_u64()), (Some(0), Some(1234)));
        assert_eq!(conf["after"]["gid"], 5678);
    } else {
        eprintln!("not root: the owner change is not tested");
    }
}

#[test]
fn added_removed_and_a_file_replaced_by_a_symlink() {
    let lab = baselined();
    let t = lab.tree();
    fs::write(t.join("bin/implant"), "#!/bin/sh\n").unwrap();
    fs::remove_file(t.join("etc/current")).unwrap();
    fs::remove_file(t.join("etc/hosts")).unwrap();
    symlink("/etc/shadow", t.join("etc/hosts")).unwrap();
    let (code, report) = lab.verify("web");
    assert_eq!(code, 1, "{report:#}");
    let added = change(&report, "bin/implant");
    assert_eq!(added["kind"], "added");
    assert_eq!(added["after"]["type"], "file");
    let removed = change(&report, "etc/current");
    assert_eq!(removed["kind"], "removed");
    assert_eq!(removed["before"]["target"], "app.conf");
    let replaced = change(&report, "etc/hosts");
    assert_eq!(replaced["kind"], "changed");
    assert_eq!(
        (replaced["before"]["type"].as_str(), replaced["after"]["type"].as_str()),
        (Some("file"), Some("symlink"))
    );
    assert_eq!(replaced["after"]["target"], "/etc/shadow");
    assert!(replaced["before"]["sha256"].is_string() && replaced["after"]["sha256"].is_null(), "{replaced:#}");
    assert_eq!((report["added"].as_i64(), report["removed"].as_i64()), (Some(1), Some(1)));
}

#[test]
fn two_baselines_of_an_unchanged_tree_are_byte_for_byte_the_same() {
    let lab = baselined();
    assert!(lab.baseline("web-again").status.success());
    let (a, b) = (fs::read(lab.manifest("web")).unwrap(), fs::read(lab.manifest("web-again")).unwrap());
    assert!(a.starts_with(b"rampart integrity manifest 1\n"), "{}", String::from_utf8_lossy(&a));
    assert_eq!(a, b, "same tree, same bytes");
}

fn openssl_verify(lab: &Lab, name: &str) -> Output {
    let (_, public) = keys();
    let m = lab.manifest(name);
    Command::new("openssl")
        .args(["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-verify"])
        .arg(public)
        .arg("-signature")
        .arg(m.with_file_name("MANIFEST.sig"))
        .arg(&m)
        .output()
        .expect("openssl must be installed (the test command installs it)")
}

#[test]
fn openssl_checks_the_signature_without_rampart() {
    let lab = baselined();
    let o = openssl_verify(&lab, "web");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "Verified OK");
    let m = lab.manifest("web");
    let mut bytes = fs::read(&m).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    fs::write(&m, bytes).unwrap();
    assert!(!openssl_verify(&lab, "web").status.success(), "openssl refuses a flipped bit too");
}

#[test]
fn a_flipped_bit_in_the_manifest_is_a_signature_failure() {
    let lab = baselined();
    let m = lab.manifest("web");
    let mut bytes = fs::read(&m).unwrap();
    // A bit in the middle of an entry: a hash or a size, what an attacker would change.
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    fs::write(&m, bytes).unwrap();
    let (code, report) = lab.verify("web");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["status"], "signature invalid");
    assert_eq!(report["signature_ok"], false);
    assert!(report["problem"].as_str().unwrap().contains("does not match its signature"), "{report:#}");
    assert!(report["changes"].as_array().unwrap().is_empty(), "nothing in a bad manifest is trusted");
    let o = lab.run(&["integrity", "verify", "web"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("SIGNATURE INVALID"), "{}", text(&o));
}

#[test]
fn a_truncated_signature_is_a_signature_failure() {
    let lab = baselined();
    let sig = lab.manifest("web").with_file_name("MANIFEST.sig");
    let bytes = fs::read(&sig).unwrap();
    fs::write(&sig, &bytes[..bytes.len() - 1]).unwrap();
    let (code, report) = lab.verify("web");
    assert_eq!(code, 2, "{report:#}");
    assert!(report["problem"].as_str().unwrap().contains("255 bytes where a 2048-bit key's is 256"), "{report:#}");
}

#[test]
fn a_manifest_signed_by_another_key_is_a_signature_failure() {
    let lab = baselined();
    let other = lab.dir.path().join("other");
    let o = lab.run(&["integrity", "keygen", "--out", other.to_str().unwrap(), "--bits", "2048"]);
    assert!(o.status.success(), "{}", text(&o));
    // The same tree baselined with the other key, and its manifest put in place of web's.
    let o = lab.run(&[
        "integrity",
        "baseline",
        "intruder",
        lab.tree().to_str().unwrap(),
        "--key",
        other.join("private.pem").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    fs::copy(lab.manifest("intruder"), lab.manifest("web")).unwrap();
    fs::copy(
        lab.manifest("intruder").with_file_name("MANIFEST.sig"),
        lab.manifest("web").with_file_name("MANIFEST.sig"),
    )
    .unwrap();
    let (code, report) = lab.verify("web");
    assert_eq!(code, 2, "{report:#}");
    assert!(report["problem"].as_str().unwrap().contains("is not signed by the target's key"), "{report:#}");
}

#[test]
fn special_files_and_symlink_loops_are_recorded_never_followed() {
    let lab = Lab::new();
    let t = lab.tree();
    let fifo = t.join("etc/pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    symlink("loop-b", t.join("loop-a")).unwrap();
    symlink("loop-a", t.join("loop-b")).unwrap();
    symlink("..", t.join("etc/up")).unwrap();
    assert!(lab.baseline("web").status.success());
    let manifest = fs::read_to_string(lab.manifest("web")).unwrap();
    assert!(manifest.contains("\netc/pipe p 0 "), "{manifest}");
    assert!(manifest.contains(" - loop-b\n") && manifest.contains("\netc/up l 2 "), "{manifest}");
    let (code, report) = lab.verify("web");
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn an_unreadable_file_is_reported_as_unreadable() {
    // As root, permissions do not stop reads: the verification runs without the capabilities that
    // let root read anything (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), as an unprivileged walk would.
    let lab = baselined();
    let secret = lab.tree().join("etc/secret");
    fs::write(&secret, "token").unwrap();
    // Re-baseline with the secret in it (root can read it), then lock it: its mode changes and
    // it cannot be read, and both are reported.
    let (private, _) = keys();
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap(), "--reason", "secret added"]);
    assert!(o.status.success(), "{}", text(&o));
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    let (code, report) = lab.verify_unprivileged("web");
    if !is_root() {
        eprintln!("not root: unreadable covered only as far as permissions go");
    }
    assert_eq!(code, 1, "{report:#}");
    let c = change_of(&report, "etc/secret", "unreadable");
    assert_eq!(c["after"]["error"], "permission denied");
    assert_eq!(c["before"]["type"], "file", "what the baseline knew is kept: {c:#}");
    let mode = change_of(&report, "etc/secret", "changed");
    assert_eq!(changed_attributes(mode), ["mode"], "the mode change is not lost: {report:#}");
    assert_eq!((mode["before"]["mode"].as_str(), mode["after"]["mode"].as_str()), (Some("0644"), Some("0000")));
    assert_eq!((report["unreadable"].as_i64(), report["changed"].as_i64()), (Some(1), Some(1)));
    assert_eq!(report["changes"].as_array().unwrap().len(), 2, "{report:#}");
    let o = lab.run_unprivileged(&["integrity", "verify", "web"]);
    let out = text(&o);
    assert!(out.contains("0644 → 0000") && out.contains("permission denied"), "{out}");
}

#[test]
fn a_new_unreadable_file_is_counted_as_added_too() {
    let lab = baselined();
    let secret = lab.tree().join("etc/new-secret");
    fs::write(&secret, "token").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    let (code, report) = lab.verify_unprivileged("web");
    assert_eq!(code, 1, "{report:#}");
    let added = change_of(&report, "etc/new-secret", "added");
    assert_eq!((added["after"]["type"].as_str(), added["after"]["mode"].as_str()), (Some("file"), Some("0000")));
    assert_eq!(change_of(&report, "etc/new-secret", "unreadable")["after"]["error"], "permission denied");
    assert_eq!((report["added"].as_i64(), report["unreadable"].as_i64()), (Some(1), Some(1)), "{report:#}");
    // Accepting says so loudly, and refuses: a baseline must be whole.
    let (private, _) = keys();
    let o = lab.run_unprivileged(&["integrity", "accept", "web", "--key", private.to_str().unwrap(), "--reason", "x"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("WARNING: 1 files now unreadable") && out.contains("etc/new-secret"), "{out}");
}

#[test]
fn exit_codes_for_usage_and_io_errors() {
    let lab = baselined();
    let o = lab.run(&["integrity", "verify", "nosuch"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("no integrity target named nosuch"), "{}", text(&o));
    let o = lab.run(&["integrity", "verify"]);
    assert_eq!(o.status.code(), Some(3), "a usage error: {}", text(&o));
    let (private, _) = keys();
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "accept wants a reason: {}", text(&o));
    assert!(text(&o).contains("--reason"), "{}", text(&o));
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap(), "--reason", " "]);
    assert_eq!(o.status.code(), Some(3), "a blank reason is none: {}", text(&o));
    assert!(text(&o).contains("a reason is required"), "{}", text(&o));
    let accepts: i64 =
        lab.store().query_row("SELECT count(*) FROM audit WHERE action LIKE 'accept%'", [], |r| r.get(0)).unwrap();
    assert_eq!(accepts, 0, "nothing was accepted");
    // A key or a root that is not there is said so, not "vanished during the walk".
    let nokey = lab.dir.path().join("no-key.pem");
    let o = lab.run(&["integrity", "accept", "web", "--key", nokey.to_str().unwrap(), "--reason", "x"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains(&format!("cannot read {}: no such file or folder", nokey.display())), "{}", text(&o));
    fs::rename(lab.tree(), lab.dir.path().join("moved")).unwrap();
    let (code, report) = lab.verify("web");
    assert_eq!(code, 3, "{report:#}");
    let problem = report["problem"].as_str().unwrap();
    assert!(problem.contains("cannot read the root") && problem.ends_with("no such file or folder"), "{problem}");
}

#[test]
fn a_missing_manifest_signature_or_public_key_is_a_signature_failure_naming_it() {
    let lab = baselined();
    let manifest = lab.manifest("web");
    let signature = manifest.with_file_name("MANIFEST.sig");
    let public = manifest.with_file_name("MANIFEST.pub.pem");
    for (gone, what) in [(&manifest, "the manifest"), (&signature, "the signature"), (&public, "the public key")] {
        let kept = lab.dir.path().join("kept");
        fs::rename(gone, &kept).unwrap();
        let (code, report) = lab.verify("web");
        assert_eq!(code, 2, "{report:#}");
        assert_eq!(report["status"], "signature invalid", "{report:#}");
        let problem = report["problem"].as_str().unwrap();
        assert!(problem.contains(&format!("missing: {what} {}", gone.display())), "{problem}");
        let o = lab.run(&["integrity", "verify", "web"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o).contains("SIGNATURE INVALID: missing: "), "{}", text(&o));
        fs::rename(&kept, gone).unwrap();
    }
    for f in [&manifest, &signature, &public] {
        fs::remove_file(f).unwrap();
    }
    let (code, report) = lab.verify("web");
    assert_eq!(code, 2, "{report:#}");
    let problem = report["problem"].as_str().unwrap();
    assert!(
        problem.contains(&format!(
            "missing: the manifest {}, the signature {}, the public key {}",
            manifest.display(),
            signature.display(),
            public.display()
        )),
        "{problem}"
    );
    let list: Value = serde_json::from_slice(&lab.run(&["integrity", "list", "--json"]).stdout).unwrap();
    assert_eq!(list[0]["status"], "SIGNATURE INVALID");
}

#[test]
fn keys_are_guarded() {
    let lab = Lab::new();
    let (private, public) = keys();
    // keygen never overwrites.
    let dir = private.parent().unwrap();
    let o = lab.run(&["integrity", "keygen", "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("already exists: keygen never overwrites a key"), "{}", text(&o));
    assert_eq!(fs::metadata(private).unwrap().permissions().mode() & 0o777, 0o600);
    // A private key others can read is refused.
    let exposed = lab.dir.path().join("exposed.pem");
    fs::copy(private, &exposed).unwrap();
    fs::set_permissions(&exposed, fs::Permissions::from_mode(0o644)).unwrap();
    let o =
        lab.run(&["integrity", "baseline", "web", lab.tree().to_str().unwrap(), "--key", exposed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("is readable by other users (mode 0644)"), "{}", text(&o));
    assert!(!lab.manifest("web").exists());
    // Verification refuses to be handed a private key as the public one.
    assert!(lab.baseline("web").status.success());
    let cfg = lab.dir.path().join("config/rampart");
    fs::create_dir_all(&cfg).unwrap();
    fs::write(
        cfg.join("config.toml"),
        format!(
            "[[integrity]]\nname = \"cfg\"\nroot = \"{}\"\nmanifest = \"{}\"\npublic_key = \"{}\"\n",
            lab.tree().display(),
            lab.manifest("web").display(),
            private.display()
        ),
    )
    .unwrap();
    let (code, report) = lab.verify("cfg");
    assert_eq!(code, 2, "an unusable key vouches for nothing: {report:#}");
    assert!(report["problem"].as_str().unwrap().contains("is a private key: verification needs only the public key"));
    // And signing refuses a public key for what it is.
    let o = lab.run(&["integrity", "accept", "web", "--key", public.to_str().unwrap(), "--reason", "x"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("is a public key: signing needs the private key"), "{}", text(&o));
    assert!(!text(&o).contains("a private key must be 0600"), "{}", text(&o));
    assert!(fs::read_to_string(public).unwrap().contains("BEGIN PUBLIC KEY"));
    let help = text(&lab.run(&["integrity", "baseline", "--help"]));
    assert!(help.contains("RUSTSEC-2023-0071") && help.contains("needs only the public key"), "{help}");
}

#[test]
fn accept_re_baselines_keeps_the_previous_manifest_and_is_audited() {
    let lab = baselined();
    fs::write(lab.tree().join("etc/app.conf"), "listen 9090\n").unwrap();
    let (code, _) = lab.verify("web");
    assert_eq!(code, 1);
    let (private, _) = keys();
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap(), "--reason", "port change"]);
    assert!(o.status.success(), "{}", text(&o));
    let (code, report) = lab.verify("web");
    assert_eq!(code, 0, "clean after accepting: {report:#}");
    let kept: Vec<String> = fs::read_dir(lab.manifest("web").parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("MANIFEST.2"))
        .collect();
    assert_eq!(kept.len(), 2, "the previous manifest and its signature are kept: {kept:?}");
    let conn = rusqlite::Connection::open(lab.dir.path().join("store.db")).unwrap();
    let actions: Vec<String> = conn
        .prepare("SELECT action FROM audit WHERE target = 'integrity target web' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // An operator's `integrity verify` is audited as the console's `v` is (issue 22: one way to act).
    assert_eq!(actions, ["baseline", "verify", "accept", "verify"]);
    let reason: String = conn.query_row("SELECT reason FROM audit WHERE action = 'accept'", [], |r| r.get(0)).unwrap();
    assert_eq!(reason, "port change");
    let list: Value = serde_json::from_slice(&lab.run(&["integrity", "list", "--json"]).stdout).unwrap();
    assert_eq!(list[0]["name"], "web");
    assert_eq!(list[0]["status"], "clean");
    assert_eq!(list[0]["manifest"], lab.manifest("web").to_str().unwrap());
}

/// A live console whose store has target `web` (the lab's tree) baselined with the test key, by
/// the command line; with the lab and the public key.
fn console_with_web_baselined() -> (support::Harness, Lab, &'static PathBuf) {
    let h = support::Harness::build(140, 42, None, support::live(), None);
    let (private, public) = keys();
    let lab = Lab::new();
    let o = crate::support::rampart()
        .args(["integrity", "baseline", "web", lab.tree().to_str().unwrap(), "--key", private.to_str().unwrap()])
        .env("RAMPART_DB", &h.db)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    (h, lab, public)
}

#[test]
fn v_in_the_console_verifies_for_real_and_is_audited() {
    use rampart::app::msg::Msg;
    use rampart::store::writer::Tables;
    let (mut h, lab, _) = console_with_web_baselined();
    h.send(Msg::StoreChanged(Tables::ALL));
    h.press("5");
    assert!(h.screen().contains("never verified"), "{}", h.screen());
    h.press("v");
    let screen = h.screen();
    assert!(screen.contains("web: clean: 7 entries match the signed baseline"), "{screen}");
    fs::write(lab.tree().join("etc/app.conf"), "listen 1\n").unwrap();
    h.press("v");
    let screen = h.screen();
    assert!(screen.contains("web: DRIFT: 1 changed"), "{screen}");
    assert!(screen.contains("drift 1"), "the pane shows the new run: {screen}");
    h.press("enter");
    let screen = h.screen();
    assert!(screen.contains("CHANGED (1)") && screen.contains("etc/app.conf"), "{screen}");
    let conn = rusqlite::Connection::open(&h.db).unwrap();
    let verifies: i64 = conn
        .query_row("SELECT count(*) FROM audit WHERE action = 'verify' AND outcome = 'ok'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verifies, 2, "each v is audited");
}

#[test]
fn v_in_a_real_terminal_against_a_live_store() {
    let lab = baselined();
    let t = tmux::Tmux::start("integrity-v");
    let db = lab.dir.path().join("store.db");
    let no_config = lab.dir.path().join("empty.toml");
    std::fs::write(&no_config, "").unwrap();
    t.type_text(&format!("{BIN} --db {} --config {}; echo \"EXIT=$?\"", db.display(), no_config.display()));
    t.key("Enter");
    t.wait_for("5 Integrity");
    // The collector verifies a never-verified target at once.
    t.wait_for("clean");
    fs::write(lab.tree().join("bin/implant"), "#!/bin/sh\n").unwrap();
    t.key("5");
    t.key("v");
    // The file, and its folder's mtime.
    t.wait_for("web: DRIFT: 1 changed, 1 added");
    t.wait_for("drift 2");
    t.key("Enter");
    let screen = t.wait_for("ADDED (1)");
    assert!(screen.contains("bin/implant"), "{screen}");
    t.key("Escape");
    // The drift closes before the next key (sent at once, it would read as Alt+Q).
    t.wait_until_gone("ADDED (1)");
    t.key("q");
    t.wait_for("EXIT=0");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let audited: String = conn
        .query_row("SELECT target FROM audit WHERE action = 'verify' ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(audited, "integrity target web");
}

/// The attack of issue 20: tamper with the tree, re-sign it with one's own key, and put all three
/// files (manifest, signature, public key) in place of the target's.
fn resign_with_another_key(lab: &Lab) -> PathBuf {
    let other = lab.other_key();
    fs::write(lab.tree().join("etc/app.conf"), "listen 6666\n").unwrap();
    let o = lab.run(&[
        "integrity",
        "baseline",
        "intruder",
        lab.tree().to_str().unwrap(),
        "--key",
        other.join("private.pem").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for file in ["MANIFEST", "MANIFEST.sig", "MANIFEST.pub.pem"] {
        fs::copy(lab.manifest("intruder").with_file_name(file), lab.manifest("web").with_file_name(file)).unwrap();
    }
    other
}

#[test]
fn a_tree_re_signed_with_another_key_and_its_public_key_is_a_signature_failure_naming_both() {
    let lab = baselined();
    let (_, public) = keys();
    let pinned = openssl_fingerprint(public);
    let other = resign_with_another_key(&lab);
    let intruder = openssl_fingerprint(&other.join("public.pem"));
    // The other key's signature is good in itself: openssl, handed the file beside it, agrees.
    let m = lab.manifest("web");
    let o = Command::new("openssl")
        .args(["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-verify"])
        .arg(m.with_file_name("MANIFEST.pub.pem"))
        .arg("-signature")
        .arg(m.with_file_name("MANIFEST.sig"))
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let (code, report) = lab.verify("web");
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["status"], "signature invalid");
    assert_eq!(report["signature_ok"], false);
    let problem = report["problem"].as_str().unwrap();
    assert!(problem.contains(&intruder) && problem.contains(&pinned), "both keys named: {problem}");
    assert!(problem.contains("not the key pinned for this target"), "{problem}");
    assert_eq!(
        (report["key"].as_str(), report["key_found"].as_str()),
        (Some(pinned.as_str()), Some(intruder.as_str()))
    );
    assert!(report["changes"].as_array().unwrap().is_empty(), "nothing in it is trusted");
    let o = lab.run(&["integrity", "verify", "web"]);
    assert_eq!(o.status.code(), Some(2));
    let out = text(&o);
    assert!(out.contains("web: SIGNATURE INVALID") && out.contains(&intruder) && out.contains(&pinned), "{out}");
    // The list shows the pinned key, not what the last run found.
    let list: Value = serde_json::from_slice(&lab.run(&["integrity", "list", "--json"]).stdout).unwrap();
    let web = list.as_array().unwrap().iter().find(|t| t["name"] == "web").unwrap();
    assert_eq!(web["status"], "SIGNATURE INVALID");
    assert_eq!(web["key_fingerprint"], pinned.as_str());
    assert_eq!(web["last"]["key_found"], intruder.as_str());
    // Nor can the intruder's key accept its way in.
    let o =
        lab.run(&["integrity", "accept", "web", "--key", other.join("private.pem").to_str().unwrap(), "--reason", "x"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains(&format!("is not the key pinned for web ({pinned})")), "{}", text(&o));
}

#[test]
fn a_config_target_trusts_only_the_key_its_entry_pins() {
    let lab = baselined();
    let (_, public) = keys();
    let pinned = openssl_fingerprint(public);
    let config = |pin: Option<&str>| {
        let cfg = lab.dir.path().join("config/rampart");
        fs::create_dir_all(&cfg).unwrap();
        let m = lab.manifest("web");
        let mut text = format!(
            "[[integrity]]\nname = \"cfg\"\nroot = \"{}\"\nmanifest = \"{}\"\npublic_key = \"{}\"\n",
            lab.tree().display(),
            m.display(),
            m.with_file_name("MANIFEST.pub.pem").display()
        );
        if let Some(pin) = pin {
            text.push_str(&format!("key_fingerprint = \"{pin}\"\n"));
        }
        fs::write(cfg.join("config.toml"), text).unwrap();
    };
    // No pin anywhere: said loudly, never trusted on first use.
    config(None);
    let (code, report) = lab.verify("cfg");
    assert_eq!(code, 2, "{report:#}");
    let problem = report["problem"].as_str().unwrap();
    assert!(problem.contains("no key is pinned for this target") && problem.contains(&pinned), "{problem}");
    // Pinned in the config (as written by hand, in capitals): clean.
    config(Some(&pinned.to_uppercase().replace("SHA256:", "sha256:")));
    let (code, report) = lab.verify("cfg");
    assert_eq!(code, 0, "{report:#}");
    // The tree re-signed by someone else, with their key beside it: refused, both named.
    let other = resign_with_another_key(&lab);
    let (code, report) = lab.verify("cfg");
    assert_eq!(code, 2, "{report:#}");
    let problem = report["problem"].as_str().unwrap();
    assert!(
        problem.contains(&openssl_fingerprint(&other.join("public.pem"))) && problem.contains(&pinned),
        "{problem}"
    );
}

#[test]
fn a_target_without_a_pin_refuses_until_a_new_key_is_accepted_with_a_reason() {
    let lab = baselined();
    let (private, public) = keys();
    let pinned = openssl_fingerprint(public);
    // As a store made before keys were pinned leaves a target it did not baseline.
    lab.store().execute("UPDATE integrity_targets SET key_fingerprint = NULL, baselined_at = NULL", []).unwrap();
    let (code, report) = lab.verify("web");
    assert_eq!(code, 2, "{report:#}");
    assert!(report["problem"].as_str().unwrap().contains("no key is pinned"), "{report:#}");
    let list: Value = serde_json::from_slice(&lab.run(&["integrity", "list", "--json"]).stdout).unwrap();
    assert!(list[0]["key_fingerprint"].is_null(), "{list:#}");
    // --key alone does not pin: that is a change of key, said as one.
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap(), "--reason", "pin it"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("has no pinned key") && text(&o).contains("--new-key"), "{}", text(&o));
    let o = lab.run(&["integrity", "accept", "web", "--new-key", private.to_str().unwrap(), "--reason", "pin it"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("NO TRUSTED BASELINE TO COMPARE WITH"), "{out}");
    assert!(out.contains(&format!("KEY CHANGE: web's pinned key none (never pinned) → {pinned}")), "{out}");
    let (code, report) = lab.verify("web");
    assert_eq!(code, 0, "{report:#}");
    let (action, reason): (String, String) = lab
        .store()
        .query_row("SELECT action, reason FROM audit WHERE action != 'verify' ORDER BY id DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((action.as_str(), reason.as_str()), ("accept-new-key", "pin it"));
}

#[test]
fn accept_says_what_it_accepts_loudly_and_records_the_reason() {
    let lab = baselined();
    let t = lab.tree();
    fs::write(t.join("etc/app.conf"), "listen 9090\n").unwrap();
    fs::write(t.join("bin/su2"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(t.join("bin/su2"), fs::Permissions::from_mode(0o4755)).unwrap();
    symlink("/etc/shadow", t.join("etc/shadow-link")).unwrap();
    symlink("../../../escape", t.join("bin/up")).unwrap();
    symlink("app.conf", t.join("etc/inside")).unwrap();
    fs::remove_file(t.join("etc/hosts")).unwrap();
    // A set-gid folder only passes its group on: no warning.
    fs::set_permissions(t.join("etc"), fs::Permissions::from_mode(0o2755)).unwrap();
    let (private, _) = keys();
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap(), "--reason", "deploy 42"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    // etc and bin changed their mtime too.
    assert!(out.contains("since the signed baseline: 3 changed, 4 added, 1 removed, 0 unreadable"), "{out}");
    assert!(out.contains("WARNING: 1 new set-uid/set-gid files:\n    bin/su2  (mode 4755)"), "{out}");
    assert!(out.contains("WARNING: 2 symlinks pointing outside the tree:"), "{out}");
    assert!(out.contains("bin/up  (→ ../../../escape)") && out.contains("etc/shadow-link  (→ /etc/shadow)"), "{out}");
    assert!(!out.contains("etc/inside  (→"), "a symlink inside the tree is no warning: {out}");
    let (reason, detail): (String, String) = lab
        .store()
        .query_row("SELECT reason, detail_json FROM audit WHERE action = 'accept'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(reason, "deploy 42");
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!((detail["added"].as_i64(), detail["removed"].as_i64()), (Some(4), Some(1)), "{detail:#}");
    assert_eq!(detail["new_setuid"][0], "bin/su2 (mode 4755)");
    assert_eq!(detail["symlinks_outside"].as_array().unwrap().len(), 2, "{detail:#}");
}

#[test]
fn a_change_of_key_is_its_own_audited_step() {
    let lab = baselined();
    let (private, public) = keys();
    let old = openssl_fingerprint(public);
    let other = lab.other_key();
    let new = openssl_fingerprint(&other.join("public.pem"));
    let o = lab.run(&[
        "integrity",
        "accept",
        "web",
        "--new-key",
        other.join("private.pem").to_str().unwrap(),
        "--reason",
        "key rotation",
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains(&format!("KEY CHANGE: web's pinned key {old} → {new}")), "{out}");
    // The public key beside the manifest is the new one, the old one kept; openssl agrees.
    let m = lab.manifest("web");
    assert_eq!(openssl_fingerprint(&m.with_file_name("MANIFEST.pub.pem")), new);
    let o = Command::new("openssl")
        .args(["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-verify"])
        .arg(other.join("public.pem"))
        .arg("-signature")
        .arg(m.with_file_name("MANIFEST.sig"))
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let (code, report) = lab.verify("web");
    assert_eq!((code, report["key"].as_str()), (0, Some(new.as_str())), "{report:#}");
    let list: Value = serde_json::from_slice(&lab.run(&["integrity", "list", "--json"]).stdout).unwrap();
    assert_eq!(list[0]["key_fingerprint"], new.as_str());
    let (action, detail): (String, String) = lab
        .store()
        .query_row("SELECT action, detail_json FROM audit WHERE action != 'verify' ORDER BY id DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(action, "accept-new-key");
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!((detail["previous_key"].as_str(), detail["key"].as_str()), (Some(old.as_str()), Some(new.as_str())));
    // The old key no longer counts.
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap(), "--reason", "back"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn v_in_the_console_reports_a_re_signed_tree_as_signature_invalid() {
    use rampart::app::msg::Msg;
    use rampart::store::writer::Tables;
    let (mut h, lab, public) = console_with_web_baselined();
    // The lab's own store names the intruder's files; the three are copied over the console's target's.
    let manifest = PathBuf::from(
        rusqlite::Connection::open(&h.db)
            .unwrap()
            .query_row("SELECT manifest_path FROM integrity_targets WHERE name = 'web'", [], |r| r.get::<_, String>(0))
            .unwrap(),
    );
    let other = lab.other_key();
    fs::write(lab.tree().join("etc/app.conf"), "listen 6666\n").unwrap();
    let o = lab.run(&[
        "integrity",
        "baseline",
        "intruder",
        lab.tree().to_str().unwrap(),
        "--key",
        other.join("private.pem").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for file in ["MANIFEST", "MANIFEST.sig", "MANIFEST.pub.pem"] {
        fs::copy(lab.manifest("intruder").with_file_name(file), manifest.with_file_name(file)).unwrap();
    }
    h.send(Msg::StoreChanged(Tables::ALL));
    h.press("5");
    h.press("v");
    let screen = h.screen();
    assert!(screen.contains("web: SIGNATURE INVALID"), "{screen}");
    assert!(screen.contains("SIGNATURE INVALID: web"), "the header badge: {screen}");
    let pinned = openssl_fingerprint(public);
    let hex = pinned.strip_prefix("SHA256:").unwrap();
    h.press("z");
    let screen = h.screen();
    assert!(screen.contains(&hex[..16]), "the pane shows the pinned key: {screen}");
    let conn = rusqlite::Connection::open(&h.db).unwrap();
    let (outcome, error): (String, String) = conn
        .query_row(
            "SELECT a.outcome, r.error FROM audit a, integrity_runs r WHERE a.action = 'verify' ORDER BY r.id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(outcome, "failed");
    assert!(error.contains(&openssl_fingerprint(&other.join("public.pem"))) && error.contains(&pinned), "{error}");
}

#[test]
fn the_openssl_check_is_in_the_help_and_the_manual_pages() {
    let lab = Lab::new();
    let command = "openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \\\n      -verify public.pem -signature MANIFEST.sig MANIFEST";
    for args in [&["help", "integrity"][..], &["integrity", "verify", "--help"]] {
        let o = lab.run(args);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains(command), "{args:?}: {}", text(&o));
    }
    let o = lab.run(&["man"]);
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(page.contains("openssl dgst") && page.contains("rsa_padding_mode:pss"), "{page}");
    let pages = lab.dir.path().join("man");
    assert!(lab.run(&["man", "--out-dir", pages.to_str().unwrap()]).status.success());
    for page in ["rampart-integrity.1", "rampart-integrity-verify.1"] {
        let text = fs::read_to_string(pages.join(page)).unwrap();
        assert!(text.contains("openssl dgst") && text.contains("rsa_padding_mode:pss"), "{page}: {text}");
        assert!(text.contains("openssl pkey"), "and how to compare the key with the pin: {text}");
    }
}

#[test]
fn accept_on_a_terminal_asks_after_saying_what_it_accepts() {
    let lab = baselined();
    fs::write(lab.tree().join("bin/implant"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(lab.tree().join("bin/implant"), fs::Permissions::from_mode(0o4755)).unwrap();
    let (private, _) = keys();
    let t = tmux::Tmux::start("integrity-accept");
    t.type_text(&format!(
        "RAMPART_DB={} {BIN} integrity accept web --key {} --reason 'deploy 7'; echo \"EXIT=$?\"",
        lab.dir.path().join("store.db").display(),
        private.display()
    ));
    t.key("Enter");
    let screen = t.wait_for("accept this as web's baseline? [y/N]");
    assert!(screen.contains("WARNING: 1 new set-uid/set-gid files:") && screen.contains("bin/implant"), "{screen}");
    t.type_text("n");
    t.key("Enter");
    let screen = t.wait_for("EXIT=3");
    assert!(screen.contains("not accepted: nothing was changed"), "{screen}");
    let (code, _) = lab.verify("web");
    assert_eq!(code, 1, "still drift: nothing was signed");
    let accepts: i64 =
        lab.store().query_row("SELECT count(*) FROM audit WHERE action = 'accept'", [], |r| r.get(0)).unwrap();
    assert_eq!(accepts, 0);
}

#[test]
fn a_store_from_before_pinning_keeps_only_the_pins_rampart_took_itself() {
    let lab = baselined();
    let (_, public) = keys();
    let m = lab.manifest("web");
    // A config-only target as an earlier rampart registered it: the fingerprint of whatever key
    // file lay on disk, and no baseline time.
    lab.store()
        .execute(
            "INSERT INTO integrity_targets (name, root, manifest_path, pubkey_path, key_fingerprint) \
             VALUES ('old', ?1, ?2, ?3, ?4)",
            rusqlite::params![
                lab.tree().to_str().unwrap(),
                m.to_str().unwrap(),
                m.with_file_name("MANIFEST.pub.pem").to_str().unwrap(),
                openssl_fingerprint(public)
            ],
        )
        .unwrap();
    let pinning = rampart::store::schema::MIGRATIONS
        .iter()
        .find(|sql| sql.contains("SET key_fingerprint = NULL"))
        .expect("the migration that unpins what rampart did not pin");
    lab.store().execute_batch(pinning).unwrap();
    let pins: Vec<(String, Option<String>)> = lab
        .store()
        .prepare("SELECT name, key_fingerprint FROM integrity_targets ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(pins, [("old".to_string(), None), ("web".to_string(), Some(openssl_fingerprint(public)))]);
    let (code, report) = lab.verify("old");
    assert_eq!(code, 2, "{report:#}");
    assert!(report["problem"].as_str().unwrap().contains("no key is pinned for this target"), "{report:#}");
    assert_eq!(lab.verify("web").0, 0);
}
