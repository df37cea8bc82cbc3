//! [`SqlConnector`]: tables in a SQLite or PostgreSQL database. Changes are read in
//! keyset pages on `(modified, key)`; a write batch is one transaction, tried whole and,
//! only when something in it is refused, again one operation at a time, so one bad
//! value costs one record, not the batch.

mod filter;
mod types;
mod version;

use super::{
    ChangeCursor, ColumnShape, Connector, ConnectorError, FieldType, ModifiedKind, Record,
    TableShape, TableSpec, Tombstone, WriteOp, WriteOutcome,
};
use crate::db::{Backend, OpenError, Sql, open_pool, quote, redact};
use crate::value::{ColumnKind, Value};
use async_trait::async_trait;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{AnyConnection, AnyPool, Executor, Row, ValueRef};
use std::collections::BTreeSet;

/// Most rows a single statement carries: well inside both databases' parameter limits.
const CHUNK: usize = 400;

/// A SQLite or PostgreSQL database holding a system's tables.
#[derive(Debug)]
pub struct SqlConnector {
    system: String,
    url: String,
    pool: AnyPool,
    backend: Backend,
}

impl SqlConnector {
    /// Connects to system `system` at `url`. A SQLite file must exist already.
    pub async fn open(system: &str, url: &str) -> Result<SqlConnector, ConnectorError> {
        let shown = redact(url);
        let (pool, backend) =
            open_pool(url, false, 4)
                .await
                .map_err(|e| ConnectorError::Unreachable {
                    system: system.to_string(),
                    url: shown.clone(),
                    message: match e {
                        OpenError::InvalidUrl(reason) => reason,
                        OpenError::Unreachable(source) => source.to_string(),
                    },
                })?;
        Ok(SqlConnector {
            system: system.to_string(),
            url: shown,
            pool,
            backend,
        })
    }

    /// Which database engine holds the system.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn failed(&self, error: sqlx::Error) -> ConnectorError {
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_) => ConnectorError::Unreachable {
                system: self.system.clone(),
                url: self.url.clone(),
                message: error.to_string(),
            },
            other => ConnectorError::Failed {
                system: self.system.clone(),
                message: other.to_string(),
            },
        }
    }

    /// The columns of `table` with their declared types; none when there is no such table.
    async fn columns(&self, table: &str) -> Result<Vec<(String, String)>, ConnectorError> {
        // Asked of the catalogue, not by selecting them: SQLite reads an unknown
        // double-quoted column name as a string and would not complain.
        let sql = match self.backend {
            Backend::Sqlite => "select name, type from pragma_table_info($1)",
            // The type with the arguments that limit it: `character varying(40)`,
            // `numeric(12,2)`.
            Backend::Postgres => {
                "select column_name::text, data_type::text || case \
                   when character_maximum_length is not null \
                     then '(' || character_maximum_length || ')' \
                   when data_type = 'numeric' and numeric_precision is not null \
                     then '(' || numeric_precision || ',' || coalesce(numeric_scale, 0) || ')' \
                   else '' end \
                 from information_schema.columns \
                 where table_schema = current_schema() and table_name = $1"
            }
        };
        let rows = sqlx::query(sql)
            .bind(table)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.failed(e))
    }

    /// Each column of `table`: name, declared type, nullable, part of the primary key.
    async fn catalogue(&self, table: &str) -> Result<Vec<ColumnShape>, ConnectorError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                r#"select name, type, 1 - "notnull", pk from pragma_table_info($1) order by cid"#
            }
            Backend::Postgres => {
                "select c.column_name::text, c.data_type::text, \
                 (c.is_nullable = 'YES')::int::int8, \
                 exists (select 1 from information_schema.table_constraints t \
                 join information_schema.key_column_usage k \
                 on k.constraint_name = t.constraint_name \
                 and k.table_schema = t.table_schema and k.table_name = t.table_name \
                 where t.table_schema = c.table_schema and t.table_name = c.table_name \
                 and t.constraint_type = 'PRIMARY KEY' \
                 and k.column_name = c.column_name)::int::int8 \
                 from information_schema.columns c \
                 where c.table_schema = current_schema() and c.table_name = $1 \
                 order by c.ordinal_position"
            }
        };
        let rows = sqlx::query(sql)
            .bind(table)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        let column = |row: &AnyRow| -> Result<ColumnShape, sqlx::Error> {
            let declared: String = row.try_get(1)?;
            let lower = declared.to_lowercase();
            let kind = types::of(self.backend, &lower).map(|(kind, _)| kind);
            Ok(ColumnShape {
                name: row.try_get(0)?,
                orders_changes: ordering_kind(self.backend, &lower).is_some(),
                declared,
                kind,
                nullable: row.try_get::<i64, _>(2)? != 0,
                primary_key: row.try_get::<i64, _>(3)? != 0,
            })
        };
        rows.iter()
            .map(column)
            .collect::<Result<_, _>>()
            .map_err(|e| self.failed(e))
    }

    /// What `spec`'s modified-on column, declared as `declared`, holds; refused when it
    /// cannot order changes.
    async fn modified_kind(
        &self,
        spec: &TableSpec,
        declared: &str,
    ) -> Result<ModifiedKind, ConnectorError> {
        let schema = |message: String| ConnectorError::Schema {
            system: self.system.clone(),
            message,
        };
        let kind = match ordering_kind(self.backend, declared) {
            Some(ModifiedKind::Timestamp { .. }) => ModifiedKind::Timestamp {
                zone: self.time_zone(spec).await?,
            },
            Some(kind) => kind,
            None => {
                return Err(schema(format!(
                    "column {:?} of table {:?} has type {declared}, which cannot order changes: \
                     a modified-on column holds integer milliseconds, a timestamp, a timestamptz \
                     or (SQLite) datetime text",
                    spec.modified, spec.table
                )));
            }
        };
        if kind == ModifiedKind::DatetimeText {
            // Text that names no instant would be read as no version at all.
            let column = quote(&spec.modified);
            let unreadable: Option<Option<String>> = sqlx::query_scalar(&format!(
                "select cast({column} as text) from {} \
                 where {column} is null or julianday({column}) is null limit 1",
                quote(&spec.table)
            ))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
            if let Some(value) = unreadable {
                let value = value.map_or("no value".to_string(), |v| format!("{v:?}"));
                return Err(schema(format!(
                    "column {:?} of table {:?} holds {value}, which is no ISO 8601 datetime: \
                     it cannot serve as modified-on",
                    spec.modified, spec.table
                )));
            }
        }
        Ok(kind)
    }

    /// The time zone of a `timestamp` column without one: the system's `time_zone`
    /// setting, else the database's own (`alter database … set timezone`), else UTC.
    /// (Connections here run in UTC, so the session's zone tells nothing.)
    async fn time_zone(&self, spec: &TableSpec) -> Result<String, ConnectorError> {
        let zone = match &spec.time_zone {
            Some(zone) => zone.clone(),
            None => sqlx::query_scalar::<_, String>(
                "select substr(s, position('=' in s) + 1) \
                 from pg_db_role_setting d, unnest(d.setconfig) s \
                 where d.setdatabase = (select oid from pg_database where datname = current_database()) \
                 and d.setrole = 0 and lower(s) like 'timezone=%'",
            )
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.failed(e))?
            .unwrap_or_else(|| "UTC".to_string()),
        };
        let known: Option<String> =
            sqlx::query_scalar("select name from pg_timezone_names where name = $1")
                .bind(&zone)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.failed(e))?;
        if known.is_none() {
            return Err(ConnectorError::Schema {
                system: self.system.clone(),
                message: format!(
                    "time zone {zone:?} is unknown to the database: name one such as \
                     \"Europe/Copenhagen\" or \"UTC\""
                ),
            });
        }
        Ok(zone)
    }

    fn select_list(&self, spec: &TableSpec) -> String {
        let mut list = format!(
            "{}, {}",
            quote(&spec.key),
            version::read(&spec.modified_kind, &quote(&spec.modified))
        );
        for (i, column) in spec.columns.iter().enumerate() {
            let field = spec.types.get(i).copied().unwrap_or_default();
            list.push_str(", ");
            list.push_str(&types::read(self.backend, field, &quote(column)));
        }
        list
    }

    async fn select_in(
        &self,
        spec: &TableSpec,
        column: &str,
        (kind, field): (ColumnKind, FieldType),
        values: &[Value],
    ) -> Result<Vec<Record>, ConnectorError> {
        let mut records = Vec::with_capacity(values.len());
        let (before, after) = types::write(self.backend, field);
        for chunk in values.chunks(CHUNK) {
            // A value the column cannot hold matches nothing.
            let wanted: Vec<Value> = chunk
                .iter()
                .filter_map(|v| field.admit(v.to_kind(kind)?).ok())
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let mut sql = Sql::new(format!(
                "select {} from {} where {} in ",
                self.select_list(spec),
                quote(&spec.table),
                quote(column)
            ));
            sql.list(wanted, |sql, value| {
                sql.push(before).value(value, kind).push(after);
            });
            let mut conn = self.pool.acquire().await.map_err(|e| self.failed(e))?;
            let rows = sql.fetch_all(&mut conn).await.map_err(|e| self.failed(e))?;
            for row in &rows {
                records.push(record(row, spec).map_err(|e| self.failed(e))?);
            }
        }
        Ok(records)
    }
}

#[async_trait]
impl Connector for SqlConnector {
    fn system(&self) -> &str {
        &self.system
    }

    async fn tables(&self) -> Result<Vec<String>, ConnectorError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "select name from sqlite_master where type = 'table' \
                 and name not like 'sqlite_%' order by name"
            }
            Backend::Postgres => {
                "select table_name::text from information_schema.tables \
                 where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1"
            }
        };
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        rows.iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(|e| self.failed(e))
    }

    async fn shape(&self, table: &str) -> Result<Option<TableShape>, ConnectorError> {
        let columns = self.catalogue(table).await?;
        Ok((!columns.is_empty()).then(|| TableShape {
            table: table.to_string(),
            columns,
        }))
    }

    async fn check(&self, spec: &mut TableSpec) -> Result<(), ConnectorError> {
        let schema = |message: String| ConnectorError::Schema {
            system: self.system.clone(),
            message,
        };
        let columns = self.columns(&spec.table).await?;
        if columns.is_empty() {
            return Err(schema(format!(
                "table {:?} cannot be read: there is no such table",
                spec.table
            )));
        }
        // A data column's kind and type; the key's kind is its declaration's plain kind.
        let type_of = |column: &str| -> Result<(ColumnKind, FieldType), ConnectorError> {
            let declared = columns
                .iter()
                .find(|(name, _)| name == column)
                .map(|(_, declared)| declared.to_lowercase())
                .ok_or_else(|| {
                    schema(format!("table {:?} has no column {column:?}", spec.table))
                })?;
            types::of(self.backend, &declared).ok_or_else(|| {
                schema(format!(
                    "column {column:?} of table {:?} has type {declared}, which Coupler does not read",
                    spec.table
                ))
            })
        };
        spec.key_kind = match type_of(&spec.key)? {
            (kind, FieldType::Any | FieldType::Text { .. }) => kind,
            _ => {
                return Err(schema(format!(
                    "column {:?} of table {:?} cannot be a key: keys are text or whole numbers",
                    spec.key, spec.table
                )));
            }
        };
        let declared = columns
            .iter()
            .find(|(name, _)| *name == spec.modified)
            .map(|(_, declared)| declared.to_lowercase())
            .ok_or_else(|| {
                schema(format!(
                    "table {:?} has no column {:?}",
                    spec.table, spec.modified
                ))
            })?;
        spec.modified_kind = self.modified_kind(spec, &declared).await?;
        (spec.kinds, spec.types) = spec
            .columns
            .iter()
            .map(|c| type_of(c))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .unzip();
        if let Some(table_filter) = &spec.filter {
            let mut kinds = Vec::new();
            for column in table_filter.columns() {
                if !columns.iter().any(|(name, _)| name == column) {
                    return Err(schema(format!(
                        "the filter of table {:?} names column {column:?}, which the table lacks",
                        spec.table
                    )));
                }
                let (kind, field) = type_of(column)?;
                kinds.push((column.to_string(), kind, field));
            }
            if let Some((column, value)) = filter::misfit(table_filter, &kinds) {
                return Err(schema(format!(
                    "the filter of table {:?} compares column {column:?} with {value}, which it cannot hold",
                    spec.table
                )));
            }
            spec.filter_kinds = kinds;
        }
        if let Some(tombstones) = &spec.tombstones {
            let found = self.columns(tombstones).await?;
            let missing: Vec<&str> = ["id", "table_name", "record_key", "deleted_at"]
                .into_iter()
                .filter(|c| !found.iter().any(|(name, _)| name == c))
                .collect();
            if !missing.is_empty() {
                return Err(schema(format!(
                    "tombstone table {tombstones:?} lacks {}: it needs id, table_name, record_key and deleted_at",
                    missing.join(", ")
                )));
            }
        }
        Ok(())
    }

    async fn changes(
        &self,
        spec: &TableSpec,
        since: i64,
        cursor: Option<&ChangeCursor>,
        limit: usize,
    ) -> Result<Vec<Record>, ConnectorError> {
        let kind = &spec.modified_kind;
        let (modified, key) = (
            version::order(kind, &quote(&spec.modified)),
            quote(&spec.key),
        );
        let (before, after) = version::from_version(kind);
        let mut sql = Sql::new(format!(
            "select {} from {} where true",
            self.select_list(spec),
            quote(&spec.table)
        ));
        // After a cursor, its modified-on value is the lower bound: the condition that
        // follows is no range an index can seek to, and each page would otherwise read
        // every record before the cursor again. (The very first read has none: the
        // earliest version is no instant a timestamp can hold.)
        let lower = cursor.map_or(since, |c| c.modified.max(since));
        if lower > i64::MIN {
            sql.push(&format!(" and {modified} >= {before}"))
                .bind(lower)
                .push(&after);
        }
        if let Some(cursor) = cursor {
            sql.push(&format!(" and ({modified} > {before}"))
                .bind(cursor.modified)
                .push(&after);
            sql.push(&format!(" or ({modified} = {before}"))
                .bind(cursor.modified)
                .push(&after);
            sql.push(&format!(" and {key} > "));
            sql.key(&cursor.key, spec.key_kind);
            sql.push("))");
        }
        if let Some(table_filter) = &spec.filter {
            sql.push(" and ");
            filter::push(&mut sql, self.backend, table_filter, &spec.filter_kinds);
        }
        sql.push(&format!(" order by {modified}, {key} limit "))
            .bind(limit as i64);
        let mut conn = self.pool.acquire().await.map_err(|e| self.failed(e))?;
        let rows = sql.fetch_all(&mut conn).await.map_err(|e| self.failed(e))?;
        rows.iter()
            .map(|row| record(row, spec).map_err(|e| self.failed(e)))
            .collect()
    }

    async fn read(&self, spec: &TableSpec, keys: &[String]) -> Result<Vec<Record>, ConnectorError> {
        let values: Vec<Value> = keys.iter().map(|k| Value::Text(k.clone())).collect();
        self.select_in(spec, &spec.key, (spec.key_kind, FieldType::Any), &values)
            .await
    }

    async fn find(
        &self,
        spec: &TableSpec,
        position: usize,
        values: &[Value],
    ) -> Result<Vec<Record>, ConnectorError> {
        let field = spec.types.get(position).copied().unwrap_or_default();
        self.select_in(
            spec,
            &spec.columns[position],
            (spec.kinds[position], field),
            values,
        )
        .await
    }

    async fn write(
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

    async fn tombstones(
        &self,
        spec: &TableSpec,
        after: (i64, i64),
        limit: usize,
    ) -> Result<Vec<Tombstone>, ConnectorError> {
        let Some(table) = &spec.tombstones else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(&format!(
            r"select id, record_key, deleted_at from {}
              where table_name = $1 and (deleted_at > $2 or (deleted_at = $2 and id > $3))
              order by deleted_at, id limit $4",
            quote(table)
        ))
        .bind(&spec.table)
        .bind(after.0)
        .bind(after.1)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.failed(e))?;
        rows.iter()
            .map(|row| {
                Ok(Tombstone {
                    id: row.try_get(0)?,
                    key: key_text(row, 1)?,
                    deleted_at: row.try_get(2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.failed(e))
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
                    for (value, &c) in values.iter().zip(&columns) {
                        row.value_within(
                            value.clone(),
                            spec.kinds[c],
                            types::write(
                                self.backend,
                                spec.types.get(c).copied().unwrap_or_default(),
                            ),
                        );
                    }
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
                    for (value, &c) in values.iter().zip(&columns) {
                        row.value_within(
                            value.clone(),
                            spec.kinds[c],
                            types::write(
                                self.backend,
                                spec.types.get(c).copied().unwrap_or_default(),
                            ),
                        );
                    }
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

/// The kind of a column from its declared type; `None` for types the engine does not read.
/// What a modified-on column declared `declared` (lower case) holds, when it can order
/// changes; a `timestamp`'s zone is left empty, for the caller to learn.
fn ordering_kind(backend: Backend, declared: &str) -> Option<ModifiedKind> {
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

fn declared_kind(declared: &str) -> Option<ColumnKind> {
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

fn record(row: &AnyRow, spec: &TableSpec) -> Result<Record, sqlx::Error> {
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

fn key_text(row: &AnyRow, i: usize) -> Result<String, sqlx::Error> {
    Ok(value_at(row, i)?.as_text())
}

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
