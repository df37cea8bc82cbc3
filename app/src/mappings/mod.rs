//! Integration Table Mappings: the list, one mapping's settings and fields, and the
//! mapping-level actions.

pub mod api;
pub mod couplings;
pub mod page;
