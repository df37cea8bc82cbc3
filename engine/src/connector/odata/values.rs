//! Values between Coupler and an OData service: a property's JSON value read as a
//! [`Value`] and written back from one, literals in `$filter` expressions, and
//! `Edm.DateTimeOffset` instants as versions (milliseconds since 1970).

use crate::connector::FieldType;
use crate::value::{ColumnKind, Value};
use serde_json::Value as Json;

/// The version an `Edm.DateTimeOffset` value (`2026-12-05T15:34:48Z`) stands for:
/// milliseconds since 1970; `None` when it names no instant.
pub(super) fn instant_millis(text: &str) -> Option<i64> {
    let instant: jiff::Timestamp = text.parse().ok()?;
    Some(instant.as_millisecond())
}

/// A version as an `Edm.DateTimeOffset` literal, in UTC with milliseconds.
pub(super) fn instant_literal(millis: i64) -> String {
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(instant) => format!("{instant:.3}"),
        // Before the earliest instant OData can say: anything is after it.
        Err(_) => "0001-01-01T00:00:00.000Z".to_string(),
    }
}

/// `value` as a literal of a property of EDM type `edm` in a `$filter` expression:
/// strings quoted (a quote doubled), GUIDs and numbers bare.
pub(super) fn literal(edm: &str, value: &Value) -> Option<String> {
    match (edm, value) {
        (_, Value::Null) => Some("null".to_string()),
        ("Edm.Guid", value) => {
            let text = value.as_text();
            let guid = text.len() == 36 && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            guid.then_some(text)
        }
        (
            "Edm.Byte" | "Edm.SByte" | "Edm.Int16" | "Edm.Int32" | "Edm.Int64" | "Edm.Decimal"
            | "Edm.Double" | "Edm.Single",
            value,
        ) => {
            let text = value.as_text();
            text.trim()
                .parse::<f64>()
                .ok()
                .map(|_| text.trim().to_string())
        }
        ("Edm.Boolean", value) => Some(
            match value.as_text().as_str() {
                "1" | "true" => "true",
                _ => "false",
            }
            .to_string(),
        ),
        ("Edm.DateTimeOffset" | "Edm.Date", value) => Some(value.as_text()),
        (_, value) => Some(format!("'{}'", value.as_text().replace('\'', "''"))),
    }
}

/// A property's JSON value as a value of `kind`.
pub(super) fn read(json: &Json, kind: ColumnKind) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Int(i64::from(*b)),
        Json::Number(n) => match kind {
            ColumnKind::Integer => n.as_i64().map_or(Value::Null, Value::Int),
            ColumnKind::Real => n.as_f64().map_or(Value::Null, Value::Real),
            ColumnKind::Text => Value::Text(n.to_string()),
        },
        Json::String(s) => Value::Text(s.clone())
            .to_kind(kind)
            .unwrap_or(Value::Text(s.clone())),
        other => Value::Text(other.to_string()),
    }
}

/// A key's JSON value as the text Coupler keeps keys in.
pub(super) fn key_text(json: &Json) -> Option<String> {
    match json {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `value` as the JSON a property of kind `kind` and type `field` takes, or why it
/// cannot be. Text is sent as it is: the service checks its own lengths, and its
/// refusal is what the record's log keeps.
pub(super) fn write(value: &Value, kind: ColumnKind, field: FieldType) -> Result<Json, String> {
    let value = match field {
        FieldType::Boolean | FieldType::Decimal { .. } => field.admit(value.clone())?,
        _ => value.clone(),
    };
    if value == Value::Null {
        return Ok(Json::Null);
    }
    Ok(match (field, kind) {
        (FieldType::Boolean, _) => Json::Bool(value.as_text() == "1"),
        (FieldType::Decimal { .. }, _) | (_, ColumnKind::Real) => {
            let text = value.as_text();
            Json::Number(
                text.trim()
                    .parse::<serde_json::Number>()
                    .map_err(|_| "which holds numbers".to_string())?,
            )
        }
        (_, ColumnKind::Integer) => match value.to_kind(ColumnKind::Integer) {
            Some(Value::Int(i)) => Json::from(i),
            _ => return Err("which holds whole numbers".to_string()),
        },
        (_, ColumnKind::Text) => Json::String(value.as_text()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_cross_as_milliseconds_and_back() {
        let millis = instant_millis("2026-12-05T15:34:48Z").unwrap();
        assert_eq!(millis, 1_796_484_888_000);
        assert_eq!(instant_literal(millis + 7), "2026-12-05T15:34:48.007Z");
        assert_eq!(
            instant_millis("2026-12-05T16:34:48.5+01:00"),
            Some(millis + 500)
        );
        assert_eq!(instant_millis("yesterday"), None);
        assert_eq!(instant_literal(i64::MIN), "0001-01-01T00:00:00.000Z");
    }

    #[test]
    fn literals_quote_strings_and_refuse_what_is_no_guid() {
        let text = |s: &str| Value::Text(s.to_string());
        assert_eq!(literal("Edm.String", &text("O'Neil")).unwrap(), "'O''Neil'");
        let guid = "0195f1d2-7a4b-7c3d-8e9f-0a1b2c3d4e5f";
        assert_eq!(literal("Edm.Guid", &text(guid)).unwrap(), guid);
        assert_eq!(literal("Edm.Guid", &text("1) or (true")), None);
        assert_eq!(literal("Edm.Int32", &text("12 or true")), None);
        assert_eq!(literal("Edm.Int32", &Value::Int(12)).unwrap(), "12");
    }

    #[test]
    fn values_are_written_as_their_property_takes_them() {
        let decimal = FieldType::Decimal {
            precision: Some(19),
            scale: 4,
        };
        assert_eq!(
            write(&Value::Text("1500.50".into()), ColumnKind::Text, decimal).unwrap(),
            serde_json::json!(1500.5)
        );
        assert!(write(&Value::Text("much".into()), ColumnKind::Text, decimal).is_err());
        assert_eq!(
            write(&Value::Int(1), ColumnKind::Integer, FieldType::Boolean).unwrap(),
            Json::Bool(true)
        );
        assert_eq!(
            read(&serde_json::json!(1500.5), ColumnKind::Text),
            Value::Text("1500.5".into())
        );
    }
}
