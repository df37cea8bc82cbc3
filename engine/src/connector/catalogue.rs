//! What a system says about its own tables, before any mapping names them: the tables,
//! each one's columns with their declared types, how Coupler would read each, and the
//! key. `coupler inspect` shows it and `coupler mapping suggest` pairs two tables from it.

use crate::value::ColumnKind;
use serde::Serialize;

/// One table of a system, as its catalogue describes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableShape {
    /// The table's name.
    pub table: String,
    /// Its columns, in the table's order.
    pub columns: Vec<ColumnShape>,
}

/// One column of a table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnShape {
    /// The column's name.
    pub name: String,
    /// Its type as the system declares it (`text`, `bigint`, `timestamp with time zone`).
    pub declared: String,
    /// How Coupler reads and writes its values; `None`: it cannot.
    pub kind: Option<ColumnKind>,
    /// Whether it may hold no value.
    pub nullable: bool,
    /// Whether it is (part of) the primary key.
    pub primary_key: bool,
    /// Whether it can serve as the table's modified-on column: a value the system changes
    /// on every change, which orders changes.
    pub orders_changes: bool,
}

impl TableShape {
    /// The primary key, when it is one column.
    pub fn key(&self) -> Option<&ColumnShape> {
        let mut keys = self.columns.iter().filter(|c| c.primary_key);
        match (keys.next(), keys.next()) {
            (Some(key), None) => Some(key),
            _ => None,
        }
    }

    /// The columns that could serve as modified-on, likeliest first: those whose name
    /// says so (`modified_at`, `modifiedon`, `updated_at`, `last_changed`), then the rest
    /// that order changes.
    pub fn modified_candidates(&self) -> Vec<&ColumnShape> {
        let named = |column: &ColumnShape| {
            let name = column.name.to_lowercase();
            ["modif", "updat", "chang"]
                .iter()
                .any(|word| name.contains(word))
        };
        let mut candidates: Vec<&ColumnShape> = self
            .columns
            .iter()
            .filter(|c| c.orders_changes && !c.primary_key && named(c))
            .collect();
        candidates.sort_by_key(|c| !c.name.to_lowercase().contains("modif"));
        candidates
    }
}
