//! Rows as records: the key as text, the modified-on version, and each data column's
//! value as the driver answers it.

use crate::connector::{Record, TableSpec};
use crate::value::Value;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Row, ValueRef};

/// The record in `row`, laid out as [`super::SqlConnector::select_list`] selects it.
pub(super) fn record(row: &AnyRow, spec: &TableSpec) -> Result<Record, sqlx::Error> {
    let mut values = Vec::with_capacity(spec.columns.len());
    for i in 0..spec.columns.len() {
        values.push(value_at(row, i + 2)?);
    }
    Ok(Record {
        key: key_text(row, 0)?,
        modified: row.try_get(1)?,
        values,
    })
}

/// Column `i` of `row` as key text, whether the key is text or a number.
pub(super) fn key_text(row: &AnyRow, i: usize) -> Result<String, sqlx::Error> {
    Ok(value_at(row, i)?.as_text())
}

/// Column `i` of `row` as a [`Value`].
fn value_at(row: &AnyRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Bool => Value::Int(i64::from(row.try_get::<bool, _>(i)?)),
        k if k.is_integer() => Value::Int(row.try_get(i)?),
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Value::Real(row.try_get(i)?),
        AnyTypeInfoKind::Blob => {
            Value::Text(String::from_utf8_lossy(&row.try_get::<Vec<u8>, _>(i)?).into_owned())
        }
        AnyTypeInfoKind::Null => Value::Null,
        _ => Value::Text(row.try_get(i)?),
    })
}
