//! Keymaps: TOML files that bind keys to actions, with the description the help screen shows.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use super::{line_of, ConfigError};
use crate::action::{Action, SPECS};

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

/// Keys pressed one after another that together run an action: one chord (`q`), or a sequence
/// (`g g`, as yazi and vim read `on = ["g", "g"]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Keys(pub Vec<Chord>);

impl Keys {
    pub fn one(chord: Chord) -> Keys {
        Keys(vec![chord])
    }

    /// Whether `self` begins with all of `start` and is longer.
    fn extends(&self, start: &[Chord]) -> bool {
        self.0.len() > start.len() && self.0.starts_with(start)
    }
}

impl fmt::Display for Keys {
    /// `q`, `gg` (characters run together, as vim writes them), `ctrl-w j` (named keys apart).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(Chord::to_string).collect();
        let sep = if names.iter().all(|n| n.chars().count() == 1) { "" } else { " " };
        f.write_str(&names.join(sep))
    }
}

/// One binding as the help screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: Keys,
    pub action: Action,
    pub desc: String,
}

/// What a key does after the keys already pressed (`pending`) — see [`Keymap::step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The keys so far run this action.
    Run(Action),
    /// These keys (the last one, and those pending before it that it continues) begin a longer
    /// sequence: wait for the next key.
    Wait(Keys),
    /// Nothing runs on these keys.
    Unbound,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub name: String,
    pub bindings: Vec<Binding>,
    by_keys: HashMap<Keys, Action>,
}

/// Keymap files whose `on` lists are sequences; before it, a list of several keys meant
/// alternatives, which is refused now rather than read the other way (see [`Keymap::parse`]).
pub const VERSION: i64 = 2;

impl Keymap {
    /// The action one key runs on its own (a key that only begins sequences runs none).
    pub fn action_for(&self, e: &KeyEvent) -> Option<Action> {
        self.by_keys.get(&Keys::one(Chord::from_event(e))).copied()
    }

    /// What `e` does after the keys `pending`: runs an action, waits for more, or does nothing.
    /// Keys that begin no sequence after `pending` are tried on their own, as if nothing were
    /// pending (as vim does with a sequence it does not know).
    pub fn step(&self, pending: &[Chord], e: &KeyEvent) -> Step {
        let chord = Chord::from_event(e);
        let mut keys = pending.to_vec();
        keys.push(chord);
        if let Some(action) = self.by_keys.get(&Keys(keys.clone())) {
            return Step::Run(*action);
        }
        if self.by_keys.keys().any(|k| k.extends(&keys)) {
            return Step::Wait(Keys(keys));
        }
        if pending.is_empty() {
            Step::Unbound
        } else {
            self.step(&[], e)
        }
    }

    /// The bindings whose sequence goes on from the keys `pending`, for the footer to show what
    /// the next key may be.
    pub fn continuing<'a>(&'a self, pending: &'a [Chord]) -> impl Iterator<Item = &'a Binding> + 'a {
        self.bindings.iter().filter(move |b| b.keys.extends(pending))
    }

    /// The first keys bound to `action`, for hints ("i isolate").
    pub fn key_for(&self, action: Action) -> Option<&Keys> {
        self.bindings.iter().find(|b| b.action == action).map(|b| &b.keys)
    }

    /// Every key sequence bound to `action`, in the order the keymap lists them.
    pub fn keys_for(&self, action: Action) -> impl Iterator<Item = &Keys> + '_ {
        self.bindings.iter().filter(move |b| b.action == action).map(|b| &b.keys)
    }

    /// The first keys bound to `action` as the screen shows them, or `None` when nothing runs it.
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
            version: Option<toml::Spanned<i64>>,
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
        let sequences = match &file.version {
            None => false,
            Some(v) if *v.get_ref() == VERSION => true,
            Some(v) => {
                let line = line_of(text, v.span().start);
                return Err(invalid(
                    line,
                    format!("unknown keymap version {}; this rampart reads version {VERSION}", v.get_ref()),
                ));
            }
        };
        let extends_line = file.extends.as_ref().map_or(1, |e| line_of(text, e.span().start));
        let base = match file.extends.as_ref().map_or("default", |e| e.get_ref().as_str()) {
            "none" => None,
            parent => Some(resolve(parent).map_err(|e| invalid(extends_line, format!("extends {e}")))?),
        };
        let mut bindings: Vec<(Binding, usize)> = Vec::new();
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
            if names.len() > 1 && !sequences {
                let list = names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
                let each = names.iter().map(|n| format!("on = \"{n}\"")).collect::<Vec<_>>().join(", ");
                return Err(invalid(
                    line,
                    format!(
                        "on = [{list}] lists {} keys, and a list in `on` is now a sequence (one key after the \
                         other, as yazi and vim read it): for alternatives give each key a [[bind]] of its own \
                         ({each}, each with run = \"{}\"); for the sequence put version = {VERSION} at the top \
                         of the file",
                        names.len(),
                        bind.run
                    ),
                ));
            }
            let mut chords = Vec::new();
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
                chords.push(chord);
            }
            let keys = Keys(chords);
            for (other, other_line) in &bindings {
                let clash = if other.keys == keys {
                    format!(
                        "key '{keys}' is bound twice: to '{}' (line {other_line}) and to '{}'",
                        other.action.name(),
                        action.name()
                    )
                } else if other.keys.extends(&keys.0) || keys.extends(&other.keys.0) {
                    let (short, long, long_action) = if keys.0.len() < other.keys.0.len() {
                        (&keys, &other.keys, other.action)
                    } else {
                        (&other.keys, &keys, action)
                    };
                    format!(
                        "'{short}' runs an action and also begins '{long}' ('{}'), which could then never be \
                         typed: bind one of them to other keys (lines {other_line} and {line})",
                        long_action.name()
                    )
                } else {
                    continue;
                };
                return Err(invalid(line, clash));
            }
            let desc = bind.desc.clone().unwrap_or_else(|| action.spec().desc.to_string());
            bindings.push((Binding { keys, action, desc }, line));
        }
        let file_keys: Vec<(Keys, Action, usize)> =
            bindings.iter().map(|(b, line)| (b.keys.clone(), b.action, *line)).collect();
        let bindings = match &base {
            Some(base) => merge(base, bindings),
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
                let (_, by, line) =
                    file_keys.iter().find(|(k, _, _)| k == key || k.extends(&key.0) || key.extends(&k.0))?;
                Some((key.clone(), *by, *line))
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
        let by_keys = bindings.iter().map(|b| (b.keys.clone(), b.action)).collect();
        Ok(Keymap { name: file.name.unwrap_or_else(|| origin.to_string()), bindings, by_keys })
    }
}

/// The keymap merge: a file's bindings laid over its base. An action the file binds runs on the
/// file's keys only (in the base's place in the list); keys the file binds are taken from whatever
/// the base bound them to, and so is a base sequence that begins with them or that they begin
/// (it could no longer be typed); everything else stays as the base has it.
fn merge(base: &Keymap, file: Vec<(Binding, usize)>) -> Vec<Binding> {
    let overridden: HashSet<Action> = file.iter().map(|(b, _)| b.action).collect();
    let taken =
        |keys: &Keys| file.iter().any(|(f, _)| f.keys == *keys || f.keys.extends(&keys.0) || keys.extends(&f.keys.0));
    let mut kept = Vec::new();
    for b in &base.bindings {
        if overridden.contains(&b.action) || taken(&b.keys) {
            kept.push(None);
        } else {
            kept.push(Some(b.clone()));
        }
    }
    let mut file: Vec<Option<Binding>> = file.into_iter().map(|(b, _)| Some(b)).collect();
    let mut placed = HashSet::new();
    let mut out = Vec::new();
    for (b, kept) in base.bindings.iter().zip(kept) {
        if overridden.contains(&b.action) {
            if placed.insert(b.action) {
                let of_action = file.iter_mut().filter(|f| f.as_ref().is_some_and(|f| f.action == b.action));
                out.extend(of_action.flat_map(Option::take));
            }
            continue;
        }
        out.extend(kept);
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
