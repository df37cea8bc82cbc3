//! Data columns by their declared type: the kind and [`FieldType`] a declaration means,
//! and on PostgreSQL how such a column is read (as text, for what the driver has no value
//! for: decimals, dates, times) and written (the bound value cast back to the column's
//! type). SQLite keeps any value in any column: it is read as stored, and written as is.

use crate::connector::{FieldType, ModifiedKind};
use crate::db::Backend;
use crate::value::ColumnKind;

/// The kind and type of a column declared `declared` (lower case, with its arguments:
/// `character varying(40)`, `numeric(12,2)`); `None`: Coupler cannot read it.
pub(super) fn of(backend: Backend, declared: &str) -> Option<(ColumnKind, FieldType)> {
    let (name, arguments) = match declared.split_once('(') {
        Some((name, rest)) => (name.trim(), rest.trim_end_matches(')')),
        None => (declared.trim(), ""),
    };
    let numbers: Vec<u32> = arguments
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let exact = match backend {
        Backend::Postgres => ColumnKind::Text,
        Backend::Sqlite => ColumnKind::Real,
    };
    Some(match name {
        "numeric" | "decimal" => (
            exact,
            FieldType::Decimal {
                precision: numbers.first().copied(),
                scale: numbers.get(1).copied().unwrap_or(0),
            },
        ),
        "boolean" | "bool" => (ColumnKind::Integer, FieldType::Boolean),
        "date" => (ColumnKind::Text, FieldType::Date),
        "timestamp without time zone" | "datetime" | "timestamp" => {
            (ColumnKind::Text, FieldType::Timestamp)
        }
        "timestamp with time zone" | "timestamptz" => (ColumnKind::Text, FieldType::TimestampTz),
        "character varying" | "varchar" | "character" | "char" | "nvarchar" | "nchar"
            if !numbers.is_empty() =>
        {
            (
                ColumnKind::Text,
                FieldType::Text {
                    max_length: numbers[0],
                },
            )
        }
        _ => (declared_kind(declared)?, FieldType::Any),
    })
}

/// How `column` (quoted) of type `field` is selected.
pub(super) fn read(backend: Backend, field: FieldType, column: &str) -> String {
    match (backend, field) {
        (Backend::Postgres, FieldType::Decimal { .. }) => format!("{column}::text"),
        (Backend::Postgres, FieldType::Date) => format!("to_char({column}, 'YYYY-MM-DD')"),
        (Backend::Postgres, FieldType::Timestamp) => {
            format!(r#"to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SS.US')"#)
        }
        (Backend::Postgres, FieldType::TimestampTz) => {
            format!(r#"to_char({column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#)
        }
        // SQLite's driver names these declarations types of their own, which the
        // driver for either database does not read: the stored values, as they are.
        (Backend::Sqlite, FieldType::Boolean) => format!("cast({column} as integer)"),
        (Backend::Sqlite, FieldType::Decimal { .. }) => format!("cast({column} as real)"),
        (Backend::Sqlite, FieldType::Date | FieldType::Timestamp | FieldType::TimestampTz) => {
            format!("cast({column} as text)")
        }
        _ => column.to_string(),
    }
}

/// What goes before and after a bound value for a column of type `field`.
pub(super) fn write(backend: Backend, field: FieldType) -> (&'static str, &'static str) {
    match (backend, field) {
        (Backend::Postgres, FieldType::Decimal { .. }) => ("", "::numeric"),
        (Backend::Postgres, FieldType::Date) => ("", "::date"),
        (Backend::Postgres, FieldType::Timestamp) => ("", "::timestamp"),
        (Backend::Postgres, FieldType::TimestampTz) => ("", "::timestamptz"),
        (Backend::Postgres, FieldType::Boolean) => ("(", " <> 0)"),
        _ => ("", ""),
    }
}

/// What a modified-on column declared `declared` (lower case) holds, when it can order
/// changes; a `timestamp`'s zone is left empty, for the caller to learn.
pub(super) fn ordering_kind(backend: Backend, declared: &str) -> Option<ModifiedKind> {
    match (backend, declared) {
        (_, declared) if declared.starts_with("bool") => None,
        (_, declared) if declared_kind(declared) == Some(ColumnKind::Integer) => {
            Some(ModifiedKind::Millis)
        }
        (Backend::Postgres, "timestamp with time zone") => Some(ModifiedKind::TimestampTz),
        (Backend::Postgres, "timestamp without time zone") => Some(ModifiedKind::Timestamp {
            zone: String::new(),
        }),
        (Backend::Sqlite, declared)
            if declared.starts_with("datetime") || declared.starts_with("timestamp") =>
        {
            Some(ModifiedKind::DatetimeText)
        }
        _ => None,
    }
}

/// The kind of a column from its declared type; `None` for types the engine does not read.
pub(super) fn declared_kind(declared: &str) -> Option<ColumnKind> {
    let declared = declared.trim();
    if declared.contains("int") || declared == "boolean" || declared == "bool" {
        Some(ColumnKind::Integer)
    } else if declared.contains("real") || declared.contains("double") || declared.contains("float")
    {
        Some(ColumnKind::Real)
    } else if declared.contains("numeric")
        || declared.contains("decimal")
        || declared.contains("bytea")
        || declared == "blob"
    {
        None
    } else {
        Some(ColumnKind::Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_mean_kinds_and_types() {
        let pg = |d: &str| of(Backend::Postgres, d);
        assert_eq!(
            pg("numeric(12,2)"),
            Some((
                ColumnKind::Text,
                FieldType::Decimal {
                    precision: Some(12),
                    scale: 2
                }
            ))
        );
        assert_eq!(
            pg("character varying(40)"),
            Some((ColumnKind::Text, FieldType::Text { max_length: 40 }))
        );
        assert_eq!(
            pg("character varying"),
            Some((ColumnKind::Text, FieldType::Any))
        );
        assert_eq!(
            pg("boolean"),
            Some((ColumnKind::Integer, FieldType::Boolean))
        );
        assert_eq!(pg("date"), Some((ColumnKind::Text, FieldType::Date)));
        assert_eq!(pg("bigint"), Some((ColumnKind::Integer, FieldType::Any)));
        assert_eq!(pg("bytea"), None);
        assert_eq!(
            of(Backend::Sqlite, "decimal(10, 3)"),
            Some((
                ColumnKind::Real,
                FieldType::Decimal {
                    precision: Some(10),
                    scale: 3
                }
            ))
        );
        assert_eq!(
            of(Backend::Sqlite, "varchar(20)"),
            Some((ColumnKind::Text, FieldType::Text { max_length: 20 }))
        );
    }
}
