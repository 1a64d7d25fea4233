//! What commands print: every write to standard output fallible (a closed pipe ends a command
//! quietly), JSON with the characters a terminal would act on escaped, and how an error is said.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use crate::text::sanitize;

/// Writes one line to standard output; an error (a reader that went away) is returned, never a
/// panic as `println!` would. Standard output is line-buffered: each line is one write.
macro_rules! out {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        writeln!(::std::io::stdout().lock(), $($arg)*)
    }};
}

/// Writes `bytes` to standard output at once and flushes them.
pub fn bytes(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// `value` as indented JSON on standard output, followed by a newline (see [`to_json_pretty`]).
pub fn json_pretty<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut text = to_json_pretty(value)?;
    text.push(b'\n');
    bytes(&text)
}

/// `value` as one line of JSON on standard output (see [`to_json_line`]).
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut text = to_json_line(value)?;
    text.push(b'\n');
    bytes(&text)
}

/// `value` as indented JSON in which C1 controls, DEL, bidi overrides and invisible characters
/// are escaped (`\u009b`, `\u202e`) besides what JSON itself escapes, so that a terminal showing
/// the JSON acts on none of them; a JSON reader gets the same strings back.
pub fn to_json_pretty<T: Serialize + ?Sized>(value: &T) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(4096);
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut buf, Inert(PrettyFormatter::new())))?;
    Ok(buf)
}

/// [`to_json_pretty`] on one line.
pub fn to_json_line<T: Serialize + ?Sized>(value: &T) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(512);
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut buf, Inert(CompactFormatter)))?;
    Ok(buf)
}

/// A JSON formatter that lays out as `F` does and escapes, inside strings, every character
/// [`sanitize::needs_escape`] names (serde_json escapes only C0 controls, `"` and `\`).
struct Inert<F>(F);

impl<F: Formatter> Formatter for Inert<F> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if sanitize::needs_escape(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_key(writer)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// A mistake the user can fix (a value that is not a time, a name that does not exist): said in
/// one line on standard error, and the command exits with `code`.
#[derive(Debug)]
pub struct Mistake {
    pub message: String,
    pub code: u8,
}

impl Mistake {
    /// A mistake in how the command was called: exit 2, as for clap's own usage errors.
    pub fn usage(message: impl Into<String>) -> Mistake {
        Mistake { message: message.into(), code: super::args::exit::USAGE }
    }
}

impl fmt::Display for Mistake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Mistake {}

/// Whether the error is standard output closed under us (`rampart access list | head -1`).
fn is_broken_pipe(report: &color_eyre::Report) -> bool {
    report.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// Whether the error is a failure inside rampart or its store rather than something the user can
/// put right (a database error): then the full report with its chain of causes is printed.
fn is_internal(report: &color_eyre::Report) -> bool {
    report.chain().any(|e| e.is::<rusqlite::Error>())
}

/// How a command that failed ends: a closed standard output quietly with status 0 (the reader
/// took what it wanted, as `head` does); a failure inside rampart, or any error with `-v` or
/// `RUST_BACKTRACE` set, with color-eyre's full report and status 1; anything else (a mistake,
/// a file that is missing, a component that is not running) as one line on standard error,
/// `error: what happened: why`, with the [`Mistake`]'s code or 1.
pub fn end(report: color_eyre::Report, verbose: bool) -> ExitCode {
    if is_broken_pipe(&report) {
        return ExitCode::SUCCESS;
    }
    let code = report.chain().find_map(|e| e.downcast_ref::<Mistake>()).map_or(1, |m| m.code);
    let backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    if verbose || backtrace || is_internal(&report) {
        let _ = writeln!(io::stderr(), "Error: {report:?}");
    } else {
        let line = report.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ");
        let _ = writeln!(io::stderr(), "error: {}", sanitize::clean_all(&line));
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_a_terminal_would_act_on_and_reads_back_the_same() {
        let value = serde_json::json!({"ua": "a\u{9b}31mb\u{202E}c\u{7f}d\u{1b}e\u{E0041}", "plain": "é ü"});
        let text = String::from_utf8(to_json_line(&value).unwrap()).unwrap();
        assert_eq!(text, r#"{"plain":"é ü","ua":"a\u009b31mb\u202ec\u007fd\u001be\udb40\udc41"}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
        let pretty = String::from_utf8(to_json_pretty(&value).unwrap()).unwrap();
        assert!(pretty.contains("\n  \"ua\": \"a\\u009b31mb"), "{pretty}");
    }
}
