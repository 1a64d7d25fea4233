//! The `rampart` binary; everything lives in the library.

fn main() -> color_eyre::Result<std::process::ExitCode> {
    rampart::cli::main()
}
