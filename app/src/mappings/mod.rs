//! Integration Table Mappings: the list, one mapping's health, settings and fields, and the
//! mapping-level actions.

pub mod api;
pub mod couplings;
pub mod health;
pub mod page;
