//! `coupler.toml`: the systems Coupler reads and writes and the integration table
//! mappings between them. Parsed and checked once; everything after trusts it.

mod alerts;
mod retention;
mod shape;

use crate::model::{
    DeletionConflictPolicy, Direction, FieldSummary, OnMatch, Side, TableSummary,
    UpdateConflictPolicy,
};
pub use alerts::{AlertRule, Alerts, Condition, Smtp, SmtpTls, Webhook};
pub use retention::Retention;
use serde::Deserialize;
use shape::{FieldShape, FileShape, match_sets};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration that parsed and passed every static check.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// The store URL from `[store]`, already resolved against the file's folder.
    pub store_url: Option<String>,
    /// The systems by name.
    pub systems: BTreeMap<String, System>,
    /// The mappings, in dependency order: every mapping after those it depends on.
    pub mappings: Vec<Mapping>,
    /// How long history is kept (`[retention]`).
    pub retention: Retention,
    /// The alert rules and their deliveries (`[alerts]`, `[[alert]]`).
    pub alerts: Alerts,
}

/// One business system: a database or an OData Web API Coupler reads and writes.
#[derive(Clone, Debug)]
pub struct System {
    /// The name used by mappings (`erp`).
    pub name: String,
    /// How Coupler reaches it.
    pub kind: SystemKind,
    /// Its database URL, relative SQLite paths resolved against the configuration's
    /// folder; or, for an OData system, its service root.
    pub url: String,
    /// How an OData system is signed in to; secrets only ever from the environment.
    pub auth: Option<Auth>,
    /// The most requests out to an OData system at once (`max_concurrency`; by default
    /// its kind's).
    pub max_concurrency: usize,
    /// The most writes one `$batch` to an OData system carries (`batch_size`; by default
    /// its kind's).
    pub batch_size: usize,
    /// Whether an OData system's entity sets have change tracking on (`change_tracking`):
    /// their changes, deletions included, are read from its delta links.
    pub change_tracking: bool,
    /// How long an OData system may take to answer one request (`timeout`, 60 s by
    /// default): a read or a batch that takes longer is sent again.
    pub timeout: Duration,
    /// The Business Central company (its id) whose entity sets a system of that kind
    /// reads and writes (`company`): every set under `companies(ID)/`.
    pub company: Option<String>,
    /// The table where the system records deletions (`table_name`, `record_key`,
    /// `deleted_at`, `id`), if it keeps one.
    pub tombstones: Option<String>,
    /// The time zone of its `timestamp` columns without one (`Europe/Copenhagen`); by
    /// default the database's own.
    pub time_zone: Option<String>,
}

/// How long an OData system may take to answer a request, unless its `timeout` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a system is reached: `kind` in `[systems.NAME]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemKind {
    /// A SQLite or PostgreSQL database (the default).
    #[default]
    Sql,
    /// An OData v4 Web API.
    Odata,
    /// Dataverse (Dynamics 365 Sales) over its Web API: OData v4.
    Dataverse,
    /// Business Central over its API: OData v4.
    BusinessCentral,
}

impl SystemKind {
    /// Whether the system is an OData Web API.
    pub fn is_odata(&self) -> bool {
        !matches!(self, SystemKind::Sql)
    }

    /// The most writes one `$batch` may carry (Dataverse 1,000, Business Central 100),
    /// and the default.
    pub fn batch_sizes(&self) -> (usize, usize) {
        match self {
            SystemKind::Sql | SystemKind::Odata => (1000, 100),
            SystemKind::Dataverse => (1000, 500),
            SystemKind::BusinessCentral => (100, 100),
        }
    }

    /// The most requests out at once by default: well inside what each service allows
    /// one user (Dataverse 52, Business Central 5 per user and company).
    pub fn default_concurrency(&self) -> usize {
        match self {
            SystemKind::Sql | SystemKind::Odata => 4,
            SystemKind::Dataverse => 8,
            SystemKind::BusinessCentral => 5,
        }
    }
}

/// How an OData system is signed in to (`auth = { … }`): OAuth 2.0 client credentials
/// (`token_url`, `client_id`, `client_secret_env`, and `scope` where the service wants
/// one), or a bearer token (`bearer_env`). Secrets are named by the environment variable
/// that holds them, never written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// A bearer token, read from the environment variable named.
    Bearer {
        /// The environment variable holding the token.
        env: String,
    },
    /// OAuth 2.0 client credentials: a token asked of `token_url` and kept until
    /// shortly before it expires.
    ClientCredentials {
        /// The token endpoint.
        token_url: String,
        /// The application's id.
        client_id: String,
        /// The environment variable holding the application's secret.
        secret_env: String,
        /// The scope asked for (`https://org.crm.example/.default`).
        scope: Option<String>,
    },
}

/// An integration table mapping./// An integration table mapping.
#[derive(Clone, Debug)]
pub struct Mapping {
    /// The mapping's unique name (`CUSTOMER`).
    pub name: String,
    /// Which way data flows.
    pub direction: Direction,
    /// What to do when both sides changed the same field.
    pub update_conflict: UpdateConflictPolicy,
    /// What to do when one side's record was deleted.
    pub deletion_conflict: DeletionConflictPolicy,
    /// Whether records that are not coupled yet are left alone.
    pub sync_only_coupled: bool,
    /// Time between scheduled synchronizations.
    pub interval: Duration,
    /// How often its couplings are scanned for deleted records (Find for Deleted on a
    /// schedule), for systems that keep no tombstones; `None`: only on demand.
    pub deletion_scan: Option<Duration>,
    /// Pause the mapping's schedule when this many errors are first found within a
    /// window (`pause_after = { errors = 10, within = "15m" }`); `None`: never.
    pub pause_after: Option<PauseAfter>,
    /// Mappings that must run before this one.
    pub depends_on: Vec<String>,
    /// The local table.
    pub local: TableRef,
    /// The integration table.
    pub integration: TableRef,
    /// Match-based coupling: sets of local fields in priority order; a record is matched
    /// by the first set that finds a record for it, whose mapped values must all be equal.
    pub match_on: Vec<Vec<String>>,
    /// Which record's values win when a record is coupled to its match.
    pub on_match: OnMatch,
    /// The field mappings.
    pub fields: Vec<FieldMapping>,
}

/// When a burst of new errors pauses a mapping's schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PauseAfter {
    /// Errors first found...
    pub errors: u32,
    /// ...within this long (counted from the mapping's last resume at the earliest).
    pub within: Duration,
}

impl fmt::Display for PauseAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors;
        let within = shown_duration(self.within);
        write!(
            f,
            "{errors} error{} within {within}",
            if errors == 1 { "" } else { "s" }
        )
    }
}

/// `d` as [`parse_duration`] reads it, in its largest whole unit (`15m`, `90d`).
pub fn shown_duration(d: Duration) -> String {
    let ms = d.as_millis();
    [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ]
    .into_iter()
    .find(|(unit, _)| ms.is_multiple_of(*unit))
    .map_or_else(
        || format!("{ms}ms"),
        |(unit, name)| format!("{}{name}", ms / unit),
    )
}

/// A table in a system, with its key and modified-on columns.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRef {
    /// The system's name.
    pub system: String,
    /// The table's name.
    pub table: String,
    /// The key column.
    pub key: String,
    /// The modified-on column.
    pub modified: String,
    /// The unit of an integer modified-on column (`modified_unit = "seconds"`; by
    /// default milliseconds).
    #[serde(default)]
    pub modified_unit: crate::connector::ModifiedUnit,
    /// Which of the table's records belong in the mapping (`blocked = 0 and country in
    /// ('DK', 'DE')`), parsed by [`crate::filter::Filter`]; none: every record.
    #[serde(default)]
    pub filter: Option<String>,
}

/// A field mapping: a local field and an integration field, or a constant for one of them.
#[derive(Clone, Debug)]
pub struct FieldMapping {
    /// The local field.
    pub local: Option<String>,
    /// The integration field.
    pub integration: Option<String>,
    /// Which way this field flows.
    pub direction: Direction,
    /// A constant written to the destination instead of a copied value.
    pub constant: Option<String>,
    /// Whether an empty value is refused.
    pub required: bool,
    /// The longest value the destination accepts, in characters.
    pub max_length: Option<u32>,
    /// Values translated on the way to the integration side (reversed on the way back).
    pub value_map: BTreeMap<String, String>,
    /// The mapping whose couplings translate this field's value: the value is a key of
    /// that mapping's records on one side, written as the coupled key on the other.
    pub lookup: Option<String>,
    /// Whether match-based coupling compares this field's text exactly; by default letter
    /// case and surrounding spaces are ignored.
    pub exact: bool,
}

/// Why a configuration was refused: the file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong, naming the mapping and field where there is one.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The interval used when a mapping names none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

impl Config {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read the configuration: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Checks configuration `text` as if read from `path` (which resolves relative URLs).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let fail = |line: Option<usize>, message: String| ConfigError {
            path: path.to_path_buf(),
            line,
            message,
        };
        let shape: FileShape = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start].matches('\n').count() + 1);
            fail(line, e.message().trim().to_string())
        })?;
        let folder = path.parent().unwrap_or(Path::new("."));

        let systems: BTreeMap<String, System> = shape
            .systems
            .into_iter()
            .map(|(name, system)| {
                let at = |message: &str| fail(None, format!("system {name}: {message}"));
                if system.kind.is_odata() {
                    if !(system.url.starts_with("http://") || system.url.starts_with("https://")) {
                        return Err(at("an OData system's url is its service root, an http:// or https:// address"));
                    }
                    if system.tombstones.is_some() {
                        return Err(at("an OData system keeps no tombstone table: leave tombstones out and set deletion_scan on its mappings"));
                    }
                    if system.max_concurrency == Some(0) {
                        return Err(at("max_concurrency is at least 1"));
                    }
                    let (most, _) = system.kind.batch_sizes();
                    if let Some(size) = system.batch_size
                        && !(1..=most).contains(&size)
                    {
                        return Err(at(&format!(
                            "batch_size is between 1 and {most} for this kind of system"
                        )));
                    }
                    if system.company.is_some() && system.kind != SystemKind::BusinessCentral {
                        return Err(at("company is for a system of kind business_central"));
                    }
                } else if system.auth.is_some()
                    || system.max_concurrency.is_some()
                    || system.batch_size.is_some()
                    || system.company.is_some()
                    || system.timeout.is_some()
                    || system.change_tracking.is_some()
                {
                    return Err(at("auth, max_concurrency, batch_size, company, timeout and change_tracking are for an OData system; a database's credentials go in its url"));
                }
                let timeout = match &system.timeout {
                    Some(text) => parse_duration(text).map_err(|m| at(&format!("timeout: {m}")))?,
                    None => DEFAULT_TIMEOUT,
                };
                let auth = match system.auth {
                    Some(auth) => Some(auth.checked().map_err(|m| at(&m))?),
                    None => None,
                };
                let url = match system.kind {
                    SystemKind::Sql => resolve_url(folder, &system.url),
                    _ => system.url,
                };
                Ok((
                    name.clone(),
                    System {
                        name,
                        kind: system.kind,
                        url,
                        auth,
                        max_concurrency: system
                            .max_concurrency
                            .unwrap_or(system.kind.default_concurrency()),
                        batch_size: system.batch_size.unwrap_or(system.kind.batch_sizes().1),
                        company: system.company,
                        change_tracking: system.change_tracking.unwrap_or(false),
                        timeout,
                        tombstones: system.tombstones,
                        time_zone: system.time_zone,
                    },
                ))
            })
            .collect::<Result<_, _>>()?;

        let mut mappings = Vec::with_capacity(shape.mappings.len());
        let mut names = BTreeSet::new();
        for m in shape.mappings {
            let at = |message: String| fail(None, format!("mapping {}: {message}", m.name));
            if m.name.trim().is_empty() {
                return Err(fail(None, "a mapping has an empty name".into()));
            }
            if !names.insert(m.name.clone()) {
                return Err(at("the name is used by another mapping".into()));
            }
            for (side, table) in [("local", &m.local), ("integration", &m.integration)] {
                if !systems.contains_key(&table.system) {
                    return Err(at(format!(
                        "{side} table names the unknown system {:?} (known: {})",
                        table.system,
                        known(systems.keys())
                    )));
                }
            }
            let interval = match &m.interval {
                Some(text) => parse_duration(text).map_err(|e| at(format!("interval: {e}")))?,
                None => DEFAULT_INTERVAL,
            };
            let deletion_scan = m
                .deletion_scan
                .as_deref()
                .map(|text| parse_duration(text).map_err(|e| at(format!("deletion_scan: {e}"))))
                .transpose()?;
            let pause_after = m
                .pause_after
                .map(|p| {
                    if p.errors == 0 {
                        return Err(at("pause_after: errors must be at least 1".into()));
                    }
                    let within = parse_duration(&p.within)
                        .map_err(|e| at(format!("pause_after: within: {e}")))?;
                    Ok(PauseAfter {
                        errors: p.errors,
                        within,
                    })
                })
                .transpose()?;
            let fields = m
                .fields
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    field_mapping(f, m.direction).map_err(|e| at(format!("field {}: {e}", i + 1)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if fields.is_empty() {
                return Err(at("no field is mapped".into()));
            }
            if m.direction.to_integration() && !fields.iter().any(|f| f.direction.to_integration())
            {
                return Err(at("direction sends data to the integration table, but no field is mapped that way".into()));
            }
            if m.direction.from_integration()
                && !fields.iter().any(|f| f.direction.from_integration())
            {
                return Err(at(
                    "direction sends data to the local table, but no field is mapped that way"
                        .into(),
                ));
            }
            for f in &fields {
                if let Some(parent) = &f.lookup
                    && !m.depends_on.contains(parent)
                {
                    return Err(at(format!(
                        "field {}: lookup names {parent:?}, which is not in depends_on",
                        f.local.as_deref().unwrap_or_default()
                    )));
                }
            }
            for (side, table) in [("local", &m.local), ("integration", &m.integration)] {
                for name in [&table.table, &table.key, &table.modified] {
                    check_identifier(name).map_err(at)?;
                }
                if let Some(filter_text) = &table.filter {
                    // The line that holds the filter: the first naming it after its mapping.
                    let line = text
                        .find(&format!("name = {:?}", m.name))
                        .and_then(|start| {
                            let from = start + text[start..].find(filter_text.as_str())?;
                            Some(text[..from].matches('\n').count() + 1)
                        });
                    let filter = crate::filter::Filter::parse(filter_text).map_err(|e| {
                        fail(
                            line,
                            format!("mapping {}: {side} filter {filter_text:?}: {e}", m.name),
                        )
                    })?;
                    for column in filter.columns() {
                        check_identifier(column).map_err(at)?;
                    }
                }
            }
            let match_on = match_sets(m.match_on).map_err(at)?;
            for name in match_on.iter().flatten() {
                if !fields
                    .iter()
                    .any(|f| f.local.as_deref() == Some(name) && f.integration.is_some())
                {
                    return Err(at(format!(
                        "match_on names {name:?}, which is not a mapped local field"
                    )));
                }
            }
            if let Some(f) = fields.iter().find(|f| {
                f.exact
                    && !match_on
                        .iter()
                        .flatten()
                        .any(|n| f.local.as_ref() == Some(n))
            }) {
                return Err(at(format!(
                    "field {}: exact says how match_on compares a field, and match_on does \
                     not name it",
                    f.local
                        .as_deref()
                        .or(f.integration.as_deref())
                        .unwrap_or("?")
                )));
            }
            mappings.push(Mapping {
                name: m.name,
                direction: m.direction,
                update_conflict: m.update_conflict,
                deletion_conflict: m.deletion_conflict,
                sync_only_coupled: m.sync_only_coupled,
                interval,
                deletion_scan,
                pause_after,
                depends_on: m.depends_on,
                local: m.local,
                integration: m.integration,
                match_on,
                on_match: m.on_match,
                fields,
            });
        }
        let mappings = dependency_order(mappings).map_err(|message| fail(None, message))?;
        let retention = shape
            .retention
            .unwrap_or_default()
            .settings()
            .map_err(|message| fail(None, message))?;
        let alerts = alerts::settings(
            shape.alerts,
            shape.alert_rules,
            &mappings.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
        )
        .map_err(|message| fail(None, message))?;
        let store_url = shape
            .store
            .and_then(|s| s.url)
            .map(|url| resolve_url(folder, &url));
        Ok(Config {
            path: path.to_path_buf(),
            store_url,
            systems,
            mappings,
            retention,
            alerts,
        })
    }

    /// Every mapping's name, in dependency order.
    pub fn mapping_names(&self) -> Vec<String> {
        self.mappings.iter().map(|m| m.name.clone()).collect()
    }

    /// The mapping named `name`.
    pub fn mapping(&self, name: &str) -> Option<&Mapping> {
        self.mappings.iter().find(|m| m.name == name)
    }
}

fn field_mapping(f: FieldShape, mapping_direction: Direction) -> Result<FieldMapping, String> {
    let direction = f.direction.unwrap_or(mapping_direction);
    match (&f.local, &f.integration, &f.constant) {
        (None, None, _) => return Err("names neither a local nor an integration field".into()),
        (Some(_), Some(_), Some(_)) => {
            return Err(
                "a constant is written to one field: name only the local or the integration field"
                    .into(),
            );
        }
        (Some(_), None, None) | (None, Some(_), None) => {
            return Err("names one field only: add the other, or a constant".into());
        }
        _ => {}
    }
    let direction = match (&f.local, &f.integration) {
        (None, Some(_)) => Direction::ToIntegration,
        (Some(_), None) => Direction::FromIntegration,
        _ => direction,
    };
    if direction.to_integration() && !mapping_direction.to_integration()
        || direction.from_integration() && !mapping_direction.from_integration()
    {
        return Err(format!(
            "direction {direction} is not allowed by the mapping's direction {mapping_direction}"
        ));
    }
    if f.max_length == Some(0) {
        return Err("max_length must be at least 1".into());
    }
    if f.lookup.is_some() && (f.local.is_none() || f.integration.is_none()) {
        return Err("a lookup translates a key between two fields: name both".into());
    }
    for name in [&f.local, &f.integration].into_iter().flatten() {
        check_identifier(name)?;
    }
    Ok(FieldMapping {
        local: f.local,
        integration: f.integration,
        direction,
        constant: f.constant,
        required: f.required,
        max_length: f.max_length,
        value_map: f.value_map,
        lookup: f.lookup,
        exact: f.exact,
    })
}

/// Orders mappings so that each comes after the mappings it depends on; refuses unknown
/// dependencies and cycles, naming the mappings involved.
fn dependency_order(mappings: Vec<Mapping>) -> Result<Vec<Mapping>, String> {
    let names: BTreeSet<&str> = mappings.iter().map(|m| m.name.as_str()).collect();
    for m in &mappings {
        if let Some(unknown) = m.depends_on.iter().find(|d| !names.contains(d.as_str())) {
            return Err(format!(
                "mapping {}: depends_on names the unknown mapping {unknown:?}",
                m.name
            ));
        }
    }
    let mut ordered: Vec<Mapping> = Vec::with_capacity(mappings.len());
    let mut rest = mappings;
    while !rest.is_empty() {
        let (ready, waiting): (Vec<_>, Vec<_>) = rest.into_iter().partition(|m| {
            m.depends_on
                .iter()
                .all(|d| ordered.iter().any(|o| &o.name == d))
        });
        if ready.is_empty() {
            let cycle: Vec<&str> = waiting.iter().map(|m| m.name.as_str()).collect();
            return Err(format!(
                "depends_on forms a cycle among mappings {}",
                cycle.join(", ")
            ));
        }
        ordered.extend(ready);
        rest = waiting;
    }
    Ok(ordered)
}

/// Table and column names are quoted in SQL; refuse the few that cannot be.
fn check_identifier(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('"') || name.contains('\0') {
        Err(format!("{name:?} is not a usable table or column name"))
    } else {
        Ok(())
    }
}

fn known<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let list: Vec<&str> = names.map(String::as_str).collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

/// Resolves a relative SQLite path in `url` against `folder`; other URLs pass unchanged.
pub fn resolve_url(folder: &Path, url: &str) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_string();
    };
    let (file, query) = match rest.split_once('?') {
        Some((file, query)) => (file, Some(query)),
        None => (rest, None),
    };
    if file.is_empty() || file == ":memory:" || Path::new(file).is_absolute() {
        return url.to_string();
    }
    let joined = folder.join(file);
    match query {
        Some(query) => format!("sqlite://{}?{query}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

/// Parses durations such as `500ms`, `30s`, `5m`, `1h`, `90d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as \"30s\", \"5m\" or \"1h\""))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number * 60),
        "h" => Duration::from_secs(number * 3600),
        "d" => Duration::from_secs(number * 24 * 3600),
        _ => {
            return Err(format!(
                "{text:?} is not a duration such as \"30s\", \"5m\" or \"1h\""
            ));
        }
    };
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

impl Mapping {
    /// The table on `side`.
    pub fn table(&self, side: Side) -> &TableRef {
        match side {
            Side::Local => &self.local,
            Side::Integration => &self.integration,
        }
    }
}

impl FieldMapping {
    /// This field's column on `side`, if it has one there.
    pub fn column(&self, side: Side) -> Option<&str> {
        match side {
            Side::Local => self.local.as_deref(),
            Side::Integration => self.integration.as_deref(),
        }
    }

    /// Whether this field's data flows from `side` to the other side.
    pub fn flows_from(&self, side: Side) -> bool {
        match side {
            Side::Local => self.direction.to_integration(),
            Side::Integration => self.direction.from_integration(),
        }
    }
}

impl TableRef {
    /// The console's view of this table.
    pub fn summary(&self) -> TableSummary {
        TableSummary {
            system: self.system.clone(),
            table: self.table.clone(),
            key: self.key.clone(),
            modified: self.modified.clone(),
        }
    }
}

impl FieldMapping {
    /// The console's view of this field mapping.
    pub fn summary(&self) -> FieldSummary {
        FieldSummary {
            local: self.local.clone(),
            integration: self.integration.clone(),
            direction: self.direction,
            constant: self.constant.clone(),
            required: self.required,
            max_length: self.max_length,
            value_mapped: !self.value_map.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[store]
url = "sqlite://coupler.db"

[systems.erp]
url = "sqlite://erp.db"

[systems.crm]
url = "sqlite:///var/crm.db"

[[mapping]]
name = "CONTACT"
depends_on = ["CUSTOMER"]
local = { system = "erp", table = "contact", key = "no", modified = "modified_at" }
integration = { system = "crm", table = "contact", key = "contactid", modified = "modifiedon" }
[[mapping.field]]
local = "name"
integration = "fullname"

[[mapping]]
name = "CUSTOMER"
interval = "5m"
local = { system = "erp", table = "customer", key = "no", modified = "modified_at" }
integration = { system = "crm", table = "account", key = "accountid", modified = "modifiedon" }
match_on = ["email"]
[[mapping.field]]
local = "name"
integration = "name"
max_length = 160
[[mapping.field]]
local = "email"
integration = "emailaddress1"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/coupler/coupler.toml"), text)
    }

    #[test]
    fn orders_mappings_by_dependency_and_resolves_relative_sqlite_paths() {
        let config = parse(GOOD).unwrap();
        let names: Vec<&str> = config.mappings.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["CUSTOMER", "CONTACT"]);
        assert_eq!(config.systems["erp"].url, "sqlite:///etc/coupler/erp.db");
        assert_eq!(config.systems["crm"].url, "sqlite:///var/crm.db");
        assert_eq!(
            config.store_url.as_deref(),
            Some("sqlite:///etc/coupler/coupler.db")
        );
        assert_eq!(
            config.mapping("CUSTOMER").unwrap().interval,
            Duration::from_secs(300)
        );
        assert_eq!(
            config.mapping("CONTACT").unwrap().interval,
            DEFAULT_INTERVAL
        );
    }

    #[test]
    fn odata_systems_are_read_with_their_settings_and_bad_ones_are_refused() {
        let crm = |settings: &str| {
            let text = GOOD.replace(
                "[systems.crm]\nurl = \"sqlite:///var/crm.db\"",
                &format!("[systems.crm]\n{settings}"),
            );
            parse(&text)
                .map(|c| c.systems["crm"].clone())
                .map_err(|e| e.to_string())
        };
        let system = crm(
            "kind = \"business_central\"\nurl = \"https://api.bc.example/v2.0/T/Production/api/v2.0/\"\n\
             company = \"6f7e0e1a-0000-4000-8000-000000000001\"\n\
             auth = { token_url = \"https://login.example/T/oauth2/v2.0/token\", client_id = \"app\", \
             client_secret_env = \"BC_SECRET\", scope = \"https://api.bc.example/.default\" }",
        )
        .unwrap();
        assert_eq!(system.kind, SystemKind::BusinessCentral);
        assert_eq!((system.batch_size, system.max_concurrency), (100, 5));
        assert!(matches!(
            system.auth,
            Some(Auth::ClientCredentials { ref secret_env, .. }) if secret_env == "BC_SECRET"
        ));
        for (settings, refusal) in [
            (
                "kind = \"dataverse\"\nurl = \"sqlite://crm.db\"",
                "service root",
            ),
            (
                "kind = \"odata\"\nurl = \"http://o/\"\ntombstones = \"t\"",
                "no tombstone table",
            ),
            (
                "kind = \"business_central\"\nurl = \"http://o/\"\nbatch_size = 500",
                "between 1 and 100",
            ),
            (
                "kind = \"dataverse\"\nurl = \"http://o/\"\ncompany = \"x\"",
                "business_central",
            ),
            (
                "url = \"sqlite://crm.db\"\nauth = { bearer_env = \"T\" }",
                "for an OData system",
            ),
            (
                "kind = \"odata\"\nurl = \"http://o/\"\nauth = { bearer_env = \"T\", client_id = \"a\" }",
                "either { bearer_env }",
            ),
            (
                "kind = \"odata\"\nurl = \"http://o/\"\nauth = { client_secret = \"s\" }",
                "unknown field",
            ),
        ] {
            let error = crm(settings).unwrap_err();
            assert!(error.contains(refusal), "{settings}: {error}");
        }
    }

    #[test]
    fn alert_rules_are_read_with_their_deliveries_and_bad_ones_are_refused() {
        let with = |alerts: &str| {
            parse(&format!("{GOOD}\n{alerts}"))
                .map(|c| c.alerts)
                .map_err(|e| e.to_string())
        };
        let hook = r#"webhook = { url = "https://hooks.example/a/SECRET", secret_env = "HOOK" }"#;
        let alerts = with(&format!(
            "[alerts]\nconsole_url = \"https://coupler.example/\"\n\
             [alerts.smtp]\nhost = \"mail.example\"\nfrom = \"c@example.com\"\n\
             [[alert]]\nname = \"errors\"\nwhen = \"new_errors\"\nabove = 5\nwithin = \"15m\"\n{hook}\n\
             email = [\"ops@example.com\"]\n"
        ))
        .unwrap();
        assert_eq!(
            alerts.console_url.as_deref(),
            Some("https://coupler.example")
        );
        assert_eq!(alerts.every, alerts::DEFAULT_CHECK_EVERY);
        let smtp = alerts.smtp.unwrap();
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::Starttls));
        let rule = &alerts.rules[0];
        assert_eq!(
            rule.condition,
            Condition::NewErrors {
                above: 5,
                within: Duration::from_secs(900)
            }
        );
        assert_eq!(rule.mapping, None);
        let webhook = rule.webhook.as_ref().unwrap();
        assert_eq!(webhook.shown(), "https://hooks.example");
        assert_eq!(webhook.secret_env.as_deref(), Some("HOOK"));

        for (rule, refusal) in [
            (
                format!("when = \"open_errors\"\n{hook}"),
                "when = \"open_errors\" needs above",
            ),
            (
                format!("when = \"open_errors\"\nabove = 1\ntimes = 2\n{hook}"),
                "takes no times",
            ),
            (
                format!("when = \"sometimes\"\n{hook}"),
                "is not a condition",
            ),
            (
                format!("when = \"paused\"\nmapping = \"NOPE\"\n{hook}"),
                "unknown mapping \"NOPE\"",
            ),
            ("when = \"paused\"".to_string(), "delivered nowhere"),
            (
                "when = \"paused\"\nemail = [\"ops@example.com\"]".to_string(),
                "[alerts.smtp] names no server",
            ),
            (
                "when = \"paused\"\nwebhook = { url = \"ftp://x\" }".to_string(),
                "http:// or https://",
            ),
        ] {
            let error = with(&format!("[[alert]]\nname = \"a\"\n{rule}\n")).unwrap_err();
            assert!(
                error.contains("alert a: ") && error.contains(refusal),
                "{error}"
            );
        }
    }

    #[test]
    fn match_on_is_one_set_or_sets_in_priority_order() {
        let sets = |match_on: &str| {
            parse(&GOOD.replace("match_on = [\"email\"]", match_on))
                .map(|c| c.mapping("CUSTOMER").unwrap().match_on.clone())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            sets("match_on = [\"email\"]"),
            Ok(vec![vec!["email".into()]])
        );
        assert_eq!(
            sets("match_on = [[\"email\"], [\"name\", \"email\"]]"),
            Ok(vec![
                vec!["email".into()],
                vec!["name".into(), "email".into()]
            ])
        );
        assert_eq!(sets("match_on = []"), Ok(vec![]));
        assert_eq!(
            parse(&GOOD.replace("match_on = [\"email\"]\n", ""))
                .unwrap()
                .mapping("CUSTOMER")
                .unwrap()
                .on_match,
            OnMatch::Source
        );
        for (bad, says) in [
            ("match_on = \"email\"", "match_on is a list of local fields"),
            (
                "match_on = [\"email\", [\"name\"]]",
                "match_on is a list of local fields",
            ),
            (
                "match_on = [[\"email\"], []]",
                "match_on has a set without fields",
            ),
            (
                "match_on = [[\"email\"], [\"city\"]]",
                "match_on names \"city\"",
            ),
            (
                "match_on = [\"email\"]\non_match = \"crm\"",
                ":26: unknown variant `crm`, expected one of `source`",
            ),
        ] {
            let error = sets(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn exact_is_a_match_on_fields_setting() {
        let email = "integration = \"emailaddress1\"\n";
        let config = parse(&GOOD.replace(email, &format!("{email}exact = true\n"))).unwrap();
        let fields = &config.mapping("CUSTOMER").unwrap().fields;
        assert_eq!(
            fields.iter().map(|f| f.exact).collect::<Vec<_>>(),
            [false, true]
        );
        let name = "max_length = 160\n";
        let error = parse(&GOOD.replace(name, &format!("{name}exact = true\n"))).unwrap_err();
        assert!(
            error
                .message
                .contains("field name: exact says how match_on compares"),
            "{error}"
        );
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let text = GOOD.replace("interval = \"5m\"", "interval = ");
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, Some(22));
        assert!(
            error
                .to_string()
                .starts_with("/etc/coupler/coupler.toml:22: "),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_key_names_the_line_and_key() {
        let text = GOOD.replace("max_length = 160", "max_lenght = 160");
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, Some(29));
        assert!(error.message.contains("max_lenght"), "{error}");
    }

    #[test]
    fn a_deletion_scan_is_a_duration() {
        let every = GOOD.replace(
            "interval = \"5m\"",
            "interval = \"5m\"\ndeletion_scan = \"6h\"",
        );
        assert_eq!(
            parse(&every)
                .unwrap()
                .mapping("CUSTOMER")
                .unwrap()
                .deletion_scan,
            Some(Duration::from_secs(6 * 3600))
        );
        assert_eq!(
            parse(GOOD)
                .unwrap()
                .mapping("CUSTOMER")
                .unwrap()
                .deletion_scan,
            None
        );
        let soon = GOOD.replace(
            "interval = \"5m\"",
            "interval = \"5m\"\ndeletion_scan = \"soon\"",
        );
        let error = parse(&soon).unwrap_err();
        assert!(error.message.contains("mapping CUSTOMER"), "{error}");
        assert!(error.message.contains("deletion_scan"), "{error}");
    }

    #[test]
    fn a_filter_that_does_not_parse_names_its_mapping_and_where() {
        let text = GOOD.replace(
            r#"table = "customer", key = "no", modified = "modified_at" }"#,
            r#"table = "customer", key = "no", modified = "modified_at", filter = "blocked = 0 and" }"#,
        );
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("mapping CUSTOMER"), "{error}");
        assert!(
            error.message.contains(r#"local filter "blocked = 0 and": expected a column, found the end (at character 16)"#),
            "{error}"
        );
        let line = text.lines().position(|l| l.contains("filter =")).unwrap() + 1;
        assert_eq!(error.line, Some(line), "{error}");
        let fine = GOOD.replace(
            r#"table = "customer", key = "no", modified = "modified_at" }"#,
            r#"table = "customer", key = "no", modified = "modified_at", filter = "blocked = 0" }"#,
        );
        let config = parse(&fine).unwrap();
        assert_eq!(
            config.mapping("CUSTOMER").unwrap().local.filter.as_deref(),
            Some("blocked = 0")
        );
    }

    #[test]
    fn an_unknown_system_is_named() {
        let text = GOOD.replace(
            "system = \"crm\", table = \"account\"",
            "system = \"crn\", table = \"account\"",
        );
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("mapping CUSTOMER"), "{error}");
        assert!(error.message.contains("\"crn\""), "{error}");
    }

    #[test]
    fn a_dependency_cycle_is_refused() {
        let text = GOOD.replace(
            "interval = \"5m\"",
            "interval = \"5m\"\ndepends_on = [\"CONTACT\"]",
        );
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("cycle"), "{error}");
        assert!(
            error.message.contains("CONTACT") && error.message.contains("CUSTOMER"),
            "{error}"
        );
    }

    #[test]
    fn a_direction_with_no_field_mapped_that_way_is_refused() {
        let text = GOOD.replace(
            "integration = \"fullname\"",
            "integration = \"fullname\"\ndirection = \"to_integration\"",
        );
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("mapping CONTACT"), "{error}");
        assert!(
            error.message.contains("no field is mapped that way"),
            "{error}"
        );
    }

    #[test]
    fn a_field_flowing_against_the_mapping_is_refused() {
        let text = GOOD
            .replace(
                "name = \"CONTACT\"",
                "name = \"CONTACT\"\ndirection = \"to_integration\"",
            )
            .replace(
                "integration = \"fullname\"",
                "integration = \"fullname\"\ndirection = \"from_integration\"",
            );
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("field 1"), "{error}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(
            parse_duration("90d"),
            Ok(Duration::from_secs(90 * 24 * 3600))
        );
        assert!(parse_duration("0s").is_err());
        for text in ["500ms", "30s", "15m", "2h", "90d"] {
            assert_eq!(shown_duration(parse_duration(text).unwrap()), text);
        }
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 days").is_err());
    }
}
