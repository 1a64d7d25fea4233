//! Every way a theme, keymap or config file can be wrong, with the exact message a user sees
//! (fixtures in tests/invalid_configs/), and the shipped files all load.

use std::path::Path;

use rampart::config::{self, Config};
use ratatui::style::Color;

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_configs").join(rel).display().to_string()
}

fn theme_error(rel: &str) -> String {
    let path = fixture(rel);
    config::load_theme(&path, Path::new("/nonexistent")).unwrap_err().to_string().replace(&path, "FILE")
}

fn keymap_error(rel: &str) -> String {
    let path = fixture(rel);
    config::load_keymap(&path, Path::new("/nonexistent")).unwrap_err().to_string().replace(&path, "FILE")
}

#[test]
fn every_shipped_theme_and_keymap_loads() {
    for (name, _) in config::THEMES {
        let theme = config::load_theme(name, Path::new("/nonexistent")).unwrap();
        assert_eq!(&theme.name, name);
    }
    for (name, _) in config::KEYMAPS {
        let keymap = config::load_keymap(name, Path::new("/nonexistent")).unwrap();
        for spec in rampart::action::SPECS {
            assert!(keymap.key_for(spec.action).is_some(), "keymap {name} binds {}", spec.name);
        }
    }
}

#[test]
fn unknown_colour() {
    assert_eq!(
        theme_error("themes/unknown_colour.toml"),
        "FILE, line 2: unknown colour 'pruple'; use a name (reset, default, black, red, green, yellow, blue, \
         magenta, cyan, gray, dark-gray, bright-black, light-red, bright-red, light-green, bright-green, \
         light-yellow, bright-yellow, light-blue, bright-blue, light-magenta, bright-magenta, light-cyan, \
         bright-cyan, white), '#rrggbb' or an index 0-255"
    );
}

#[test]
fn unknown_theme_slot_lists_the_real_ones() {
    let e = theme_error("themes/unknown_slot.toml");
    assert!(e.starts_with("FILE, line 2: unknown field `bordr`, expected one of `name`, `extends`, `base`"), "{e}");
}

#[test]
fn unknown_modifier() {
    let e = theme_error("themes/unknown_modifier.toml");
    assert!(e.starts_with("FILE, line 2: unknown field `blink`, expected one of `fg`, `bg`, `bold`"), "{e}");
}

#[test]
fn theme_syntax_error_names_the_line() {
    let e = theme_error("themes/syntax_error.toml");
    assert!(e.starts_with("FILE, line 2: "), "{e}");
}

#[test]
fn extending_an_unknown_theme() {
    assert_eq!(
        theme_error("themes/extends_unknown.toml"),
        "FILE, line 2: extends unknown theme 'nonexistent'; available: default, light, high-contrast, mono \
         (or give the path of a .toml file)"
    );
}

#[test]
fn unknown_action_lists_the_real_ones() {
    let e = keymap_error("keymaps/unknown_action.toml");
    assert!(e.starts_with("FILE, line 7: unknown action 'isolat'; actions are: focus-next, focus-prev,"), "{e}");
    assert!(e.contains("isolate, restore, unban, ban, acknowledge, verify"), "{e}");
}

#[test]
fn two_actions_on_one_key() {
    assert_eq!(
        keymap_error("keymaps/key_bound_twice.toml"),
        "FILE, line 7: key 'i' is bound twice: to 'isolate' (line 3) and to 'acknowledge'"
    );
}

/// A keymap written when a list in `on` meant alternatives is not read the other way: it is told
/// exactly how to say which it means.
#[test]
fn a_list_of_keys_without_version_2_says_how_to_rewrite_it() {
    assert_eq!(
        keymap_error("keymaps/alternatives_in_a_list.toml"),
        "FILE, line 3: on = [\"g\", \"home\"] lists 2 keys, and a list in `on` is now a sequence (one key after \
         the other, as yazi and vim read it): for alternatives give each key a [[bind]] of its own (on = \"g\", \
         on = \"home\", each with run = \"top\"); for the sequence put version = 2 at the top of the file"
    );
}

#[test]
fn a_key_that_also_begins_a_sequence() {
    assert_eq!(
        keymap_error("keymaps/sequence_and_its_start.toml"),
        "FILE, line 8: 'g' runs an action and also begins 'gg' ('top'), which could then never be typed: bind one \
         of them to other keys (lines 4 and 8)"
    );
}

#[test]
fn an_unknown_keymap_version() {
    assert_eq!(
        keymap_error("keymaps/unknown_version.toml"),
        "FILE, line 2: unknown keymap version 3; this rampart reads version 2"
    );
}

#[test]
fn unknown_key_name() {
    let e = keymap_error("keymaps/unknown_key.toml");
    assert!(
        e.starts_with("FILE, line 3: unknown key 'ctrl-hyper-q'; write a character (q, G, ?), a name (enter"),
        "{e}"
    );
}

#[test]
fn keymap_syntax_error_names_the_line() {
    let e = keymap_error("keymaps/syntax_error.toml");
    assert!(e.starts_with("FILE, line 4: "), "{e}");
}

#[test]
fn unknown_binding_field() {
    let e = keymap_error("keymaps/unknown_field.toml");
    assert!(e.starts_with("FILE, line 6: unknown field `when`, expected one of `on`, `run`, `desc`"), "{e}");
}

#[test]
fn unknown_names_list_what_exists_including_user_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("themes")).unwrap();
    std::fs::write(dir.path().join("themes/solarized.toml"), "extends = \"default\"\nborder = { fg = \"blue\" }\n")
        .unwrap();
    let e = config::load_theme("nope", dir.path()).unwrap_err().to_string();
    assert_eq!(e, "unknown theme 'nope'; available: default, high-contrast, light, mono, solarized (or give the path of a .toml file)");
    let e = config::load_keymap("vim", dir.path()).unwrap_err().to_string();
    assert_eq!(e, "unknown keymap 'vim'; available: default, emacs (or give the path of a .toml file)");
    // A user theme extends a shipped one and overrides it by name.
    let solarized = config::load_theme("solarized", dir.path()).unwrap();
    assert_eq!(solarized.border.fg, Some(ratatui::style::Color::Blue));
    assert_eq!(solarized.selection, config::shipped_theme("default").unwrap().selection);
}

#[test]
fn config_file_errors() {
    let path = fixture("config_unknown_key.toml");
    let e = Config::load(Path::new(&path)).unwrap_err().to_string().replace(&path, "FILE");
    assert_eq!(
        e,
        "FILE, line 2: unknown field `keymapp`, expected one of `theme`, `keymap`, `read_only`, `tenants`, `docker`, `fail2ban`, `access_log`, `falco`, `detect`, `integrity`, `cloudwatch`, `cloudwatch_publish`, `control`, `operators`, `engine_logs`, `respond`, `guardrails`"
    );
    assert_eq!(Config::load(Path::new("/nonexistent/config.toml")).unwrap(), Config::default(), "absent is fine");
}

#[test]
fn no_color_picks_mono_unless_a_theme_is_asked_for() {
    let config = Config { theme: Some("light".into()), ..Default::default() };
    assert_eq!(config::theme_choice(None, &config, true), "mono");
    assert_eq!(config::theme_choice(Some("high-contrast"), &config, true), "high-contrast");
    assert_eq!(config::theme_choice(None, &config, false), "light");
    assert_eq!(config::theme_choice(None, &Config::default(), false), "default");
}

#[test]
fn a_config_file_given_by_name_must_exist_the_default_one_need_not() {
    let missing = Path::new("/nonexistent/rampart/confg.toml");
    assert_eq!(Config::load(missing), Ok(Config::default()));
    assert_eq!(
        Config::load_given(missing).unwrap_err().to_string(),
        "the config file /nonexistent/rampart/confg.toml does not exist — check the path given with --config \
         (only the default config file may be missing)"
    );
    let given = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_configs/config_unknown_key.toml");
    assert!(
        Config::load_given(&given).unwrap_err().to_string().contains("unknown field"),
        "a file that exists is read"
    );
}

#[test]
fn a_keymap_that_takes_the_only_key_to_quit() {
    assert_eq!(
        keymap_error("keymaps/takes_the_quit_key.toml"),
        "FILE, line 3: 'q' was the key for 'quit' and is bound here to 'isolate', which leaves none; bind another \
         key to 'quit' (a keymap must keep a key to quit and a key for help)"
    );
}

#[test]
fn a_keymap_with_no_way_to_get_help() {
    assert_eq!(
        keymap_error("keymaps/no_help.toml"),
        "FILE, line 2: no key runs 'help'; add a [[bind]] with run = \"help\" (a keymap must keep a key to quit \
         and a key for help)"
    );
}

#[test]
fn extending_an_unknown_keymap() {
    assert_eq!(
        keymap_error("keymaps/extends_unknown.toml"),
        "FILE, line 2: extends unknown keymap 'vim'; available: default, emacs (or give the path of a .toml file)"
    );
}

#[test]
fn a_colour_index_out_of_range() {
    assert_eq!(
        theme_error("themes/colour_index_out_of_range.toml"),
        "FILE, line 2: colour index 300 is out of range; indexes go from 0 to 255"
    );
}

/// A user file in a config folder, loaded by name as `--keymap`/`--theme` would.
fn user_file(kind: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(format!("{kind}s"))).unwrap();
    std::fs::write(dir.path().join(format!("{kind}s/mine.toml")), text).unwrap();
    dir
}

#[test]
fn a_keymap_file_changes_what_it_binds_and_keeps_the_rest_of_the_default() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use rampart::action::Action;
    let dir = user_file("keymap", "[[bind]]\non = \"x\"\nrun = \"quit\"\n");
    let keymap = config::load_keymap("mine", dir.path()).unwrap();
    let action = |code| keymap.action_for(&KeyEvent::new(code, KeyModifiers::NONE));
    assert_eq!(action(KeyCode::Char('x')), Some(Action::Quit));
    assert_eq!(action(KeyCode::Char('q')), None, "quit runs on the file's keys only");
    for (code, what) in [
        (KeyCode::Char('?'), Action::Help),
        (KeyCode::Char('/'), Action::Filter),
        (KeyCode::Esc, Action::Close),
        (KeyCode::Char('j'), Action::Down),
        (KeyCode::Char('k'), Action::Up),
        (KeyCode::Char('i'), Action::Isolate),
    ] {
        assert_eq!(action(code), Some(what), "{code:?} keeps its default binding");
    }
    assert_eq!(keymap.bindings[0].action, Action::Quit, "in the default's place on the help screen");
    // A key the file binds is taken from what it did in the default; both keys, when bound.
    let dir = user_file(
        "keymap",
        "[[bind]]\non = \"q\"\nrun = \"quit\"\n[[bind]]\non = \"x\"\nrun = \"quit\"\n[[bind]]\non = \"j\"\nrun = \"ban\"\n",
    );
    let keymap = config::load_keymap("mine", dir.path()).unwrap();
    let action = |c| keymap.action_for(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    assert_eq!(
        (action('q'), action('x'), action('j'), action('b')),
        (Some(Action::Quit), Some(Action::Quit), Some(Action::Ban), None)
    );
    assert_eq!(keymap.key_name(Action::Down).as_deref(), Some("↓"), "down keeps its other key");
    // And one that starts from nothing has exactly its own bindings.
    let dir = user_file(
        "keymap",
        "extends = \"none\"\n[[bind]]\non = \"x\"\nrun = \"quit\"\n[[bind]]\non = \"h\"\nrun = \"help\"\n",
    );
    assert_eq!(config::load_keymap("mine", dir.path()).unwrap().bindings.len(), 2);
}

#[test]
fn theme_colours_by_index_as_numbers_or_text() {
    let dir = user_file("theme", "extends = \"default\"\nborder = { fg = 42, bg = \"17\" }\n");
    let theme = config::load_theme("mine", dir.path()).unwrap();
    assert_eq!((theme.border.fg, theme.border.bg), (Some(Color::Indexed(42)), Some(Color::Indexed(17))));
}

/// The error `Config::load` gives for a fixture, with its path written as FILE.
fn config_error(rel: &str) -> String {
    let path = fixture(rel);
    Config::load(Path::new(&path)).unwrap_err().to_string().replace(&path, "FILE")
}

#[test]
fn a_duration_that_is_not_one() {
    assert_eq!(
        config_error("config_bad_duration.toml"),
        "FILE, line 4: [[cloudwatch]] /ecs/production/falco: since: '15 minutes' is not a duration like 500ms, \
         90s, 15m, 2h or 1d"
    );
}

#[test]
fn a_group_and_a_group_prefix_in_one_entry() {
    assert_eq!(
        config_error("config_group_and_prefix.toml"),
        "FILE, line 6: [[cloudwatch]] /ecs/production/flask-app: give group or group_prefix, not both"
    );
}

#[test]
fn no_requests_per_second() {
    assert_eq!(
        config_error("config_no_requests.toml"),
        "FILE, line 3: [[cloudwatch]] /ecs/production/falco: requests_per_second = 0 is outside 1 to 1000 (the \
         account's quota is 5 to 25 a second per region, shared with every other client) [default: 3]"
    );
}

#[test]
fn a_poll_without_pause() {
    assert_eq!(
        config_error("config_poll_zero.toml"),
        "FILE, line 4: [[cloudwatch]] /rampart/*: poll = \"0s\" is shorter than 100 ms, which would poll without \
         pause; give 100ms or more [default: 5s]"
    );
}

#[test]
fn a_falco_listener_others_can_reach_without_a_secret() {
    assert_eq!(
        config_error("config_falco_open_without_token.toml"),
        "FILE, line 3: [falco] listen = \"0.0.0.0:2801\" is reachable from other hosts (and tenants' containers), \
         and [falco] token is not set: set token to a secret of at least 16 characters and give it to Falco in \
         http_output.url as http://HOST:PORT/falco/<token> — or listen on 127.0.0.1"
    );
}

#[test]
fn every_error_of_a_file_is_listed_and_the_first_says_there_are_more() {
    let path = fixture("config_several_errors.toml");
    let errors: Vec<String> = Config::load_checked(Path::new(&path))
        .unwrap_err()
        .iter()
        .map(|e| e.to_string().replace(&path, "FILE"))
        .collect();
    assert_eq!(
        errors,
        [
            "FILE, line 4: [falco] listen = \"localhost\" is not an address and port like 127.0.0.1:2801",
            "FILE, line 8: [[cloudwatch]] endpoint_url = \"not a url\" is not a URL; write it as \
             https://logs.us-east-1.amazonaws.com or http://127.0.0.1:5000",
            "FILE, line 9: [[cloudwatch]] /ecs/production/falco: requests_per_second = 0 is outside 1 to 1000 (the \
             account's quota is 5 to 25 a second per region, shared with every other client) [default: 3]",
            "FILE, line 12: [detect.brute_force] priority = \"urgent\" is not a Falco priority; use emergency, \
             alert, critical, error, warning, notice, informational or debug",
        ]
    );
    assert_eq!(
        config_error("config_several_errors.toml"),
        "FILE, line 4: [falco] listen = \"localhost\" is not an address and port like 127.0.0.1:2801 (and 3 more \
         errors: `rampart config check` lists them all)"
    );
}

#[test]
fn config_check_says_ok_or_every_error_and_collect_refuses_an_invalid_config() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[[cloudwatch]]\ngroup = \"/ecs/production/falco\"\npoll = \"2s\"\n").unwrap();
    let out = crate::support::rampart().args(["config", "check", "--config"]).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("ok: {}\n", good.display()));

    let bad = fixture("config_several_errors.toml");
    let out = crate::support::rampart().args(["config", "check", "--config", &bad]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&bad, "FILE");
    assert!(stderr.starts_with("FILE, line 4: [falco] listen"), "{stderr}");
    assert!(stderr.ends_with("4 errors in FILE\n"), "{stderr}");
    assert_eq!(stderr.lines().count(), 5, "{stderr}");

    // `collect` does not start on it: it says why and takes no collector lock.
    let db = dir.path().join("r.db");
    let poll_zero = fixture("config_poll_zero.toml");
    let out = crate::support::rampart()
        .env("HOME", dir.path())
        .args(["collect", "--db", db.to_str().unwrap(), "--config", &poll_zero])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{poll_zero}, line 4: [[cloudwatch]] /rampart/*: poll = \"0s\"")), "{stderr}");
    assert!(!stderr.contains("collecting into"), "{stderr}");
    assert!(!rampart::collector::lock_path(&db).exists(), "no collector lock was taken");
}

#[test]
fn an_access_log_that_names_no_tenant() {
    assert_eq!(
        config_error("config_access_log_without_tenant.toml"),
        "FILE, line 1: [[access_log]] /var/log/nginx/acme.access.log needs either tenant or tenant_from (and not \
         both) (and 1 more error: `rampart config check` lists them all)"
    );
}

#[test]
fn a_detection_bucket_that_leaks_backwards() {
    assert_eq!(
        config_error("config_detect_negative_leak.toml"),
        "FILE, line 4: [detect.brute_force] leak_seconds = -60 cannot be negative; give the seconds for one event \
         to leak out of the bucket (0: window_seconds / threshold)"
    );
}

#[test]
fn an_allowed_network_that_is_none() {
    assert_eq!(
        config_error("config_detect_allow_not_a_network.toml"),
        "FILE, line 3: [detect] allow: \"office\" is not a network like 192.0.2.0/24, 2001:db8::/32 or one address"
    );
}

#[test]
fn control_and_operators_errors() {
    let path = fixture("config_operators.toml");
    let errors: Vec<String> = Config::load_checked(Path::new(&path))
        .unwrap_err()
        .iter()
        .map(|e| e.to_string().replace(&path, "FILE"))
        .collect();
    assert_eq!(
        errors,
        [
            "FILE, line 3: [control] socket = \"run/rampart.sock\" must be an absolute path of at most 107 bytes \
             (e.g. /run/rampart/rampart.sock)",
            "FILE, line 4: [control] group is empty: name a group, or leave it out",
            "FILE, line 7: [operators] unban: \"oncall\" must be \"user:NAME\" or \"group:NAME\"",
            "FILE, line 8: [operators] isolate: \"user:\" does not name a user (letters, digits, _ - . only)",
        ]
    );
    let path = std::env::temp_dir().join(format!("rampart-operators-{}.toml", std::process::id()));
    std::fs::write(&path, "[operators]\nrestart = [\"group:ops\"]\n").unwrap();
    let e = Config::load(&path).unwrap_err().to_string().replace(&path.display().to_string(), "FILE");
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        e,
        "FILE, line 2: unknown field `restart`, expected one of `isolate`, `restore`, `unban`, `ban`, `acknowledge`, \
         `verify`"
    );
}

#[test]
fn a_respond_rule_that_matches_nothing() {
    assert_eq!(
        config_error("config_respond_without_match.toml"),
        "FILE, line 1: [[respond]] ban-all: give rule (an alert rule's name), priority (the lowest priority that \
         acts), or both"
    );
}

#[test]
fn a_respond_rule_whose_priority_is_none() {
    assert_eq!(
        config_error("config_respond_bad_priority.toml"),
        "FILE, line 4: [[respond]] ban-critical: priority = \"severe\" is not a Falco priority; use emergency, \
         alert, critical, error, warning, notice, informational or debug"
    );
}

#[test]
fn guardrails_that_allow_no_network_and_no_action() {
    let path = fixture("config_guardrails.toml");
    let errors: Vec<String> = Config::load_checked(Path::new(&path))
        .unwrap_err()
        .iter()
        .map(|e| e.to_string().replace(&path, "FILE"))
        .collect();
    assert_eq!(
        errors,
        [
            "FILE, line 2: [guardrails] allow: \"office\" is not a network like 192.0.2.0/24, 2001:db8::/32 or one \
             address",
            "FILE, line 3: [guardrails] max_per_minute = 0 would stop every automatic action; give 1 or more \
             [default: 10]",
        ]
    );
}

#[test]
fn an_access_label_that_is_the_tenant_label() {
    assert_eq!(
        config_error("config_engine_logs_tenant_label.toml"),
        "FILE, line 2: [engine_logs] label = \"rampart.tenant\" is the tenant label ([docker] label); the access \
         label says the format (combined or json), so it must be another [default: rampart.access]"
    );
}

#[test]
fn a_respond_rule_whose_ban_lasts_no_time_one_can_read() {
    assert_eq!(
        config_error("config_respond_bad_ban_for.toml"),
        "FILE, line 5: [[respond]] ban-brute-force: ban_for: 'a while' is not a duration like 500ms, 90s, 15m, 2h \
         or 1d"
    );
}

#[test]
fn known_probes_and_login_settings_that_are_wrong_say_why_on_their_line() {
    let path = fixture("config_detect_probes_and_logins.toml");
    let errors: Vec<String> = Config::load_checked(Path::new(&path))
        .unwrap_err()
        .iter()
        .map(|e| e.to_string().replace(&path, "FILE"))
        .collect();
    assert_eq!(
        errors,
        [
            "FILE, line 3: [detect.login] paths: \"signin\" is not a path glob like /login or */sign_in: a path glob \
             starts with / or *",
            "FILE, line 3: [detect.login] paths: \"/a/[b\" is not a path glob like /login or */sign_in: unclosed \
             character class; missing ']'",
            "FILE, line 4: [detect.login] failure_statuses: 4030 is not an HTTP status (100 to 599)",
            "FILE, line 13: [[detect.known_probe]] \"our scanner\": network = \"office\" is not a network like \
             10.0.0.0/8, 2001:db8::/32 or one address",
            "FILE, line 16: [[detect.known_probe]] \"nothing\": names no network, path or user_agent, so it would \
             match every request",
            "FILE, line 19: [[detect.known_probe]]: path = \"healthz\" is not a path glob like /healthz or /status/*: \
             it starts with / or *",
            "FILE, line 23: [[detect.known_probe]]: user_agent = \"\" would match every user agent; give text it holds",
        ]
    );
}

use crate::support;

#[test]
fn the_committed_example_config_is_what_rampart_config_example_prints_and_is_accepted() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = support::rampart().args(["config", "example"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let committed = std::fs::read_to_string(format!("{root}/docs/config.example.toml")).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "docs/config.example.toml differs from `rampart config example`: regenerate it with \
         `cargo run -- config example > docs/config.example.toml`"
    );
    let check = support::rampart()
        .args(["config", "check", "--config", &format!("{root}/docs/config.example.toml")])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).starts_with("ok: "));
}
