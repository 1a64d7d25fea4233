//! Themes: flat TOML files of named styles (`border = { fg = "dark-gray" }`), checked strictly.

use ratatui::style::{Color, Modifier, Style};
use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::ConfigError;
use crate::store::alerts::Priority;

/// A colour as written in a theme file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThemeColor(pub Color);

const COLOR_NAMES: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("default", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark-gray", Color::DarkGray),
    ("bright-black", Color::DarkGray),
    ("light-red", Color::LightRed),
    ("bright-red", Color::LightRed),
    ("light-green", Color::LightGreen),
    ("bright-green", Color::LightGreen),
    ("light-yellow", Color::LightYellow),
    ("bright-yellow", Color::LightYellow),
    ("light-blue", Color::LightBlue),
    ("bright-blue", Color::LightBlue),
    ("light-magenta", Color::LightMagenta),
    ("bright-magenta", Color::LightMagenta),
    ("light-cyan", Color::LightCyan),
    ("bright-cyan", Color::LightCyan),
    ("white", Color::White),
];

impl std::str::FromStr for ThemeColor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        if let Some((_, c)) = COLOR_NAMES.iter().find(|(n, _)| *n == lower) {
            return Ok(ThemeColor(*c));
        }
        if let Some(hex) = lower.strip_prefix('#') {
            if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                let v = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                return Ok(ThemeColor(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)));
            }
        }
        if let Ok(n) = lower.parse::<u8>() {
            return Ok(ThemeColor(Color::Indexed(n)));
        }
        Err(format!(
            "unknown colour '{s}'; use a name ({}), '#rrggbb' or an index 0-255",
            COLOR_NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ))
    }
}

/// A colour is text (`"cyan"`, `"#1c2330"`, `"42"`) or a bare index (`42`).
impl<'de> Deserialize<'de> for ThemeColor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = ThemeColor;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a colour name, '#rrggbb' or an index 0-255")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ThemeColor, E> {
                s.parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ThemeColor, E> {
                u8::try_from(n)
                    .map(|n| ThemeColor(Color::Indexed(n)))
                    .map_err(|_| E::custom(format!("colour index {n} is out of range; indexes go from 0 to 255")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ThemeColor, E> {
                self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// One style as written: colours and modifiers, all optional.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StyleSpec {
    fg: Option<ThemeColor>,
    bg: Option<ThemeColor>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    reversed: bool,
}

impl StyleSpec {
    fn style(self) -> Style {
        let mut s = Style::default();
        if let Some(c) = self.fg {
            s = s.fg(c.0);
        }
        if let Some(c) = self.bg {
            s = s.bg(c.0);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            if on {
                s = s.add_modifier(m);
            }
        }
        s
    }
}

macro_rules! theme_slots {
    ($($slot:ident: $doc:literal),* $(,)?) => {
        /// A theme file: a name, an optional theme it extends, and any of the styles.
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            name: Option<String>,
            extends: Option<String>,
            $(#[doc = $doc] $slot: Option<StyleSpec>,)*
        }

        /// A loaded theme: every style the console draws with.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            $(#[doc = $doc] pub $slot: Style,)*
        }

        impl Theme {
            fn from_file(file: ThemeFile, base: Option<Theme>) -> Theme {
                let base = base.unwrap_or_else(Theme::plain);
                Theme {
                    name: file.name.unwrap_or(base.name),
                    $($slot: file.$slot.map_or(base.$slot, StyleSpec::style),)*
                }
            }

            /// No styling at all.
            fn plain() -> Theme {
                Theme { name: String::new(), $($slot: Style::default(),)* }
            }
        }
    };
}

theme_slots! {
    base: "Everything not otherwise styled",
    header: "The top bar",
    header_accent: "The product name in the top bar",
    badge_read_only: "The READ-ONLY badge",
    badge_paused: "The PAUSED badge",
    footer: "The key-hint bar",
    footer_key: "A key in the key-hint bar",
    disabled: "An action that cannot be used now",
    border: "Pane borders",
    border_focused: "The focused pane's border",
    title: "Pane titles",
    title_focused: "The focused pane's title",
    column_header: "Column headings",
    selection: "The selected row of the focused pane",
    selection_unfocused: "The selected row of other panes",
    muted: "Secondary text: times, counts, hints",
    ok: "Healthy",
    warning: "Needs a look",
    error: "Broken or dangerous",
    marker: "The 'N new rows' marker",
    filter: "The filter input",
    filter_error: "A filter that does not compile",
    popup: "Popup text",
    popup_border: "Popup border",
    sparkline: "The alerts-per-minute sparkline",
    priority_emergency: "Alerts of priority Emergency",
    priority_alert: "Alerts of priority Alert",
    priority_critical: "Alerts of priority Critical",
    priority_error: "Alerts of priority Error",
    priority_warning: "Alerts of priority Warning",
    priority_notice: "Alerts of priority Notice",
    priority_informational: "Alerts of priority Informational",
    priority_debug: "Alerts of priority Debug",
    histogram_2xx: "Histogram: requests answered below 300 (its foreground colour)",
    histogram_3xx: "Histogram: requests answered 3xx",
    histogram_4xx: "Histogram: requests answered 4xx",
    histogram_5xx: "Histogram: requests answered 5xx",
    histogram_notice: "Histogram: alerts of priority Notice and below",
    histogram_warning: "Histogram: alerts of priority Warning",
    histogram_error: "Histogram: alerts of priority Error",
    histogram_critical: "Histogram: alerts of priority Critical and above",
}

impl Theme {
    pub fn priority(&self, p: Priority) -> Style {
        match p {
            Priority::Emergency => self.priority_emergency,
            Priority::Alert => self.priority_alert,
            Priority::Critical => self.priority_critical,
            Priority::Error => self.priority_error,
            Priority::Warning => self.priority_warning,
            Priority::Notice => self.priority_notice,
            Priority::Informational => self.priority_informational,
            Priority::Debug => self.priority_debug,
        }
    }

    /// Parses a theme's text. `resolve` loads the theme named by `extends`.
    pub fn parse(
        origin: &str,
        text: &str,
        resolve: &dyn Fn(&str) -> Result<Theme, ConfigError>,
    ) -> Result<Theme, ConfigError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ConfigError::syntax(origin, text, &e))?;
        let base = match &file.extends {
            Some(parent) if parent == origin => {
                return Err(ConfigError::Invalid {
                    origin: origin.to_string(),
                    line: 1,
                    message: format!("theme '{parent}' cannot extend itself"),
                })
            }
            Some(parent) => Some(resolve(parent).map_err(|e| ConfigError::Invalid {
                origin: origin.to_string(),
                line: text.find("extends").map_or(1, |at| super::line_of(text, at)),
                message: format!("extends {e}"),
            })?),
            None => None,
        };
        let mut theme = Theme::from_file(file, base);
        if theme.name.is_empty() {
            theme.name = origin.to_string();
        }
        Ok(theme)
    }
}
