//! The addresses of a record's page and log, percent-encoded.

use engine::model::Side;
pub use engine::model::encode;

/// The address of a record's page.
pub fn record_href(mapping: &str, side: Side, key: &str) -> String {
    format!(
        "/records/{}/{}/{}",
        encode(mapping),
        side.as_str(),
        encode(key)
    )
}

/// The address of a record's log.
pub fn log_href(mapping: &str, side: Side, key: &str) -> String {
    format!(
        "/records/{}/{}/{}/log",
        encode(mapping),
        side.as_str(),
        encode(key)
    )
}
