//! What the console's pages read: the errors list ([`errors`]), one error's two records
//! side by side ([`error_detail`]), the overview's counts ([`overview`]), couplings and
//! a record's log ([`records`]), and the change stamp live events follow ([`stamp`]).
//! Counts many readers share live in [`counted`].

pub(crate) mod counted;
mod error_detail;
mod errors;
pub(crate) mod overview;
mod records;
mod stamp;
