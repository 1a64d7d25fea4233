//! The `rampart` binary; everything lives in the library.
#![deny(unsafe_code)]

fn main() -> color_eyre::Result<std::process::ExitCode> {
    rampart::cli::main()
}
