//! `coupler`: see `coupler --help`.

fn main() -> std::process::ExitCode {
    server::cli::main()
}
