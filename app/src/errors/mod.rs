//! Coupled Data Synchronization Errors: the list, filtered by the URL.

pub mod api;
pub mod detail;
#[cfg(feature = "ssr")]
pub mod form;
pub mod page;
