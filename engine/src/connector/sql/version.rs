//! A modified-on column as SQL: the version read from it (a whole number of ticks), what
//! changes are ordered and compared by, and a bound version turned back into the column's
//! terms. PostgreSQL's timestamps are compared as themselves, so an index on the column
//! serves the change feed; SQLite's datetime text is compared by the instant it names,
//! whatever its spelling (`T` or a space, a zone offset, a fraction), which no index on
//! the text serves.

use crate::connector::ModifiedKind;

/// The version of `column` (already quoted): an `int8` number of ticks.
pub(super) fn read(kind: &ModifiedKind, column: &str) -> String {
    match kind {
        // An OData service's kind: no SQL column holds it.
        ModifiedKind::Millis | ModifiedKind::DateTimeOffset => column.to_string(),
        ModifiedKind::Seconds => format!("({column} * 1000)"),
        ModifiedKind::TimestampTz => format!("(extract(epoch from {column}) * 1000000)::int8"),
        ModifiedKind::Timestamp { zone } => format!(
            "(extract(epoch from {column} at time zone {}) * 1000000)::int8",
            literal(zone)
        ),
        ModifiedKind::DatetimeText => datetime_ms(column),
    }
}

/// What changes of `column` are ordered and compared by.
pub(super) fn order(kind: &ModifiedKind, column: &str) -> String {
    match kind {
        ModifiedKind::DatetimeText => datetime_ms(column),
        _ => column.to_string(),
    }
}

/// The SQL around a version (a bound `int8` parameter, or a column of them) that makes it
/// comparable with [`order`]: what goes before it, and after.
///
/// Integer seconds are ordered by the column itself, so its index serves the change feed.
pub(super) fn from_version(kind: &ModifiedKind) -> (&'static str, String) {
    match kind {
        ModifiedKind::Millis | ModifiedKind::DatetimeText | ModifiedKind::DateTimeOffset => {
            ("", String::new())
        }
        // A version read from seconds is a whole number of seconds in milliseconds; a
        // bound that is not (an overlap window's start) is rounded down, which reads at
        // most part of a second again.
        ModifiedKind::Seconds => ("(", " / 1000)".to_string()),
        ModifiedKind::TimestampTz => (
            "(timestamptz 'epoch' + interval '1 microsecond' * ",
            ")".to_string(),
        ),
        ModifiedKind::Timestamp { zone } => (
            "((timestamptz 'epoch' + interval '1 microsecond' * ",
            format!(") at time zone {})", literal(zone)),
        ),
    }
}

/// The statement that makes a write transaction's clock read in the column's zone, for a
/// `timestamp` without one: the system's own defaults and triggers (`localtimestamp`,
/// `now()::timestamp`) then stamp Coupler's writes as they stamp everyone else's, not in
/// the UTC its connections run in.
pub(super) fn write_zone(kind: &ModifiedKind) -> Option<String> {
    match kind {
        ModifiedKind::Timestamp { zone } => Some(format!("set local time zone {}", literal(zone))),
        _ => None,
    }
}

/// Milliseconds since 1970 of an ISO 8601 text, rounded: exact for millisecond text.
fn datetime_ms(column: &str) -> String {
    format!("cast(round((julianday({column}) - 2440587.5) * 86400000.0) as integer)")
}

/// `text` as a SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_is_quoted_as_a_literal() {
        let kind = ModifiedKind::Timestamp {
            zone: "x'; drop table t; --".to_string(),
        };
        assert_eq!(
            read(&kind, "\"m\""),
            "(extract(epoch from \"m\" at time zone 'x''; drop table t; --') * 1000000)::int8"
        );
    }
}
