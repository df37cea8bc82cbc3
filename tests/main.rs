//! Coupler's integration tests, linked as one binary: each suite is a module, named as
//! its file is, sharing `support`, what every suite builds on. A test's full name
//! starts with its suite's, so `cargo test --test integration -- serve::` runs one suite.

mod support;

mod actions;
mod alerts;
mod backup;
mod cli;
mod deletions;
mod faults;
mod filters;
mod health;
mod inspect;
mod matching;
mod odata;
mod queue;
mod retention;
mod security;
mod serve;
mod shapes;
mod soak;
mod status;
mod store;
mod sync;
mod types;
