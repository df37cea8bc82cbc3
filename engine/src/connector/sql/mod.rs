//! [`SqlConnector`]: tables in a SQLite or PostgreSQL database. Changes are read in
//! keyset pages on `(modified, key)`; a write batch is one transaction, tried whole and,
//! only when something in it is refused, again one operation at a time, so one bad
//! value costs one record, not the batch.

mod filter;
mod rows;
mod types;
mod version;
mod write;

use super::{
    ChangeCursor, ColumnShape, Compare, Connector, ConnectorError, FieldType, ModifiedKind,
    ModifiedUnit, Record, TableShape, TableSpec, Tombstone, WriteOp, WriteOutcome,
};
use crate::db::{Backend, OpenError, Sql, open_pool, quote, redact};
use crate::value::{ColumnKind, Value};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::collections::HashSet;

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
                orders_changes: types::ordering_kind(self.backend, &lower).is_some(),
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
        let kind = match types::ordering_kind(self.backend, declared) {
            Some(ModifiedKind::Timestamp { .. }) => ModifiedKind::Timestamp {
                zone: self.time_zone(spec).await?,
            },
            Some(kind) => kind,
            None => {
                return Err(schema(format!(
                    "column {:?} of table {:?} has type {declared}, which cannot order changes: \
                     a modified-on column holds integer milliseconds or seconds, a timestamp, \
                     a timestamptz or (SQLite) datetime text",
                    spec.modified, spec.table
                )));
            }
        };
        let kind = match (kind, spec.modified_unit) {
            (ModifiedKind::Millis, ModifiedUnit::Seconds) => ModifiedKind::Seconds,
            (kind, ModifiedUnit::Milliseconds) => kind,
            (_, ModifiedUnit::Seconds) => {
                return Err(schema(format!(
                    "column {:?} of table {:?} has type {declared}: modified_unit = \"seconds\" \
                     is for an integer column; leave it out for this one",
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
        matching: (ColumnKind, FieldType),
        values: &[Value],
    ) -> Result<Vec<Record>, ConnectorError> {
        let list = self.select_list(spec);
        self.select_in_as(spec, &list, column, matching, values, |row| {
            rows::record(row, spec)
        })
        .await
    }

    /// The rows whose `column` holds one of `values`, `select` of each, decoded by
    /// `decode`, in chunks of [`CHUNK`] values.
    async fn select_in_as<T>(
        &self,
        spec: &TableSpec,
        select: &str,
        column: &str,
        (kind, field): (ColumnKind, FieldType),
        values: &[Value],
        decode: impl Fn(&AnyRow) -> Result<T, sqlx::Error> + Send + Sync,
    ) -> Result<Vec<T>, ConnectorError> {
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
                "select {select} from {} where {column} in ",
                quote(&spec.table),
            ));
            sql.list(wanted, |sql, value| {
                sql.push(before).value(value, kind).push(after);
            });
            let mut conn = self.pool.acquire().await.map_err(|e| self.failed(e))?;
            let rows = sql.fetch_all(&mut conn).await.map_err(|e| self.failed(e))?;
            for row in &rows {
                records.push(decode(row).map_err(|e| self.failed(e))?);
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
            .map(|row| rows::record(row, spec).map_err(|e| self.failed(e)))
            .collect()
    }

    async fn read(&self, spec: &TableSpec, keys: &[String]) -> Result<Vec<Record>, ConnectorError> {
        let values: Vec<Value> = keys.iter().map(|k| Value::Text(k.clone())).collect();
        let key = quote(&spec.key);
        self.select_in(spec, &key, (spec.key_kind, FieldType::Any), &values)
            .await
    }

    async fn exists(
        &self,
        spec: &TableSpec,
        keys: &[String],
    ) -> Result<HashSet<String>, ConnectorError> {
        let values: Vec<Value> = keys.iter().map(|k| Value::Text(k.clone())).collect();
        let key = quote(&spec.key);
        let matching = (spec.key_kind, FieldType::Any);
        let found = self
            .select_in_as(spec, &key, &key, matching, &values, |row| {
                rows::key_text(row, 0)
            })
            .await?;
        Ok(found.into_iter().collect())
    }

    async fn find(
        &self,
        spec: &TableSpec,
        position: usize,
        values: &[Value],
        compare: Compare,
    ) -> Result<Vec<Record>, ConnectorError> {
        let field = spec.types.get(position).copied().unwrap_or_default();
        let kind = spec.kinds[position];
        let column = match (compare, kind) {
            (Compare::Folded, ColumnKind::Text) => {
                format!("lower(trim({}))", quote(&spec.columns[position]))
            }
            _ => quote(&spec.columns[position]),
        };
        self.select_in(spec, &column, (kind, field), values).await
    }

    async fn outside_filter(&self, spec: &TableSpec, key: &str) -> Result<bool, ConnectorError> {
        let Some(table_filter) = &spec.filter else {
            return Ok(false);
        };
        let mut sql = Sql::new(format!(
            "select 1 from {} where {} = ",
            quote(&spec.table),
            quote(&spec.key)
        ));
        sql.key(key, spec.key_kind).push(" and not coalesce((");
        filter::push(&mut sql, self.backend, table_filter, &spec.filter_kinds);
        sql.push("), false)");
        let mut conn = self.pool.acquire().await.map_err(|e| self.failed(e))?;
        let rows = sql.fetch_all(&mut conn).await.map_err(|e| self.failed(e))?;
        Ok(!rows.is_empty())
    }

    async fn outside_filter_keys(
        &self,
        spec: &TableSpec,
        offset: usize,
        limit: usize,
    ) -> Result<(i64, Vec<String>), ConnectorError> {
        let Some(table_filter) = &spec.filter else {
            return Ok((0, Vec::new()));
        };
        let outside = |select: &str| {
            let mut sql = Sql::new(format!(
                "select {select} from {} where not coalesce((",
                quote(&spec.table)
            ));
            filter::push(&mut sql, self.backend, table_filter, &spec.filter_kinds);
            sql.push("), false)");
            sql
        };
        let mut conn = self.pool.acquire().await.map_err(|e| self.failed(e))?;
        let count = outside("count(*)")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| self.failed(e))?
            .first()
            .map(|row| row.try_get::<i64, _>(0))
            .transpose()
            .map_err(|e| self.failed(e))?
            .unwrap_or(0);
        if limit == 0 {
            return Ok((count, Vec::new()));
        }
        let mut sql = outside(&self.select_list(spec));
        sql.push(&format!(" order by {} limit ", quote(&spec.key)))
            .bind(limit as i64)
            .push(" offset ")
            .bind(offset as i64);
        let rows = sql.fetch_all(&mut conn).await.map_err(|e| self.failed(e))?;
        let keys = rows
            .iter()
            .map(|row| rows::record(row, spec).map(|r| r.key))
            .collect::<Result<_, _>>()
            .map_err(|e| self.failed(e))?;
        Ok((count, keys))
    }

    async fn write(
        &self,
        spec: &TableSpec,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.write_batch(spec, ops).await
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
                    key: rows::key_text(row, 1)?,
                    deleted_at: row.try_get(2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.failed(e))
    }
}
