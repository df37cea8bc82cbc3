//! The addresses of a record's page and log, percent-encoded.

use engine::model::Side;

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

/// Percent-encodes a path segment or a query value.
pub fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
