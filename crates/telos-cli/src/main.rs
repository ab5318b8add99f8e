//! `telos`: the command line (see the library for everything it does).

fn main() -> std::process::ExitCode {
    telos_cli::main()
}
