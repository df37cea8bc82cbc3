//! A record's page (its status, both records, its Synchronization Log, reachable by a
//! deep link), the record finder, and a mapping's records listed by state.

pub mod api;
pub mod href;
pub mod list;
pub mod page;
