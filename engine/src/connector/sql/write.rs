//! Writing a batch: values converted and checked first (a misfit fails its record, not
//! the batch), then one transaction of creates, updates that name the modified-on value
//! they expect, and deletes; tried whole, and only when something in it is refused again
//! one statement at a time inside savepoints, so one bad value costs one record.

use super::{CHUNK, SqlConnector, rows::key_text, types, version};
use crate::connector::{ConnectorError, TableSpec, WriteOp, WriteOutcome};
use crate::db::{Backend, Row, Sql, quote};
use crate::value::{ColumnKind, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Executor, Row as _};
use std::collections::BTreeSet;

impl SqlConnector {
    /// Applies `ops` as one batch, answering an outcome for each, in order.
    pub(super) async fn write_batch(
        &self,
        spec: &TableSpec,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; ops.len()];
        // Values the columns cannot hold are refused before anything is sent.
        let mut prepared: Vec<Option<Prepared>> = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match prepare(spec, op) {
                Ok(p) => prepared.push(Some(p)),
                Err(message) => {
                    outcomes[i] = Some(WriteOutcome::Refused(message));
                    prepared.push(None);
                }
            }
        }
        let begin = match self.backend {
            Backend::Sqlite => self.pool.begin_with("begin immediate").await,
            Backend::Postgres => self.pool.begin().await,
        };
        let mut tx = begin.map_err(|e| self.failed(e))?;
        if let Some(statement) = version::write_zone(&spec.modified_kind) {
            tx.execute(statement.as_str())
                .await
                .map_err(|e| self.failed(e))?;
        }
        let of_kind = |wanted: fn(&Prepared) -> bool| -> Vec<usize> {
            (0..ops.len())
                .filter(|&i| prepared[i].as_ref().is_some_and(wanted))
                .collect()
        };
        let creates = of_kind(|p| matches!(p, Prepared::Create { .. }));
        for chunk in creates.chunks(CHUNK) {
            self.insert_chunk(&mut tx, spec, chunk, &prepared, &mut outcomes)
                .await?;
        }
        let updates = of_kind(|p| matches!(p, Prepared::Update { .. }));
        for chunk in updates.chunks(CHUNK) {
            self.update_chunk(&mut tx, spec, chunk, &prepared, &mut outcomes)
                .await?;
        }
        let deletes = of_kind(|p| matches!(p, Prepared::Delete { .. }));
        self.delete_each(&mut tx, spec, &deletes, &prepared, &mut outcomes)
            .await?;

        // The modified-on values the system gave the written records, read in the same
        // transaction so that no other writer's change can be mistaken for ours.
        let written: Vec<String> = ops
            .iter()
            .zip(&outcomes)
            .filter(|(op, outcome)| outcome.is_none() && !matches!(op, WriteOp::Delete { .. }))
            .map(|(op, _)| op.key().to_string())
            .collect();
        let mut modified = std::collections::HashMap::with_capacity(written.len());
        for chunk in written.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "select {}, {} from {} where {} in ",
                quote(&spec.key),
                version::read(&spec.modified_kind, &quote(&spec.modified)),
                quote(&spec.table),
                quote(&spec.key)
            ));
            sql.list(chunk, |sql, key| {
                sql.key(key, spec.key_kind);
            });
            let rows = sql.fetch_all(&mut tx).await.map_err(|e| self.failed(e))?;
            for row in &rows {
                let key = key_text(row, 0).map_err(|e| self.failed(e))?;
                let value: i64 = row.try_get(1).map_err(|e| self.failed(e))?;
                modified.insert(key, value);
            }
        }
        tx.commit().await.map_err(|e| self.failed(e))?;
        Ok(ops
            .iter()
            .zip(outcomes)
            .map(|(op, outcome)| match (outcome, op) {
                (Some(outcome), _) => outcome,
                (None, WriteOp::Delete { .. }) => WriteOutcome::Written(0),
                (None, op) => match modified.get(op.key()) {
                    Some(m) => WriteOutcome::Written(*m),
                    None => WriteOutcome::Changed,
                },
            })
            .collect())
    }
}

/// A write with its values already converted to the columns' kinds.
enum Prepared {
    Create {
        key: Value,
        columns: Vec<usize>,
        values: Vec<Value>,
    },
    Update {
        key: Value,
        expected: i64,
        columns: Vec<usize>,
        values: Vec<Value>,
    },
    Delete {
        key: Value,
    },
}

fn prepare(spec: &TableSpec, op: &WriteOp) -> Result<Prepared, String> {
    let key = Value::Text(op.key().to_string())
        .to_kind(spec.key_kind)
        .ok_or_else(|| format!("{:?} cannot be a key of {:?}", op.key(), spec.table))?;
    let convert = |values: &[(usize, Value)]| -> Result<(Vec<usize>, Vec<Value>), String> {
        let mut columns = Vec::with_capacity(values.len());
        let mut converted = Vec::with_capacity(values.len());
        for (position, value) in values {
            let kind = spec.kinds[*position];
            let field = spec.types.get(*position).copied().unwrap_or_default();
            let value = field.admit(value.clone()).map_err(|which| {
                format!(
                    "{value} cannot be stored in {}.{}, {which}",
                    spec.table, spec.columns[*position]
                )
            })?;
            let value = value.to_kind(kind).ok_or_else(|| {
                format!(
                    "{value} cannot be stored in {}.{}, which holds {}",
                    spec.table,
                    spec.columns[*position],
                    match kind {
                        ColumnKind::Integer => "whole numbers",
                        ColumnKind::Real => "numbers",
                        ColumnKind::Text => "text",
                    }
                )
            })?;
            columns.push(*position);
            converted.push(value);
        }
        Ok((columns, converted))
    };
    Ok(match op {
        WriteOp::Create { values, .. } => {
            let (columns, values) = convert(values)?;
            Prepared::Create {
                key,
                columns,
                values,
            }
        }
        WriteOp::Update {
            expected, values, ..
        } => {
            let (columns, values) = convert(values)?;
            Prepared::Update {
                key,
                expected: *expected,
                columns,
                values,
            }
        }
        WriteOp::Delete { .. } => Prepared::Delete { key },
    })
}

impl SqlConnector {
    /// Inserts the creates `chunk` (indexes into `prepared`) with one statement per set of
    /// columns.
    async fn insert_chunk(
        &self,
        tx: &mut AnyConnection,
        spec: &TableSpec,
        chunk: &[usize],
        prepared: &[Option<Prepared>],
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        for (columns, members) in by_columns(chunk, prepared) {
            let statement = |rows: &[usize]| {
                let mut sql = Sql::new(format!(
                    "insert into {} ({}",
                    quote(&spec.table),
                    quote(&spec.key)
                ));
                for &c in &columns {
                    sql.push(", ").push(&quote(&spec.columns[c]));
                }
                sql.push(") ");
                sql.values(rows, |row, &i| {
                    let Some(Prepared::Create { key, values, .. }) = &prepared[i] else {
                        unreachable!("only creates are grouped")
                    };
                    row.value(key.clone(), spec.key_kind);
                    self.cells(row, spec, &columns, values);
                });
                sql
            };
            self.unless_refused(tx, &members, statement, outcomes)
                .await?;
        }
        Ok(())
    }

    /// Updates the records of `chunk` (indexes into `prepared`) with one statement per set
    /// of columns, each only if it still has the modified-on value it was read with: a
    /// record changed or gone meanwhile is not written and answers `Changed`.
    async fn update_chunk(
        &self,
        tx: &mut AnyConnection,
        spec: &TableSpec,
        chunk: &[usize],
        prepared: &[Option<Prepared>],
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        let (table, key) = (quote(&spec.table), quote(&spec.key));
        for (columns, members) in by_columns(chunk, prepared) {
            // The values are rows of a table `v` (`column1` the key, `column2` the
            // modified-on value read, then the columns set), joined to the records.
            let statement = |rows: &[usize]| {
                let mut sql = Sql::new(format!("update {table} set "));
                if columns.is_empty() {
                    // Nothing to set: touch the key so the optimistic check still runs.
                    sql.push(&format!("{key} = {key}"));
                }
                for (n, &c) in columns.iter().enumerate() {
                    let separator = if n > 0 { ", " } else { "" };
                    let column = quote(&spec.columns[c]);
                    sql.push(&format!("{separator}{column} = v.column{}", n + 3));
                }
                sql.push(" from (");
                sql.values(rows, |row, &i| {
                    let Some(Prepared::Update {
                        key,
                        expected,
                        values,
                        ..
                    }) = &prepared[i]
                    else {
                        unreachable!("only updates are grouped")
                    };
                    row.value(key.clone(), spec.key_kind).bind(*expected);
                    self.cells(row, spec, &columns, values);
                });
                let kind = &spec.modified_kind;
                let (before, after) = version::from_version(kind);
                sql.push(&format!(
                    ") as v where {table}.{key} = v.column1 and {} = {before}v.column2{after} \
                     returning {key}",
                    version::order(kind, &format!("{table}.{}", quote(&spec.modified)))
                ));
                sql
            };
            let rows = self
                .unless_refused(tx, &members, statement, outcomes)
                .await?;
            let written: BTreeSet<String> = rows
                .iter()
                .map(|row| key_text(row, 0))
                .collect::<Result<_, _>>()
                .map_err(|e| self.failed(e))?;
            for i in members {
                if outcomes[i].is_none() && !written.contains(&prepared_key(&prepared[i])) {
                    outcomes[i] = Some(WriteOutcome::Changed);
                }
            }
        }
        Ok(())
    }

    /// Runs `statement` for `rows` (indexes into the batch); when the database refuses
    /// it, runs each half again, until each refused record stands alone and answers
    /// `Refused`: a few refusals among many records cost a few statements each. Answers
    /// the rows the statements that went through returned.
    async fn unless_refused(
        &self,
        tx: &mut AnyConnection,
        rows: &[usize],
        statement: impl Fn(&[usize]) -> Sql,
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<Vec<AnyRow>, ConnectorError> {
        let mut returned = Vec::new();
        let mut to_run: Vec<&[usize]> = vec![rows];
        while let Some(rows) = to_run.pop() {
            match attempt(tx, statement(rows)).await {
                Ok(mut answer) => returned.append(&mut answer),
                Err(error) if !is_refusal(&error) => return Err(self.failed(error)),
                Err(error) if rows.len() == 1 => {
                    outcomes[rows[0]] = Some(WriteOutcome::Refused(db_message(&error)));
                }
                Err(_) => {
                    let (first, second) = rows.split_at(rows.len() / 2);
                    to_run.push(second);
                    to_run.push(first);
                }
            }
        }
        Ok(returned)
    }

    /// Deletes the records of `indexes` (indexes into `prepared`), one statement each; a
    /// record gone already answers `Changed`.
    async fn delete_each(
        &self,
        tx: &mut AnyConnection,
        spec: &TableSpec,
        indexes: &[usize],
        prepared: &[Option<Prepared>],
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        let key = quote(&spec.key);
        let statement = |rows: &[usize]| {
            let mut sql = Sql::new(format!("delete from {} where {key} = ", quote(&spec.table)));
            if let Some(Prepared::Delete { key, .. }) = &prepared[rows[0]] {
                sql.value(key.clone(), spec.key_kind);
            }
            sql.push(&format!(" returning {key}"));
            sql
        };
        for &i in indexes {
            let deleted = self.unless_refused(tx, &[i], statement, outcomes).await?;
            if deleted.is_empty() && outcomes[i].is_none() {
                outcomes[i] = Some(WriteOutcome::Changed);
            }
        }
        Ok(())
    }
}

impl SqlConnector {
    /// Appends `values` of the data columns `columns` to `row`, each as its column takes it.
    fn cells(&self, row: &mut Row<'_>, spec: &TableSpec, columns: &[usize], values: &[Value]) {
        for (value, &c) in values.iter().zip(columns) {
            let field = spec.types.get(c).copied().unwrap_or_default();
            row.value_within(
                value.clone(),
                spec.kinds[c],
                types::write(self.backend, field),
            );
        }
    }
}

/// `indexes` (into `prepared`) grouped by the columns their writes set, in order.
fn by_columns(indexes: &[usize], prepared: &[Option<Prepared>]) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    for &i in indexes {
        let columns = match &prepared[i] {
            Some(Prepared::Create { columns, .. } | Prepared::Update { columns, .. }) => columns,
            _ => continue,
        };
        match groups.iter_mut().find(|(c, _)| c == columns) {
            Some((_, members)) => members.push(i),
            None => groups.push((columns.clone(), vec![i])),
        }
    }
    groups
}

/// The key of a prepared write as text, as [`key_text`] reads keys back.
fn prepared_key(prepared: &Option<Prepared>) -> String {
    match prepared {
        Some(
            Prepared::Create { key, .. } | Prepared::Update { key, .. } | Prepared::Delete { key },
        ) => key.as_text(),
        None => String::new(),
    }
}

/// Runs one statement inside a savepoint, so that a refused statement leaves the
/// transaction usable (PostgreSQL aborts a transaction on any error otherwise); answers
/// the rows it returned.
async fn attempt(tx: &mut AnyConnection, statement: Sql) -> Result<Vec<AnyRow>, sqlx::Error> {
    tx.execute("savepoint coupler_write").await?;
    match statement.fetch_all(&mut *tx).await {
        Ok(rows) => {
            tx.execute("release savepoint coupler_write").await?;
            Ok(rows)
        }
        Err(error) => {
            tx.execute("rollback to savepoint coupler_write").await?;
            tx.execute("release savepoint coupler_write").await?;
            Err(error)
        }
    }
}

/// Whether the database refused the values (a constraint, a type, a length) rather than failing.
fn is_refusal(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(_))
}

/// The database's own words, without the driver's wrapping.
fn db_message(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}
