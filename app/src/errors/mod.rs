//! Coupled Data Synchronization Errors: the list, filtered by the URL.

pub mod api;
pub mod detail;
pub mod page;
