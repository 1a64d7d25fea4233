//! Keymaps: TOML files that bind keys to actions, with the description the help screen shows.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use super::{line_of, ConfigError};
use crate::app::action::{Action, SPECS};

/// A key with its modifiers, normalised so that `G` and `shift-g` are one chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Chord {
    pub fn from_event(e: &KeyEvent) -> Chord {
        let mut mods = e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match e.code {
            KeyCode::Char(c) => {
                // Terminals report `G` as Char('G') with or without SHIFT; the letter says it all.
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Chord { code, mods }
    }

    /// Parses `q`, `G`, `?`, `ctrl-c`, `alt-x`, `shift-tab`, `enter`, `pagedown`, `f1`, `space`.
    pub fn parse(s: &str) -> Option<Chord> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let stripped = ["ctrl-", "alt-", "shift-"].iter().find(|p| lower.starts_with(**p) && rest.len() > p.len());
            match stripped {
                Some(&"ctrl-") => mods |= KeyModifiers::CONTROL,
                Some(&"alt-") => mods |= KeyModifiers::ALT,
                Some(&"shift-") => mods |= KeyModifiers::SHIFT,
                _ => break,
            }
            rest = &rest[stripped.map_or(0, |p| p.len())..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "insert" => KeyCode::Insert,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) => {
                KeyCode::F(f[1..].parse().ok()?)
            }
            _ => {
                let mut chars = rest.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_alphabetic() {
                    KeyCode::Char(c.to_ascii_uppercase())
                } else {
                    KeyCode::Char(c)
                }
            }
        };
        Some(Chord::from_event(&KeyEvent::new(code, mods)))
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One binding as the help screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Chord>,
    pub action: Action,
    pub desc: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub name: String,
    pub bindings: Vec<Binding>,
    by_chord: HashMap<Chord, Action>,
}

impl Keymap {
    pub fn action_for(&self, e: &KeyEvent) -> Option<Action> {
        self.by_chord.get(&Chord::from_event(e)).copied()
    }

    /// The first key bound to `action`, for hints ("i isolate").
    pub fn key_for(&self, action: Action) -> Option<Chord> {
        self.bindings.iter().find(|b| b.action == action).and_then(|b| b.keys.first().copied())
    }

    /// Every key bound to `action`, in the order the keymap lists them.
    pub fn keys_for(&self, action: Action) -> impl Iterator<Item = Chord> + '_ {
        self.bindings.iter().filter(move |b| b.action == action).flat_map(|b| b.keys.iter().copied())
    }

    /// The first key bound to `action` as the screen shows it, or `None` when nothing runs it.
    pub fn key_name(&self, action: Action) -> Option<String> {
        self.key_for(action).map(|k| k.to_string())
    }

    /// Parses a keymap file's text; `origin` names the file in error messages. The file extends
    /// the shipped keymap its `extends` names (`"default"` when it names none; `"none"` for none).
    pub fn parse(origin: &str, text: &str) -> Result<Keymap, ConfigError> {
        Keymap::parse_extending(origin, text, &super::shipped_keymap)
    }

    /// [`Keymap::parse`], with `resolve` loading the keymap named by `extends`.
    pub fn parse_extending(
        origin: &str,
        text: &str,
        resolve: &dyn Fn(&str) -> Result<Keymap, ConfigError>,
    ) -> Result<Keymap, ConfigError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            name: Option<String>,
            extends: Option<toml::Spanned<String>>,
            #[serde(default)]
            bind: Vec<toml::Spanned<Bind>>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Bind {
            on: OneOrMany,
            run: String,
            desc: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let invalid = |line: usize, message: String| ConfigError::Invalid { origin: origin.to_string(), line, message };
        let file: File = toml::from_str(text).map_err(|e| ConfigError::syntax(origin, text, &e))?;
        let extends_line = file.extends.as_ref().map_or(1, |e| line_of(text, e.span().start));
        let base = match file.extends.as_ref().map_or("default", |e| e.get_ref().as_str()) {
            "none" => None,
            parent => Some(resolve(parent).map_err(|e| invalid(extends_line, format!("extends {e}")))?),
        };
        let mut bindings = Vec::new();
        let mut by_chord: HashMap<Chord, (Action, usize)> = HashMap::new();
        for spanned in &file.bind {
            let line = line_of(text, spanned.span().start);
            let bind = spanned.get_ref();
            let action = Action::from_name(&bind.run).ok_or_else(|| {
                invalid(
                    line,
                    format!(
                        "unknown action '{}'; actions are: {}",
                        bind.run,
                        SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            let names = match &bind.on {
                OneOrMany::One(s) => vec![s.clone()],
                OneOrMany::Many(v) => v.clone(),
            };
            if names.is_empty() {
                return Err(invalid(line, format!("binding for '{}' has no key in `on`", bind.run)));
            }
            let mut keys = Vec::new();
            for name in names {
                let chord = Chord::parse(&name).ok_or_else(|| {
                    invalid(
                        line,
                        format!(
                            "unknown key '{name}'; write a character (q, G, ?), a name (enter, esc, tab, space, \
                             backspace, up, down, left, right, pageup, pagedown, home, end, f1-f12) \
                             optionally after ctrl-, alt- or shift-"
                        ),
                    )
                })?;
                if let Some((other, other_line)) = by_chord.get(&chord) {
                    return Err(invalid(
                        line,
                        format!(
                            "key '{chord}' is bound twice: to '{}' (line {other_line}) and to '{}'",
                            other.name(),
                            action.name()
                        ),
                    ));
                }
                by_chord.insert(chord, (action, line));
                keys.push(chord);
            }
            let desc = bind.desc.clone().unwrap_or_else(|| action.spec().desc.to_string());
            bindings.push((Binding { keys, action, desc }, line));
        }
        let bindings = match &base {
            Some(base) => over(base, bindings, &by_chord),
            None => bindings.into_iter().map(|(b, _)| b).collect(),
        };
        // Without these a person is stuck in the console with no way to learn why.
        for needed in [Action::Quit, Action::Help] {
            if bindings.iter().any(|b| b.action == needed) {
                continue;
            }
            let rule = "a keymap must keep a key to quit and a key for help";
            let taken = base.as_ref().and_then(|base| {
                let key = base.key_for(needed)?;
                let (by, line) = by_chord.get(&key)?;
                Some((key, *by, *line))
            });
            return Err(match taken {
                Some((key, by, line)) => invalid(
                    line,
                    format!(
                        "'{key}' was the key for '{}' and is bound here to '{}', which leaves none; bind \
                         another key to '{}' ({rule})",
                        needed.name(),
                        by.name(),
                        needed.name()
                    ),
                ),
                None => invalid(
                    extends_line,
                    format!(
                        "no key runs '{}'; add a [[bind]] with run = \"{}\" ({rule})",
                        needed.name(),
                        needed.name()
                    ),
                ),
            });
        }
        let by_chord = bindings.iter().flat_map(|b| b.keys.iter().map(|k| (*k, b.action))).collect();
        Ok(Keymap { name: file.name.unwrap_or_else(|| origin.to_string()), bindings, by_chord })
    }
}

/// A file's bindings laid over its base: an action the file binds runs on the file's keys only
/// (in the base's place in the list), a key the file binds is taken from whatever the base bound it
/// to, and everything else stays as the base has it.
fn over(base: &Keymap, file: Vec<(Binding, usize)>, file_keys: &HashMap<Chord, (Action, usize)>) -> Vec<Binding> {
    let overridden: HashSet<Action> = file.iter().map(|(b, _)| b.action).collect();
    let mut file: Vec<Option<Binding>> = file.into_iter().map(|(b, _)| Some(b)).collect();
    let mut placed = HashSet::new();
    let mut out = Vec::new();
    for b in &base.bindings {
        if overridden.contains(&b.action) {
            if placed.insert(b.action) {
                let of_action = file.iter_mut().filter(|f| f.as_ref().is_some_and(|f| f.action == b.action));
                out.extend(of_action.flat_map(Option::take));
            }
            continue;
        }
        let keys: Vec<Chord> = b.keys.iter().copied().filter(|k| !file_keys.contains_key(k)).collect();
        if !keys.is_empty() {
            out.push(Binding { keys, ..b.clone() });
        }
    }
    out.extend(file.into_iter().flatten());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_and_normalise() {
        let g = Chord::parse("G").unwrap();
        assert_eq!(g, Chord::from_event(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)));
        assert_eq!(Chord::parse("shift-g"), Some(g));
        assert_eq!(Chord::parse("shift-tab"), Chord::parse("backtab"));
        assert_eq!(Chord::parse("ctrl-c").unwrap().to_string(), "ctrl-c");
        assert_eq!(Chord::parse("f5").unwrap().code, KeyCode::F(5));
        assert_eq!(Chord::parse("-").unwrap().code, KeyCode::Char('-'));
        assert_eq!(Chord::parse("nope"), None);
    }
}
