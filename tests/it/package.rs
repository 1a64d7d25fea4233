//! The Debian package (dist/build-deb): its files, modes and owners, its systemd unit verified by
//! systemd-analyze, and an install and removal in a throw-away root where the installed binary
//! runs `--version` and `config check` on the shipped config.

use std::path::Path;
use std::process::Command;

fn run(c: &mut Command) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the package around the test binary (uncompressed: what is checked is the same).
fn build(out: &Path) -> std::path::PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/build-deb");
    let said = run(Command::new(script)
        .args(["--binary", env!("CARGO_BIN_EXE_rampart"), "--compress", "none", "--out"])
        .arg(out));
    std::path::PathBuf::from(said.trim())
}

#[test]
fn the_package_holds_what_the_design_says_with_its_modes_and_owners() {
    let dir = tempfile::tempdir().unwrap();
    let deb = build(dir.path());
    assert_eq!(deb.file_name().unwrap().to_str().unwrap(), format!("rampart_{}_amd64.deb", env!("CARGO_PKG_VERSION")));
    let fields = run(Command::new("dpkg-deb").args(["-f"]).arg(&deb).args(["Package", "Version", "Architecture"]));
    assert_eq!(fields, format!("Package: rampart\nVersion: {}\nArchitecture: amd64\n", env!("CARGO_PKG_VERSION")));
    // `-rw-r----- root/root 2006 2026-12-05 17:50 ./etc/rampart/config.toml` → (mode, owner, path)
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let files: Vec<(String, String, String)> = listing
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[1].to_string(), f[5].trim_start_matches('.').to_string())
        })
        .collect();
    let mode_of = |path: &str| {
        files
            .iter()
            .find(|(_, _, p)| p == path)
            .map(|(m, o, _)| (m.as_str(), o.as_str()))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"))
    };
    assert_eq!(mode_of("/usr/bin/rampart"), ("-rwxr-xr-x", "root/root"));
    assert_eq!(mode_of("/lib/systemd/system/rampart.service"), ("-rw-r--r--", "root/root"));
    // The group is given by postinst, once it exists.
    assert_eq!(mode_of("/etc/rampart/config.toml"), ("-rw-r-----", "root/root"));
    assert_eq!(mode_of("/usr/share/man/man1/rampart.1.gz"), ("-rw-r--r--", "root/root"));
    assert_eq!(mode_of("/usr/share/man/man1/rampart-collect.1.gz"), ("-rw-r--r--", "root/root"));
    assert_eq!(mode_of("/usr/share/man/man1/rampart-report.1.gz"), ("-rw-r--r--", "root/root"));
    assert_eq!(mode_of("/usr/share/bash-completion/completions/rampart"), ("-rw-r--r--", "root/root"));
    assert_eq!(mode_of("/usr/share/zsh/vendor-completions/_rampart"), ("-rw-r--r--", "root/root"));
    assert_eq!(mode_of("/usr/share/fish/vendor_completions.d/rampart.fish"), ("-rw-r--r--", "root/root"));
    assert!(files.iter().all(|(_, owner, _)| owner == "root/root"), "{listing}");
    assert!(files.iter().all(|(mode, _, _)| !mode[1..].contains('s') && mode.as_bytes()[8] != b'w'), "{listing}");
    let unexpected: Vec<&str> = files
        .iter()
        .map(|(_, _, p)| p.as_str())
        .filter(|p| {
            !p.ends_with('/')
                && !["/usr/bin/rampart", "/lib/systemd/system/rampart.service", "/etc/rampart/config.toml"].contains(p)
                && !p.starts_with("/usr/share/man/man1/rampart")
                && !p.starts_with("/usr/share/bash-completion/")
                && !p.starts_with("/usr/share/zsh/")
                && !p.starts_with("/usr/share/fish/")
                && *p != "/usr/share/doc/rampart/copyright"
        })
        .collect();
    assert!(unexpected.is_empty(), "files the design does not name: {unexpected:?}");
    assert_eq!(
        run(Command::new("dpkg-deb").arg("--info").arg(&deb).arg("conffiles")).trim(),
        "/etc/rampart/config.toml"
    );

    // The unit, as systemd reads it (its ExecStart pointed at the unpacked binary, since the
    // package is not installed on this machine; the man pages are checked above, not by man).
    let root = dir.path().join("unpacked");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let unit = std::fs::read_to_string(root.join("lib/systemd/system/rampart.service")).unwrap();
    for hardening in
        ["ProtectSystem=strict", "NoNewPrivileges=yes", "RuntimeDirectory=rampart", "StateDirectory=rampart"]
    {
        assert!(unit.contains(hardening), "{hardening} missing");
    }
    assert!(unit.contains("CapabilityBoundingSet=CAP_CHOWN CAP_DAC_READ_SEARCH CAP_SYS_PTRACE\n"));
    let check = dir.path().join("check");
    std::fs::create_dir(&check).unwrap();
    std::fs::write(
        check.join("rampart.service"),
        unit.replace("/usr/bin/rampart", &root.join("usr/bin/rampart").display().to_string()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(check.join("rampart.service"))
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    // The socket path the unit's RuntimeDirectory makes is the one the shipped config names.
    let config = std::fs::read_to_string(root.join("etc/rampart/config.toml")).unwrap();
    assert!(config.contains("socket = \"/run/rampart/rampart.sock\""));
    assert!(unit.contains("--db /var/lib/rampart/rampart.db") && unit.contains("--config /etc/rampart/config.toml"));
    assert_eq!(rampart::config::SYSTEM_DATA_DIR, "/var/lib/rampart");
}

#[test]
fn the_package_installs_and_removes_cleanly_in_a_throw_away_root() {
    let dir = tempfile::tempdir().unwrap();
    let deb = build(dir.path());
    let root = dir.path().join("root");
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (file, text) in [
        ("var/lib/dpkg/status", ""),
        ("var/lib/dpkg/available", ""),
        ("etc/group", "root:x:0:\n"),
        ("etc/gshadow", "root:*::\n"),
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
    ] {
        std::fs::write(root.join(file), text).unwrap();
    }
    let dpkg = |args: &[&str]| {
        let mut c = Command::new("dpkg");
        // Maintainer scripts run here with DPKG_ROOT set (the root has no shell of its own);
        // libc6 and passwd are this machine's.
        c.arg(format!("--root={}", root.display())).args([
            "--force-script-chrootless",
            "--force-depends",
            "--log=/dev/null",
        ]);
        c.args(args);
        c
    };
    run(dpkg(&["-i", deb.to_str().unwrap()]).env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
    // postinst made the group and gave it the config file.
    let group = std::fs::read_to_string(root.join("etc/group")).unwrap();
    let gid: u32 = group
        .lines()
        .find_map(|l| l.strip_prefix("rampart:x:"))
        .and_then(|r| r.trim_end_matches(':').parse().ok())
        .unwrap_or_else(|| panic!("no rampart group:\n{group}"));
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(root.join("etc/rampart/config.toml")).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.uid(), meta.gid()), (0o640, 0, gid));
    let bin = root.join("usr/bin/rampart");
    assert_eq!(run(Command::new(&bin).arg("--version")).trim(), format!("rampart {}", env!("CARGO_PKG_VERSION")));
    let config = root.join("etc/rampart/config.toml");
    assert_eq!(
        run(Command::new(&bin).args(["config", "check", "--config"]).arg(&config)).trim(),
        format!("ok: {}", config.display())
    );
    // Removed: the binary goes, the edited config stays until purged.
    run(&mut dpkg(&["-r", "rampart"]));
    assert!(!bin.exists());
    assert!(config.exists());
    run(&mut dpkg(&["-P", "rampart"]));
    assert!(!config.exists());
    assert!(!root.join("lib/systemd/system/rampart.service").exists());
    let listed = run(&mut dpkg(&["-l"]));
    assert!(!listed.contains("rampart"), "{listed}");
}
