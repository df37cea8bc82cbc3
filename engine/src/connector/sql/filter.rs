//! A table's [`Filter`] as SQL: each column quoted, each literal a bound value of the
//! column's kind, so the database compares as it would its own values.

use super::types;
use crate::connector::FieldType;
use crate::db::{Backend, Sql, quote};
use crate::filter::Filter;
use crate::value::{ColumnKind, Value};

/// Appends `filter` to `sql`, parenthesised; `kinds` gives each named column's kind and
/// type.
pub(super) fn push(
    sql: &mut Sql,
    backend: Backend,
    filter: &Filter,
    kinds: &[(String, ColumnKind, FieldType)],
) {
    let of = |column: &str| {
        kinds
            .iter()
            .find(|(name, ..)| name == column)
            .map_or((ColumnKind::Text, FieldType::Any), |(_, kind, field)| {
                (*kind, *field)
            })
    };
    let bound = |value: &Value, kind: ColumnKind, field: FieldType| {
        field
            .admit(value.clone())
            .ok()
            .and_then(|v| v.to_kind(kind))
            .unwrap_or(value.clone())
    };
    match filter {
        Filter::And(all) | Filter::Or(all) => {
            let joint = if matches!(filter, Filter::And(_)) {
                " and "
            } else {
                " or "
            };
            sql.push("(");
            for (i, part) in all.iter().enumerate() {
                if i > 0 {
                    sql.push(joint);
                }
                push(sql, backend, part, kinds);
            }
            sql.push(")");
        }
        Filter::Not(inner) => {
            sql.push("(not ");
            push(sql, backend, inner, kinds);
            sql.push(")");
        }
        Filter::Compare { column, op, value } => {
            let (kind, field) = of(column);
            let (before, after) = types::write(backend, field);
            sql.push(&format!("({} {} {before}", quote(column), op.sql()))
                .value(bound(value, kind, field), kind)
                .push(after)
                .push(")");
        }
        Filter::In { column, values } => {
            let (kind, field) = of(column);
            let (before, after) = types::write(backend, field);
            sql.push(&format!("({} in ", quote(column)));
            sql.list(values, |sql, value| {
                sql.push(before)
                    .value(bound(value, kind, field), kind)
                    .push(after);
            });
            sql.push(")");
        }
        Filter::IsNull { column } => {
            sql.push(&format!("({} is null)", quote(column)));
        }
    }
}

/// The first literal of `filter` that its column cannot hold: the column and the value.
pub(super) fn misfit<'a>(
    filter: &'a Filter,
    kinds: &[(String, ColumnKind, FieldType)],
) -> Option<(&'a str, &'a Value)> {
    let fits = |column: &str, value: &Value| {
        kinds
            .iter()
            .find(|(name, ..)| name == column)
            .is_none_or(|(_, kind, field)| {
                field
                    .admit(value.clone())
                    .ok()
                    .and_then(|v| v.to_kind(*kind))
                    .is_some()
            })
    };
    match filter {
        Filter::And(all) | Filter::Or(all) => all.iter().find_map(|f| misfit(f, kinds)),
        Filter::Not(inner) => misfit(inner, kinds),
        Filter::Compare { column, value, .. } => {
            (!fits(column, value)).then_some((column.as_str(), value))
        }
        Filter::In { column, values } => values
            .iter()
            .find(|v| !fits(column, v))
            .map(|v| (column.as_str(), v)),
        Filter::IsNull { .. } => None,
    }
}
