//! Opening a SQLite or PostgreSQL database through sqlx's `Any` driver: shared by the
//! store and the SQL connectors.

use crate::value::{ColumnKind, Value};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyConnection, AnyPool, Arguments, Connection, Encode, Executor, Type};
use std::time::Duration;

/// Which database engine a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend `conn` is connected to.
    pub fn of(conn: &AnyConnection) -> Backend {
        match conn.backend_name() {
            "SQLite" => Backend::Sqlite,
            _ => Backend::Postgres,
        }
    }
}

/// Why a database could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The URL is not one Coupler can use.
    InvalidUrl(String),
    /// The database did not answer, or refused the connection.
    Unreachable(sqlx::Error),
}

/// The backend `url` names, if any.
pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// Opens a pool on `url`. With `create`, a missing SQLite file is created.
pub(crate) async fn open_pool(
    url: &str,
    create: bool,
    max_connections: u32,
) -> Result<(AnyPool, Backend), OpenError> {
    install_default_drivers();
    let backend = backend_of(url).ok_or_else(|| {
        OpenError::InvalidUrl("expected sqlite://FILE or postgres://USER@HOST/DATABASE".into())
    })?;
    let url = match backend {
        Backend::Sqlite if create => {
            create_private(url).map_err(|e| OpenError::InvalidUrl(e.to_string()))?;
            sqlite_create_mode(url)
        }
        _ => url.to_string(),
    };
    // One plain connection first: a refused or misspelt URL reports the driver's own
    // reason at once, where the pool would retry until it timed out.
    let probe = AnyConnection::connect(&url).await.map_err(classify)?;
    probe.close().await.ok();
    let mut options = AnyPoolOptions::new();
    if backend == Backend::Sqlite && create {
        // The store's own file: WAL lets the console read while a job writes, and with WAL
        // a commit survives a process crash without an fsync per transaction. A page
        // cache of 8 MiB a connection (SQLite's default is 2) keeps a million couplings'
        // indexes from being read from the file again and again.
        options = options.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("pragma journal_mode = wal").await?;
                conn.execute("pragma synchronous = normal").await?;
                conn.execute("pragma cache_size = -8192").await?;
                Ok(())
            })
        });
    } else if backend == Backend::Postgres {
        // A transaction left open by a process that stopped answering (paused, swapped
        // out, cut off) would hold its row locks until the process came back, and every
        // other process would wait on them. The server ends such a session instead, and
        // its late commit fails; no transaction of coupler's idles this long, nor waits on
        // another connection of its own. A shorter limit set for the database or the role
        // is kept.
        options = options.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "select set_config('idle_in_transaction_session_timeout', \
                     case when current_setting('idle_in_transaction_session_timeout')::interval \
                     between interval '1 millisecond' and interval '15 seconds' \
                     then current_setting('idle_in_transaction_session_timeout') \
                     else '15s' end, false)",
                )
                .await?;
                Ok(())
            })
        });
    } else if backend == Backend::Sqlite {
        // A system's file: only this connection's page cache changes.
        options = options.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("pragma cache_size = -8192").await?;
                Ok(())
            })
        });
    }
    let pool = options
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .map_err(classify)?;
    Ok((pool, backend))
}

fn classify(error: sqlx::Error) -> OpenError {
    match error {
        sqlx::Error::Configuration(reason) => OpenError::InvalidUrl(reason.to_string()),
        other => OpenError::Unreachable(other),
    }
}

/// The file of a SQLite URL (`sqlite://FILE?…`), unless it names an in-memory database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or_default();
    (!file.is_empty() && file != ":memory:").then(|| file.into())
}

/// Creates the SQLite file of `url` readable and writable by its owner alone, when it
/// does not exist yet: it holds the store's sessions and audit, or a system's records.
/// SQLite gives its journal files the same mode.
fn create_private(url: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(file) = sqlite_file(url) else {
        return Ok(());
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
    {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.map(drop),
    }
}

/// Asks SQLite to create the file when it does not exist, unless the URL says otherwise.
pub(crate) fn sqlite_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// A table or column name quoted for SQL (names with quotes are refused by the configuration).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

/// A statement built piece by piece with `$1, $2, …` placeholders, which PostgreSQL
/// needs (sqlx's `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL
/// refuses). On SQLite the placeholders are sent as plain `?`: SQLite looks a numbered
/// parameter's name up by walking every name before it, so a statement of thousands of
/// `$n` spends its time binding (a quarter of a synchronization's CPU, measured).
pub(crate) struct Sql {
    text: String,
    args: AnyArguments<'static>,
    count: usize,
    /// Where each placeholder starts in `text`, and its length.
    placeholders: Vec<(usize, usize)>,
    /// Whether the database may keep the statement's plan for other values.
    persistent: bool,
}

impl Sql {
    /// A statement starting with `text`.
    pub fn new(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            args: AnyArguments::default(),
            count: 0,
            placeholders: Vec::new(),
            persistent: true,
        }
    }

    /// Has the statement planned for its values each time it runs: PostgreSQL plans a
    /// statement it keeps for any values after a few runs, and a plan that suits a common
    /// value can read a whole table for a rare one (a text search, for instance).
    pub fn planned_for_values(&mut self) -> &mut Sql {
        self.persistent = false;
        self
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Sql
    where
        T: 'static + Encode<'static, Any> + Type<Any>,
    {
        self.count += 1;
        let start = self.text.len();
        self.text.push('$');
        self.text.push_str(&self.count.to_string());
        self.placeholders.push((start, self.text.len() - start));
        // Encoding into `Any`'s buffer only records the value; it cannot fail.
        let _ = self.args.add(value);
        self
    }

    /// Appends `(c1 like … or c2 like …)`: any of `columns` contains `text`, in any case.
    /// The text's own wildcards are escaped, and `lower()` on both sides makes it
    /// case-blind on SQLite and PostgreSQL alike.
    pub fn contains(&mut self, columns: &[&str], text: &str) -> &mut Sql {
        let pattern = format!(
            "%{}%",
            text.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        self.push("(");
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                self.push(" or ");
            }
            self.push(&format!("lower(coalesce({column}, '')) like "))
                .bind(pattern.clone())
                .push(" escape '\\'");
        }
        self.push(")")
    }

    /// Appends `(a, b, …)`, writing each item with `each`.
    pub fn list<I: IntoIterator>(
        &mut self,
        items: I,
        mut each: impl FnMut(&mut Sql, I::Item),
    ) -> &mut Sql {
        self.text.push('(');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            each(self, item);
        }
        self.text.push(')');
        self
    }

    /// Appends `(k1, k2, …)` with the keys bound as text.
    pub fn keys(&mut self, keys: &[String]) -> &mut Sql {
        self.list(keys, |sql, key| {
            sql.bind(key.clone());
        })
    }

    /// Appends `values (…), (…)`: one row per item, written by `row` as a list's items.
    pub fn values<I: IntoIterator>(
        &mut self,
        rows: I,
        mut row: impl FnMut(&mut Row<'_>, I::Item),
    ) -> &mut Sql {
        self.text.push_str("values ");
        for (i, item) in rows.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.text.push('(');
            let mut cells = Row {
                sql: self,
                first: true,
            };
            row(&mut cells, item);
            self.text.push(')');
        }
        self
    }

    /// Appends a placeholder bound to `value` as a column of `kind` stores it (a NULL
    /// carries the column's type, which PostgreSQL needs).
    pub fn value(&mut self, value: Value, kind: ColumnKind) -> &mut Sql {
        match value {
            Value::Null => match kind {
                ColumnKind::Integer => self.bind(None::<i64>),
                ColumnKind::Real => self.bind(None::<f64>),
                ColumnKind::Text => self.bind(None::<String>),
            },
            Value::Int(i) => self.bind(i),
            Value::Real(r) => self.bind(r),
            Value::Text(t) => self.bind(t),
        }
    }

    /// Appends a placeholder bound to `key`, as a number for a numeric key column.
    pub fn key(&mut self, key: &str, kind: ColumnKind) -> &mut Sql {
        match Value::Text(key.to_string()).to_kind(kind) {
            Some(Value::Int(i)) => self.bind(i),
            _ => self.bind(key.to_string()),
        }
    }

    /// The statement's text for `conn`: `$n` placeholders, or `?` on SQLite (they are
    /// numbered in the order they appear, so the order of the values is the same).
    fn text_for(&self, conn: &AnyConnection) -> std::borrow::Cow<'_, str> {
        if Backend::of(conn) == Backend::Postgres {
            return std::borrow::Cow::Borrowed(&self.text);
        }
        let mut text = String::with_capacity(self.text.len());
        let mut at = 0;
        for &(start, len) in &self.placeholders {
            text.push_str(&self.text[at..start]);
            text.push('?');
            at = start + len;
        }
        text.push_str(&self.text[at..]);
        std::borrow::Cow::Owned(text)
    }

    /// Runs the statement; answers the rows it changed.
    pub async fn execute(self, conn: &mut AnyConnection) -> Result<u64, sqlx::Error> {
        let text = self.text_for(conn).into_owned();
        Ok(sqlx::query_with(&text, self.args)
            .persistent(self.persistent)
            .execute(conn)
            .await?
            .rows_affected())
    }

    /// Runs the query; answers every row.
    pub async fn fetch_all(self, conn: &mut AnyConnection) -> Result<Vec<AnyRow>, sqlx::Error> {
        let text = self.text_for(conn).into_owned();
        sqlx::query_with(&text, self.args)
            .persistent(self.persistent)
            .fetch_all(conn)
            .await
    }
}

/// The cells of one row of [`Sql::values`].
pub(crate) struct Row<'a> {
    sql: &'a mut Sql,
    first: bool,
}

impl Row<'_> {
    /// Appends a cell bound to `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Encode<'static, Any> + Type<Any>,
    {
        if !self.first {
            self.sql.text.push_str(", ");
        }
        self.first = false;
        self.sql.bind(value);
        self
    }

    /// Appends a cell bound to `value` as a column of `kind` stores it.
    pub fn value(&mut self, value: Value, kind: ColumnKind) -> &mut Self {
        self.value_within(value, kind, ("", ""))
    }

    /// Appends a cell bound to `value` as a column of `kind` stores it, with `around`'s
    /// text before and after the placeholder (a cast to the column's type).
    pub fn value_within(
        &mut self,
        value: Value,
        kind: ColumnKind,
        around: (&str, &str),
    ) -> &mut Self {
        if !self.first {
            self.sql.text.push_str(", ");
        }
        self.first = false;
        self.sql.push(around.0).value(value, kind).push(around.1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db/coupler"),
            "postgres://app:***@db/coupler"
        );
        assert_eq!(
            redact("postgres://app@db/coupler"),
            "postgres://app@db/coupler"
        );
        assert_eq!(redact("sqlite://coupler.db"), "sqlite://coupler.db");
    }

    #[test]
    fn sqlite_files_are_created_unless_the_url_chooses_a_mode() {
        assert_eq!(
            sqlite_create_mode("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_create_mode("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_create_mode("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}
