//! [`Value`]: one field's value as the engine sees it, whichever system it came from,
//! and the column kinds a connector binds values as.

use serde::{Deserialize, Deserializer, Serialize, de};
use std::fmt;

/// A field value. Numbers compare by value: `Int(2)` equals `Real(2.0)`.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// No value.
    #[default]
    Null,
    /// A whole number.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
}

/// How a column stores its values; a value is converted to its column's kind before it
/// is written, so a number read from one system lands in the other's text column as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Whole numbers (also booleans stored as 0/1).
    Integer,
    /// Floating-point numbers.
    Real,
    /// Text, and anything else.
    Text,
}

/// Read back from JSON as written (a null, a number or a string), in one pass: an
/// untagged derive would try each variant in turn, making an error for each miss, and
/// base snapshots are read for every coupling a run looks at.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("null, a number or a string")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                i64::try_from(v)
                    .map(Value::Int)
                    .or(Ok(Value::Real(v as f64)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Real(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Value, E> {
                Ok(Value::Text(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Real(a), Value::Real(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Int(a), Value::Real(b)) | (Value::Real(b), Value::Int(a)) => (*a as f64) == *b,
            _ => false,
        }
    }
}

impl Value {
    /// Whether this is `Null` or empty text.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }

    /// The value as text, for value maps, matching and messages (`Null` is empty).
    pub fn as_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Real(r) => r.to_string(),
            Value::Text(text) => text.clone(),
        }
    }

    /// The value as match-based coupling compares it by default: text without its
    /// surrounding spaces, in lower case; anything else as it is.
    pub fn folded(&self) -> Value {
        match self {
            Value::Text(text) => Value::Text(text.trim_matches(' ').to_lowercase()),
            other => other.clone(),
        }
    }

    /// Converts to what a column of `kind` stores; `None` when it cannot (text that is
    /// not a number, for a numeric column).
    pub fn to_kind(&self, kind: ColumnKind) -> Option<Value> {
        Some(match (self, kind) {
            (Value::Null, _) => Value::Null,
            (Value::Int(i), ColumnKind::Integer) => Value::Int(*i),
            (Value::Int(i), ColumnKind::Real) => Value::Real(*i as f64),
            (Value::Real(r), ColumnKind::Real) => Value::Real(*r),
            (Value::Real(r), ColumnKind::Integer) if r.fract() == 0.0 => Value::Int(*r as i64),
            (Value::Real(_), ColumnKind::Integer) => return None,
            (Value::Text(t), ColumnKind::Integer) => Value::Int(t.trim().parse().ok()?),
            (Value::Text(t), ColumnKind::Real) => Value::Real(t.trim().parse().ok()?),
            (value, ColumnKind::Text) => Value::Text(value.as_text()),
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("(empty)"),
            Value::Text(text) => write!(f, "{text:?}"),
            other => f.write_str(&other.as_text()),
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::Text(text.to_string())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(r: f64) -> Value {
        Value::Real(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(Value::Int(2), Value::Real(2.0));
        assert_ne!(Value::Int(2), Value::Text("2".into()));
        assert_ne!(Value::Null, Value::Text(String::new()));
    }

    #[test]
    fn conversion_to_a_column_kind() {
        assert_eq!(
            Value::Int(5).to_kind(ColumnKind::Real),
            Some(Value::Real(5.0))
        );
        assert_eq!(
            Value::Text(" 7 ".into()).to_kind(ColumnKind::Integer),
            Some(Value::Int(7))
        );
        assert_eq!(
            Value::Text("seven".into()).to_kind(ColumnKind::Integer),
            None
        );
        assert_eq!(
            Value::Real(1.5).to_kind(ColumnKind::Text),
            Some(Value::Text("1.5".into()))
        );
        assert_eq!(Value::Real(1.5).to_kind(ColumnKind::Integer), None);
    }

    #[test]
    fn json_round_trip_keeps_kinds() {
        let values = vec![
            Value::Null,
            Value::Int(3),
            Value::Real(2.5),
            Value::Text("x".into()),
        ];
        let json = serde_json::to_string(&values).unwrap();
        assert_eq!(json, r#"[null,3,2.5,"x"]"#);
        let back: Vec<Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, values);
    }
}
