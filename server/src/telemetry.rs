//! Logging: `tracing` to standard error, filtered by `RUST_LOG` (default `info` for
//! `serve`, `warn` for the other commands, whose output is their answer).

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the log subscriber once (`default` when `RUST_LOG` is unset); later calls do
/// nothing.
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
