//! A table's [`Filter`] as SQL: each column quoted, each literal a bound value of the
//! column's kind, so the database compares as it would its own values.

use crate::db::{Sql, quote};
use crate::filter::Filter;
use crate::value::{ColumnKind, Value};

/// Appends `filter` to `sql`, parenthesised; `kinds` gives each named column's kind.
pub(super) fn push(sql: &mut Sql, filter: &Filter, kinds: &[(String, ColumnKind)]) {
    let kind = |column: &str| {
        kinds
            .iter()
            .find(|(name, _)| name == column)
            .map_or(ColumnKind::Text, |(_, kind)| *kind)
    };
    let bound = |value: &Value, kind: ColumnKind| value.to_kind(kind).unwrap_or(value.clone());
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
                push(sql, part, kinds);
            }
            sql.push(")");
        }
        Filter::Not(inner) => {
            sql.push("(not ");
            push(sql, inner, kinds);
            sql.push(")");
        }
        Filter::Compare { column, op, value } => {
            let kind = kind(column);
            sql.push(&format!("({} {} ", quote(column), op.sql()))
                .value(bound(value, kind), kind)
                .push(")");
        }
        Filter::In { column, values } => {
            let kind = kind(column);
            sql.push(&format!("({} in ", quote(column)));
            sql.list(values, |sql, value| {
                sql.value(bound(value, kind), kind);
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
    kinds: &[(String, ColumnKind)],
) -> Option<(&'a str, &'a Value)> {
    let fits = |column: &str, value: &Value| {
        kinds
            .iter()
            .find(|(name, _)| name == column)
            .is_none_or(|(_, kind)| value.to_kind(*kind).is_some())
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
