//! Integration Synchronization Jobs.

pub mod api;
pub mod page;
