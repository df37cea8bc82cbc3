//! Coupler's engine: the configuration of systems and mappings, the coupling store,
//! and the operations the console and the CLI call. It knows nothing of HTTP or Leptos.
//!
//! Without the `runtime` feature only [`model`] compiles: the plain types that cross
//! the wire to the browser.

#![warn(missing_docs)]

pub mod model;
pub mod value;

#[cfg(feature = "runtime")]
pub mod accounts;
#[cfg(feature = "runtime")]
mod actions;
#[cfg(feature = "runtime")]
pub mod alerts;
#[cfg(feature = "runtime")]
pub mod config;
#[cfg(feature = "runtime")]
pub mod connector;
#[cfg(feature = "runtime")]
mod console;
#[cfg(feature = "runtime")]
mod db;
#[cfg(feature = "runtime")]
pub mod demo;
#[cfg(feature = "runtime")]
mod error;
#[cfg(feature = "runtime")]
pub mod filter;
#[cfg(feature = "runtime")]
mod handle;
#[cfg(feature = "runtime")]
pub mod inspect;
#[cfg(feature = "runtime")]
mod mappings;
#[cfg(feature = "runtime")]
mod pair;
#[cfg(feature = "runtime")]
mod queue;
#[cfg(feature = "runtime")]
pub mod retention;
#[cfg(feature = "runtime")]
mod status;
#[cfg(feature = "runtime")]
pub mod store;
#[cfg(feature = "runtime")]
pub mod sync;
#[cfg(feature = "runtime")]
mod systems;
#[cfg(feature = "runtime")]
mod watch;

#[cfg(feature = "runtime")]
pub use actions::action_id;
#[cfg(feature = "runtime")]
pub use error::EngineError;
#[cfg(feature = "runtime")]
pub use handle::Engine;
#[cfg(feature = "runtime")]
pub use queue::{Targets, UncouplingScope};
#[cfg(feature = "runtime")]
pub use status::{CHANGES_COUNTED, ERRORS_GROWING_FROM};
#[cfg(feature = "runtime")]
pub use systems::Systems;
