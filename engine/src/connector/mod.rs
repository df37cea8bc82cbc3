//! Connectors: how the engine reads and writes one table of a system. The interface is
//! batch-shaped on purpose — changes in keyset pages, reads by many keys, writes as one
//! batch with an outcome per operation, and optimistic writes that name the modified-on
//! value they expect — so a remote, rate-limited system (an OData API with `$batch`,
//! ETags and `Retry-After`) fits it as well as a database table does.

mod catalogue;
mod field_type;
mod odata;
mod sql;

pub use catalogue::{ColumnShape, TableShape};
pub use field_type::FieldType;
pub use odata::ODataConnector;
pub use sql::SqlConnector;

use crate::filter::Filter;
use crate::value::{ColumnKind, Value};
use async_trait::async_trait;
use std::collections::HashSet;

/// What a mapping reads and writes of one table: its key, its modified-on column, and
/// the data columns, in a fixed order that every [`Record`] follows.
#[derive(Clone, Debug)]
pub struct TableSpec {
    /// The table.
    pub table: String,
    /// The key column.
    pub key: String,
    /// The modified-on column, kept by the system itself.
    pub modified: String,
    /// What the modified-on column holds, learnt when the table is checked.
    pub modified_kind: ModifiedKind,
    /// The unit of an integer modified-on column, as the mapping declares it.
    pub modified_unit: ModifiedUnit,
    /// The time zone the system's `time_zone` setting names, for a `timestamp` column
    /// without one.
    pub time_zone: Option<String>,
    /// The data columns.
    pub columns: Vec<String>,
    /// The kind of each data column, learnt from the system when the table is checked.
    pub kinds: Vec<ColumnKind>,
    /// What each data column accepts beyond its kind, learnt with the kinds.
    pub types: Vec<FieldType>,
    /// The kind of the key column.
    pub key_kind: ColumnKind,
    /// The system's tombstone table, if it keeps one.
    pub tombstones: Option<String>,
    /// Which records belong in the mapping; none: every one. Its columns' kinds are
    /// learnt when the table is checked.
    pub filter: Option<Filter>,
    /// The kind and type of each column the filter names.
    pub filter_kinds: Vec<(String, ColumnKind, FieldType)>,
}

/// What a modified-on column holds. A record's version is a whole number of ticks since
/// 1970 in the column's own precision; the engine compares versions, and turns a span of
/// time into ticks only for the overlap window ([`TableSpec::ticks_per_ms`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ModifiedKind {
    /// Integer milliseconds since 1970.
    #[default]
    Millis,
    /// Integer seconds since 1970 (Unix time): read as milliseconds, so a version is
    /// comparable with every other side's.
    Seconds,
    /// A PostgreSQL `timestamp with time zone`: microseconds.
    TimestampTz,
    /// A PostgreSQL `timestamp` without time zone, read as wall-clock time in `zone`:
    /// microseconds.
    Timestamp {
        /// The IANA time zone its values are in (`Europe/Copenhagen`, `UTC`).
        zone: String,
    },
    /// A SQLite `datetime` column of ISO 8601 text (`2026-12-02 17:00:00.123`, with `T`
    /// or a zone offset alike): milliseconds.
    DatetimeText,
    /// An OData `Edm.DateTimeOffset` property the service stamps: milliseconds. Services
    /// stamp it in whole seconds (Dataverse does), so it is coarse.
    DateTimeOffset,
}

/// The unit of an integer modified-on column: a table's `modified_unit` setting
/// (`"milliseconds"`, the default, or `"seconds"`). An integer's type does not say which
/// it holds, so the mapping does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModifiedUnit {
    /// Milliseconds since 1970.
    #[default]
    Milliseconds,
    /// Seconds since 1970.
    Seconds,
}

impl ModifiedKind {
    /// Whether two changes of a record within one second can share a version (integer
    /// seconds), so that an equal version does not mean an unchanged record.
    pub fn coarse(&self) -> bool {
        matches!(self, ModifiedKind::Seconds | ModifiedKind::DateTimeOffset)
    }

    /// How it is named to people (`integer milliseconds`, `timestamptz`).
    pub fn describe(&self) -> String {
        match self {
            ModifiedKind::Millis => "integer milliseconds".to_string(),
            ModifiedKind::Seconds => "integer seconds".to_string(),
            ModifiedKind::TimestampTz => "timestamptz".to_string(),
            ModifiedKind::Timestamp { zone } => format!("timestamp in {zone}"),
            ModifiedKind::DatetimeText => "datetime text".to_string(),
            ModifiedKind::DateTimeOffset => "Edm.DateTimeOffset".to_string(),
        }
    }
}

impl TableSpec {
    /// Version ticks in a millisecond: 1000 for microsecond timestamps, else 1.
    pub fn ticks_per_ms(&self) -> i64 {
        match self.modified_kind {
            ModifiedKind::TimestampTz | ModifiedKind::Timestamp { .. } => 1000,
            ModifiedKind::Millis
            | ModifiedKind::Seconds
            | ModifiedKind::DatetimeText
            | ModifiedKind::DateTimeOffset => 1,
        }
    }

    /// The position of `column` among the data columns.
    pub fn position(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }
}

/// One record: its key, its modified-on value, and the values of the spec's data columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The key, as text.
    pub key: String,
    /// The modified-on value, as a version in ticks ([`ModifiedKind`]).
    pub modified: i64,
    /// The data columns' values, in the spec's order.
    pub values: Vec<Value>,
}

/// A position in a table's changes: everything after `(modified, key)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeCursor {
    /// The modified-on value of the last record read.
    pub modified: i64,
    /// Its key.
    pub key: String,
}

/// A record deletion the system reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    /// The deleted record's key.
    pub key: String,
    /// When it was deleted.
    pub deleted_at: i64,
    /// The tombstone's own sequence number, which orders equal times.
    pub id: i64,
}

/// One write in a batch. Values are `(data column position, value)` pairs.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    /// Create a record with the given key.
    Create {
        /// The new record's key, chosen by the engine so that a repeated create is seen.
        key: String,
        /// The values to set.
        values: Vec<(usize, Value)>,
    },
    /// Change some values of a record, only if it still has the modified-on value expected.
    Update {
        /// The record's key.
        key: String,
        /// Its modified-on value when the engine read it.
        expected: i64,
        /// The values to set.
        values: Vec<(usize, Value)>,
    },
    /// Delete a record.
    Delete {
        /// The record's key.
        key: String,
    },
}

impl WriteOp {
    /// The key the operation writes.
    pub fn key(&self) -> &str {
        match self {
            WriteOp::Create { key, .. } | WriteOp::Update { key, .. } | WriteOp::Delete { key } => {
                key
            }
        }
    }
}

/// What became of one [`WriteOp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written; the record's modified-on value is now this (0 after a delete).
    Written(i64),
    /// The system refused the values: a constraint, a type, a length.
    Refused(String),
    /// The record changed (or vanished) since it was read: nothing was written.
    Changed,
}

/// Why a connector could not do its work at all (as opposed to refusing one record).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The system did not answer.
    #[error("system {system} is unreachable at {url}: {message}")]
    Unreachable {
        /// The system's name.
        system: String,
        /// Its URL, password hidden.
        url: String,
        /// The driver's reason.
        message: String,
    },
    /// The table or a column is not what the configuration says.
    #[error("system {system}: {message}")]
    Schema {
        /// The system's name.
        system: String,
        /// What is missing or wrong.
        message: String,
    },
    /// The position a change feed was read from is no longer valid (an expired delta
    /// token): the side must be read whole again.
    #[error("system {system}: its change-tracking position is no longer valid: {message}")]
    Expired {
        /// The system's name.
        system: String,
        /// The service's words.
        message: String,
    },
    /// A statement failed for the whole batch.
    #[error("system {system}: {message}")]
    Failed {
        /// The system's name.
        system: String,
        /// The reason.
        message: String,
    },
}

/// How [`Connector::find`] compares a column's values with the values looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Equal as stored.
    Exact,
    /// Text equal but for letter case and surrounding spaces. The values looked for are
    /// folded already ([`Value::folded`]); a system serves this from an index on the
    /// folded column where it has one (`lower(trim(column))` in SQL).
    Folded,
}

/// One page of a system's own change tracking (OData's delta links): the records
/// changed or created, the keys of those deleted, and where the feed goes on.
#[derive(Clone, Debug, PartialEq)]
pub struct DeltaPage {
    /// The records changed since the position read from.
    pub records: Vec<Record>,
    /// The keys of the records deleted since.
    pub deleted: Vec<String>,
    /// Where the feed goes on.
    pub next: DeltaNext,
}

/// Where a change-tracking feed goes on after a page. Both are opaque to the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeltaNext {
    /// More of this round: the next page's position.
    Page(String),
    /// The round is read: the position the next run reads from.
    Round(String),
}

/// What a connector has sent a remote system so far, and what the service's protection
/// cost: the figures behind "how many requests, how many 429s, how long they took".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Traffic {
    /// Requests sent.
    pub requests: u64,
    /// 429 and 503 answers met.
    pub refusals: u64,
    /// Milliseconds requests waited for the service to take them again.
    pub waited_ms: u64,
    /// Until when (milliseconds since 1970) no request is sent, the service having asked
    /// to wait; `None` when requests go now.
    pub closed_until: Option<i64>,
}

/// A system's tables, read and written in batches.
#[async_trait]
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// The system's name.
    fn system(&self) -> &str;

    /// What it has sent the system so far (nothing counted, for a database).
    fn traffic(&self) -> Traffic {
        Traffic::default()
    }

    /// The system's tables, by name.
    async fn tables(&self) -> Result<Vec<String>, ConnectorError>;

    /// One table's columns and key as the system's catalogue describes them; `None` when
    /// there is no such table.
    async fn shape(&self, table: &str) -> Result<Option<TableShape>, ConnectorError>;

    /// Checks that `spec`'s table and columns exist and fills in their kinds.
    async fn check(&self, spec: &mut TableSpec) -> Result<(), ConnectorError>;

    /// Whether `spec`'s changes come from the system's own change tracking
    /// ([`Connector::delta`]) rather than by modified-on value.
    fn tracks_changes(&self, _spec: &TableSpec) -> bool {
        false
    }

    /// One page of the system's change tracking from `position` (one it gave before);
    /// from none, every record, tracking changes from then on. A position no longer
    /// valid answers [`ConnectorError::Expired`].
    async fn delta(
        &self,
        _spec: &TableSpec,
        _position: Option<&str>,
    ) -> Result<DeltaPage, ConnectorError> {
        Err(ConnectorError::Failed {
            system: self.system().to_string(),
            message: "it keeps no change tracking".to_string(),
        })
    }

    /// Up to `limit` records modified at or after `since`, after `cursor` if given,
    /// ordered by modified-on value, then key.
    async fn changes(
        &self,
        spec: &TableSpec,
        since: i64,
        cursor: Option<&ChangeCursor>,
        limit: usize,
    ) -> Result<Vec<Record>, ConnectorError>;

    /// The records with these keys that exist.
    async fn read(&self, spec: &TableSpec, keys: &[String]) -> Result<Vec<Record>, ConnectorError>;

    /// Which of these keys name records that exist, inside the table's filter or not:
    /// [`Connector::read`] for a caller that needs no values (a deletion scan). A
    /// connector that can ask for the keys alone does.
    async fn exists(
        &self,
        spec: &TableSpec,
        keys: &[String],
    ) -> Result<HashSet<String>, ConnectorError> {
        Ok(self
            .read(spec, keys)
            .await?
            .into_iter()
            .map(|r| r.key)
            .collect())
    }

    /// The records whose data column `position` holds one of `values`, compared as
    /// `compare` says.
    async fn find(
        &self,
        spec: &TableSpec,
        position: usize,
        values: &[Value],
        compare: Compare,
    ) -> Result<Vec<Record>, ConnectorError>;

    /// Whether the record `key` exists but lies outside the table's filter, so that the
    /// change feed never reads it (false for a table without a filter).
    async fn outside_filter(&self, spec: &TableSpec, key: &str) -> Result<bool, ConnectorError>;

    /// How many records exist but lie outside the table's filter (none for a table
    /// without one), and the keys of up to `limit` of them after the first `offset`, in
    /// key order.
    async fn outside_filter_keys(
        &self,
        spec: &TableSpec,
        offset: usize,
        limit: usize,
    ) -> Result<(i64, Vec<String>), ConnectorError>;

    /// Applies `ops` as one batch, answering an outcome for each, in order.
    async fn write(
        &self,
        spec: &TableSpec,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError>;

    /// Up to `limit` deletions of `spec`'s table after `(deleted_at, id)`; none when the
    /// system keeps no tombstones.
    async fn tombstones(
        &self,
        spec: &TableSpec,
        after: (i64, i64),
        limit: usize,
    ) -> Result<Vec<Tombstone>, ConnectorError>;
}
