//! Taking over the terminal and giving it back: on exit, on error, on panic, on SIGTERM and SIGHUP.

use std::io::{self, Stdout};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode, the alternate screen and mouse reporting.
pub fn enter() -> io::Result<Term> {
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture, cursor::Hide) {
        restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(stdout))
}

/// Takes the terminal again after a suspend, and makes the next frame a full redraw.
pub fn resume(term: &mut Term) -> io::Result<()> {
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture, cursor::Hide)?;
    term.clear()
}

/// Puts the terminal back as it was. Safe to call more than once, and when the terminal is gone
/// (a dropped SSH session): errors are ignored because there is no one left to tell.
pub fn restore() {
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
}

/// Whether the user asked for no colour (https://no-color.org: NO_COLOR set and not empty).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Installs color-eyre's report hooks, with a panic hook that restores the terminal first so the
/// report is readable. Errors read as messages for an operator: no source location (a backtrace
/// still comes with RUST_BACKTRACE=1), and colour only on a terminal without NO_COLOR.
pub fn install_hooks() -> color_eyre::Result<()> {
    use std::io::IsTerminal;
    let colour = io::stderr().is_terminal() && !no_color();
    let theme = if colour { color_eyre::config::Theme::dark() } else { color_eyre::config::Theme::new() };
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default()
        .theme(theme)
        .display_env_section(false)
        .display_location_section(false)
        .into_hooks();
    eyre_hook.install()?;
    std::panic::set_hook(Box::new(move |info| {
        restore();
        tracing::error!("panic: {info}");
        eprintln!("{}", panic_hook.panic_report(info));
    }));
    Ok(())
}
