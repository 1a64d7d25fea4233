//! Every way a theme, keymap or config file can be wrong, with the exact message a user sees
//! (fixtures in tests/invalid_configs/), and the shipped files all load.

use std::path::Path;

use rampart::config::{self, Config};

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
        for spec in rampart::app::action::SPECS {
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
        "FILE, line 2: unknown field `keymapp`, expected one of `theme`, `keymap`, `read_only`, `tenants`, `docker`, `fail2ban`, `access_log`, `falco`, `detect`, `integrity`"
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
