//! Taking over the terminal and giving it back: on exit, on error, on panic, on SIGTERM and SIGHUP.

use std::io::{self, Stdout, Write};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen,
    LeaveAlternateScreen,
};
use crossterm::{cursor, execute, queue};
use ratatui::backend::CrosstermBackend;
use ratatui::{Frame, Terminal};

pub type Term = Terminal<CrosstermBackend<FrameWriter>>;

/// Where a frame is gathered before it goes to the terminal: in one write, inside a synchronized
/// update, so a terminal never shows half a frame and a slow SSH link carries one packet train per
/// frame instead of hundreds of small writes. Its `flush` is deliberately empty: `draw` sends.
pub struct FrameWriter {
    frame: Vec<u8>,
    out: Stdout,
}

impl Write for FrameWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl FrameWriter {
    fn send(&mut self) -> io::Result<()> {
        let result = self.out.write_all(&self.frame).and_then(|()| self.out.flush());
        self.frame.clear();
        result
    }
}

/// Raw mode, the alternate screen and mouse reporting.
pub fn enter() -> io::Result<Term> {
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture, cursor::Hide) {
        restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(FrameWriter { frame: Vec::with_capacity(1 << 16), out: stdout }))
}

/// Draws one frame (ratatui writes only the cells that changed) and sends it in one write.
pub fn draw(term: &mut Term, render: impl FnOnce(&mut Frame)) -> io::Result<()> {
    queue!(term.backend_mut().writer_mut(), BeginSynchronizedUpdate)?;
    let drawn = term.draw(render).map(|_| ());
    let writer = term.backend_mut().writer_mut();
    queue!(writer, EndSynchronizedUpdate)?;
    writer.send()?;
    drawn
}

/// Takes the terminal again after a suspend, and makes the next frame a full redraw.
pub fn resume(term: &mut Term) -> io::Result<()> {
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture, cursor::Hide)?;
    term.clear()?;
    term.backend_mut().writer_mut().send()
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
        // A `println!` meeting a reader that went away (`| head -1`) ends the command quietly, as
        // a write through `cli::out` does: the reader took what it wanted.
        let said = info.payload().downcast_ref::<String>().map(String::as_str).unwrap_or_default();
        if said.starts_with("failed printing to stdout") && said.contains("Broken pipe") {
            std::process::exit(0);
        }
        restore();
        tracing::error!("panic: {info}");
        eprintln!("{}", panic_hook.panic_report(info));
    }));
    Ok(())
}
