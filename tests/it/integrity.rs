//! File integrity on real files in temp dirs, through the real binary: signed baselines, every kind
//! of drift with its attributes, tampered manifests and signatures (checked by openssl too), the
//! exit codes, and what reaches the store.

use crate::support;
use crate::support::tmux;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

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
    Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("RAMPART_DB", home.join("store.db"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
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
    // Re-baseline with the secret in it (root can read it), then lock it.
    let (private, _) = keys();
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    let o = Command::new("setpriv")
        .args(["--bounding-set=-dac_override,-dac_read_search", BIN, "integrity", "verify", "web", "--json"])
        .env("HOME", lab.dir.path())
        .env("RAMPART_DB", lab.dir.path().join("store.db"))
        .output()
        .expect("setpriv (util-linux) runs the walk without root's read-anything capabilities");
    let report: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    if !is_root() {
        eprintln!("not root: unreadable covered only as far as permissions go");
    }
    assert_eq!(o.status.code(), Some(1), "{report:#}");
    let c = change(&report, "etc/secret");
    assert_eq!(c["kind"], "unreadable");
    assert_eq!(c["after"]["error"], "permission denied");
    assert_eq!(c["before"]["type"], "file", "what the baseline knew is kept: {c:#}");
    assert_eq!(report["unreadable"], 1);
    assert_eq!(report["changes"].as_array().unwrap().len(), 1, "{report:#}");
}

#[test]
fn exit_codes_for_usage_and_io_errors() {
    let lab = baselined();
    let o = lab.run(&["integrity", "verify", "nosuch"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("no integrity target named nosuch"), "{}", text(&o));
    let o = lab.run(&["integrity", "verify"]);
    assert_eq!(o.status.code(), Some(3), "a usage error: {}", text(&o));
    fs::remove_file(lab.manifest("web")).unwrap();
    let (code, report) = lab.verify("web");
    assert_eq!(code, 3, "{report:#}");
    assert!(report["problem"].as_str().unwrap().contains("cannot read the manifest"), "{report:#}");
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
    assert_eq!(code, 3, "{report:#}");
    assert!(report["problem"].as_str().unwrap().contains("is a private key: verification needs only the public key"));
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
    let o = lab.run(&["integrity", "accept", "web", "--key", private.to_str().unwrap()]);
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
    assert_eq!(actions, ["baseline", "accept"]);
    let list: Value = serde_json::from_slice(&lab.run(&["integrity", "list", "--json"]).stdout).unwrap();
    assert_eq!(list[0]["name"], "web");
    assert_eq!(list[0]["status"], "clean");
    assert_eq!(list[0]["manifest"], lab.manifest("web").to_str().unwrap());
}

#[test]
fn v_in_the_console_verifies_for_real_and_is_audited() {
    use rampart::app::msg::Msg;
    use rampart::store::writer::Tables;
    let mut h = support::Harness::build(140, 42, None, support::live(), None);
    let (private, _) = keys();
    let lab = Lab::new();
    let o = Command::new(BIN)
        .args(["integrity", "baseline", "web", lab.tree().to_str().unwrap(), "--key", private.to_str().unwrap()])
        .env("RAMPART_DB", &h.db)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
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
