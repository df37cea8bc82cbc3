//! A record's Synchronization Log, reachable by a deep link.

pub mod api;
pub mod href;
pub mod page;
