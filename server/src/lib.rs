//! The `coupler` binary's library: the command line, start-up, and the axum router that
//! hosts the console, its server functions and `/health`.

#![warn(missing_docs)]

pub mod bench;
pub mod cli;
pub mod export;
pub mod guard;
pub mod inspect;
pub mod listen;
pub mod live;
pub mod metrics;
pub mod report;
pub mod router;
pub mod serve;
pub mod site;
pub mod state;
pub mod telemetry;
