//! The real binary in a real terminal: tmux runs `rampart demo`, keys are sent as a person types
//! them, the screen is read back with capture-pane, and afterwards the terminal must be sane.

use crate::support::tmux;

use std::process::Command;

use tmux::Tmux;

use crate::support::BIN;

fn start_demo(t: &Tmux, seed: u32) {
    start_demo_with(t, seed, "");
}

/// `env` goes before the command (`NAME=value `).
fn start_demo_with(t: &Tmux, seed: u32, env: &str) {
    t.type_text("stty -a > before.txt");
    t.key("Enter");
    t.type_text(&format!("{env}{BIN} demo --seed {seed} --events 20000; echo \"EXIT=$?\""));
    t.key("Enter");
    t.wait_for("5 Integrity");
    t.wait_for("umbrella");
    assert!(t.alternate_screen_on(), "the console runs on the alternate screen");
}

/// After rampart ends: the shell is back, on the normal screen, with the terminal settings it had.
fn assert_terminal_restored(t: &Tmux) {
    assert_terminal_restored_after(t, 0);
}

fn assert_terminal_restored_after(t: &Tmux, exit: i32) {
    t.wait_for(&format!("EXIT={exit}"));
    assert!(!t.alternate_screen_on(), "alternate screen left");
    // `$((6*7))` prints 42 only when the shell runs the line: the typed line itself never shows it.
    t.type_text("stty -a > after.txt; echo stty-saved-$((6*7))");
    t.key("Enter");
    t.wait_for("stty-saved-42");
    let (before, after) = (t.file("before.txt"), t.file("after.txt"));
    assert!(before.contains("icanon") && before.contains(" echo"), "{before}");
    assert_eq!(before, after, "terminal settings are restored exactly");
    t.type_text("echo still-typing-$((6*7))");
    t.key("Enter");
    t.wait_for("still-typing-42");
}

#[test]
fn demo_in_a_real_terminal_focus_filter_zoom_help_quit() {
    let t = Tmux::start("keys");
    start_demo(&t, 1);
    let screen = t.screen();
    for tenant in ["acme", "globex", "initech", "umbrella"] {
        assert!(screen.contains(tenant), "{tenant} listed:\n{screen}");
    }
    assert!(screen.contains("DEMO") && screen.contains("ISOLATED"), "{screen}");
    assert!(screen.contains("┏ 1 Tenants"), "Tenants focused at start:\n{screen}");

    t.key("3");
    t.wait_for("┏ 3 Access log");
    t.key("/");
    t.type_text("status:404");
    let screen = t.wait_for("filter Access log: /status:404");
    assert!(screen.contains("3 Access log /status:404"), "{screen}");
    t.key("Enter");
    let screen = t.wait_until_gone("filter Access log:");
    let access_rows: Vec<&str> = screen.lines().filter(|l| holds_event_time(l)).collect();
    assert!(access_rows.iter().any(|l| l.contains(" 404 ")), "{screen}");

    t.key("z");
    let screen = t.wait_for("zoomed");
    assert!(!screen.contains("1 Tenants"), "zoom shows one pane:\n{screen}");
    t.key("z");
    t.wait_for("1 Tenants");

    t.key("?");
    t.wait_for_all(&["Help — keymap 'default'", "Focus the next pane", "Zoom the pane to full screen"]);
    t.key("G");
    // The end of the help scrolls into view.
    t.wait_for_all(&["Isolate the tenant's containers", "Acknowledge the selected alert"]);
    t.key("Escape");
    t.wait_until_gone("Help — keymap");

    t.key("q");
    assert_terminal_restored(&t);
}

/// Whether a screen line holds an event's `MM-DD HH:MM:SS` time, on whatever day the demo was seeded.
fn holds_event_time(line: &str) -> bool {
    const SHAPE: &str = "00-00 00:00:00";
    let chars: Vec<char> = line.chars().collect();
    chars.windows(SHAPE.len()).any(|w| {
        w.iter().zip(SHAPE.chars()).all(|(&c, shape)| if shape == '0' { c.is_ascii_digit() } else { c == shape })
    })
}

#[test]
fn event_times_are_recognised_on_any_day() {
    assert!(holds_event_time("│01-02 00:10:08 globex    192.0.2.108  GET 404 │"));
    assert!(holds_event_time("│12-31 23:59:59 acme"));
    assert!(!holds_event_time("│ 3 Access log /status:404 ─── following │"));
}

fn signal_restores_the_terminal(signal: &str, seed: u32) {
    let t = Tmux::start(signal);
    start_demo(&t, seed);
    let pattern = format!("demo --seed {seed} --events");
    let sent = Command::new("pkill").args([&format!("-{signal}"), "-f", &pattern]).status().unwrap();
    assert!(sent.success(), "rampart was running");
    assert_terminal_restored(&t);
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores_the_terminal("TERM", 7);
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores_the_terminal("HUP", 8);
}

#[test]
fn a_panic_restores_the_terminal_and_the_report_is_readable() {
    let t = Tmux::start("panic");
    start_demo_with(&t, 9, "RUST_BACKTRACE=0 RAMPART_FAULT=panic-on-key ");
    t.key("j");
    let screen = t.wait_for("EXIT=101");
    assert!(
        screen.contains("The application panicked"),
        "the report is printed after the screen is restored:\n{screen}"
    );
    assert!(screen.contains("RAMPART_FAULT=panic-on-key"), "{screen}");
    assert_terminal_restored_after(&t, 101);
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_fg_redraws() {
    let t = Tmux::start("suspend");
    t.type_text("stty -a > before.txt");
    t.key("Enter");
    // No `; echo EXIT` after it: the shell would run that as soon as the job stops.
    t.type_text(&format!("{BIN} demo --seed 10 --events 20000"));
    t.key("Enter");
    t.wait_for("umbrella");
    t.key("C-z");
    let screen = t.wait_for("Stopped");
    assert!(!t.alternate_screen_on(), "a suspended console leaves the alternate screen:\n{screen}");
    t.type_text("stty -a > during.txt");
    t.key("Enter");
    t.type_text("echo typed-while-stopped-$((6*7))");
    t.key("Enter");
    t.wait_for("typed-while-stopped-42");
    assert_eq!(t.file("before.txt"), t.file("during.txt"), "the shell has its own terminal settings back");

    t.type_text("fg");
    t.key("Enter");
    let screen = t.wait_for("5 Integrity");
    assert!(t.alternate_screen_on(), "fg takes the alternate screen again");
    assert!(screen.contains("1 Tenants") && screen.contains("umbrella"), "a full redraw:\n{screen}");
    t.key("2");
    t.wait_for("┏ 2 Alerts");
    t.key("q");
    crate::support::wait_for("q to end the console", || (t.alternate_screen_on(), t.screen()), |(on, _)| !on);
    t.type_text("echo \"EXIT=$?\"");
    t.key("Enter");
    assert_terminal_restored(&t);
}

#[test]
fn a_viewer_takes_over_when_the_collector_is_killed() {
    let t = Tmux::start("takeover");
    let db = t.dir.path().join("store.db");
    let config = t.dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let (db, config) = (db.to_str().unwrap(), config.to_str().unwrap());
    let mut collector = crate::support::rampart()
        .args(["collect", "--db", db, "--config", config])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = rampart::collector::lock_path(std::path::Path::new(db));
    let pid = collector.id();
    let took = format!("pid {pid}");
    crate::support::wait_for(
        "the collector's lock",
        || std::fs::read_to_string(&lock).unwrap_or_default(),
        |s| s.contains(&took),
    );
    t.type_text(&format!("{BIN} --db {db} --config {config}; echo \"EXIT=$?\""));
    t.key("Enter");
    t.wait_for(&format!("viewer (collector: pid {pid}"));

    collector.kill().unwrap();
    collector.wait().unwrap();
    let screen = t.wait_for("this console collects now");
    assert!(screen.contains(&format!("pid {pid}")), "it says which collector went away:\n{screen}");
    let screen = t.wait_until_gone("viewer (collector");
    let holder = std::fs::read_to_string(&lock).unwrap();
    assert!(holder.starts_with("pid ") && !holder.contains(&format!("pid {pid} ")), "{holder}\n{screen}");
    let second = crate::support::rampart().args(["collect", "--db", db, "--config", config]).output().unwrap();
    assert!(!second.status.success(), "the console holds the collector lock now");
    t.key("q");
    t.wait_for("EXIT=0");
}
