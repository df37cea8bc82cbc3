//! [`ODataConnector`]: the entity sets of an OData v4 Web API (Dataverse, Business
//! Central, or any OData service), read and written over HTTP. A record's version is its
//! modified-on property (`Edm.DateTimeOffset`); changes are read in pages ordered by it
//! and the key, records by many keys at once, and writes go one request per record, an
//! update only with `If-Match` on the ETag of the record as read, so a record changed
//! meanwhile answers 412 and takes the conflict path rather than being overwritten.

mod auth;
mod batch;
mod delta;
mod filter;
mod gate;
mod metadata;
mod values;
mod write;

use super::{
    ChangeCursor, Compare, Connector, ConnectorError, ModifiedKind, Record, TableShape, TableSpec,
    Tombstone, WriteOp, WriteOutcome,
};
use crate::config::{System, SystemKind};
use crate::value::{ColumnKind, Value};
use async_trait::async_trait;
use auth::Credentials;
use gate::Gate;
use metadata::EntitySet;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Most keys one read names in its `$filter`, well inside the URL limits of the services.
const KEYS_PER_READ: usize = 40;

/// How often a read or a `$batch` is sent again after the service failed it (5xx, a
/// dropped connection, a timeout). A batch may be: its creates name their keys (a create
/// repeated finds its record), its updates name the ETag read, and a delete repeated
/// finds nothing to delete. A single write is never sent twice but after a refusal of
/// the service's protection, which did nothing.
const REPEAT_ATTEMPTS: u32 = 4;

/// How often a request the service's protection refuses is sent again before the
/// refusal stands.
const REFUSED_ATTEMPTS: u32 = 12;

/// What a query option's value keeps unencoded: the characters of OData's own syntax.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'$')
    .remove(b'(')
    .remove(b')')
    .remove(b'\'')
    .remove(b',')
    .remove(b':')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An OData v4 service holding a system's entity sets.
#[derive(Debug)]
pub struct ODataConnector {
    system: String,
    /// The service root, ending in `/`.
    root: String,
    client: reqwest::Client,
    credentials: Credentials,
    sets: HashMap<String, EntitySet>,
    gate: Gate,
    /// How the service takes a `$batch`.
    dialect: batch::Dialect,
    /// The most writes one `$batch` carries.
    batch_size: usize,
    /// The Business Central company every entity set is under, if any.
    company: Option<String>,
    /// Whether changes are read from the service's delta links.
    change_tracking: bool,
}

impl ODataConnector {
    /// Opens `system`: reads its bearer token from the environment, if it names one, and
    /// the service's `$metadata`.
    pub async fn open(system: &System) -> Result<ODataConnector, ConnectorError> {
        let mut root = system.url.clone();
        if !root.ends_with('/') {
            root.push('/');
        }
        let credentials = Credentials::from_env(system.auth.as_ref()).map_err(|message| {
            ConnectorError::Schema {
                system: system.name.clone(),
                message,
            }
        })?;
        let client = reqwest::Client::builder()
            .timeout(system.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ConnectorError::Failed {
                system: system.name.clone(),
                message: e.to_string(),
            })?;
        let mut connector = ODataConnector {
            system: system.name.clone(),
            root,
            client,
            credentials,
            sets: HashMap::new(),
            gate: Gate::new(system.max_concurrency),
            dialect: match system.kind {
                SystemKind::Dataverse => batch::Dialect::Multipart,
                _ => batch::Dialect::Json,
            },
            batch_size: system.batch_size,
            company: system.company.clone(),
            change_tracking: system.change_tracking,
        };
        let url = format!("{}$metadata", connector.root);
        // CSDL XML: the one form of `$metadata` every service (Dataverse too) serves.
        let request = connector.request_accepting(reqwest::Method::GET, &url, "application/xml");
        let answer = connector.send(request).await?;
        let document = connector.body(answer).await?;
        connector.sets = metadata::parse(&String::from_utf8_lossy(&document))
            .map_err(|message| connector.failure(message))?;
        Ok(connector)
    }

    fn failure(&self, message: String) -> ConnectorError {
        ConnectorError::Failed {
            system: self.system.clone(),
            message,
        }
    }

    fn schema(&self, message: String) -> ConnectorError {
        ConnectorError::Schema {
            system: self.system.clone(),
            message,
        }
    }

    /// A request with the headers every OData call carries, answered in JSON.
    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.request_accepting(method, url, "application/json")
    }

    /// A request with the headers every OData call carries, answered as `accept`.
    fn request_accepting(
        &self,
        method: reqwest::Method,
        url: &str,
        accept: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .header("Accept", accept)
            .header("OData-Version", "4.0")
            .header("OData-MaxVersion", "4.0")
    }

    /// Sends `request` through the gate: again when the service's protection refuses it
    /// (after the time it asks for), and a read again after a failure of the service or
    /// the connection, with back-off. A service that does not answer is unreachable.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ConnectorError> {
        let request = request.build().map_err(|e| self.failure(without_url(&e)))?;
        let repeatable =
            request.method() == reqwest::Method::GET || request.url().path().ends_with("/$batch");
        let mut attempt = 0;
        let mut signed_in_again = false;
        loop {
            attempt += 1;
            let mut copy = request
                .try_clone()
                .expect("bodies are bytes, never streams");
            let token = self
                .credentials
                .token(&self.client)
                .await
                .map_err(|message| self.schema(message))?;
            if let Some(token) = token {
                let mut bearer: reqwest::header::HeaderValue = format!("Bearer {token}")
                    .parse()
                    .map_err(|_| self.schema("its token cannot be sent in a header".to_string()))?;
                bearer.set_sensitive(true);
                copy.headers_mut()
                    .insert(reqwest::header::AUTHORIZATION, bearer);
            }
            let sent = {
                let _out = self.gate.enter().await;
                self.client.execute(copy).await
            };
            let back_off = Duration::from_millis(250 << attempt.min(6));
            match sent {
                Ok(answer)
                    if matches!(answer.status().as_u16(), 429 | 503)
                        && attempt < REFUSED_ATTEMPTS =>
                {
                    let wait = answer
                        .headers()
                        .get("Retry-After")
                        .and_then(|v| v.to_str().ok())
                        .and_then(gate::retry_after)
                        .unwrap_or(back_off);
                    tracing::warn!(
                        system = %self.system,
                        status = answer.status().as_u16(),
                        wait_ms = wait.as_millis() as u64,
                        "the service asked to wait; every request to it waits"
                    );
                    self.gate.refused(wait);
                }
                // A token the service no longer takes (revoked, expired early): a new one,
                // once.
                Ok(answer)
                    if answer.status() == reqwest::StatusCode::UNAUTHORIZED
                        && self.credentials.renewable()
                        && !signed_in_again =>
                {
                    signed_in_again = true;
                    tracing::info!(system = %self.system, "the service refused its token: a new one");
                    self.credentials.refused().await;
                }
                Ok(answer)
                    if repeatable
                        && answer.status().is_server_error()
                        && attempt < REPEAT_ATTEMPTS =>
                {
                    tokio::time::sleep(back_off).await;
                }
                Ok(answer) => {
                    if let Some(hint) = answer
                        .headers()
                        .get("x-ms-dop-hint")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse().ok())
                    {
                        self.gate.hint(hint);
                    }
                    self.gate.answered();
                    return Ok(answer);
                }
                Err(error) if repeatable && attempt < REPEAT_ATTEMPTS => {
                    tracing::info!(system = %self.system, error = %without_url(&error), "sent again");
                    tokio::time::sleep(back_off).await;
                }
                Err(error) => {
                    return Err(ConnectorError::Unreachable {
                        system: self.system.clone(),
                        url: self.root.clone(),
                        message: without_url(&error),
                    });
                }
            }
        }
    }

    /// The body of a successful answer; any other answer fails with the service's message.
    async fn body(&self, answer: reqwest::Response) -> Result<Vec<u8>, ConnectorError> {
        let status = answer.status();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| ConnectorError::Unreachable {
                system: self.system.clone(),
                url: self.root.clone(),
                message: without_url(&e),
            })?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(self.failure(format!(
                "the service answered {status}: {}",
                message(&bytes)
            )))
        }
    }

    /// The path of entity set `table` under the service root: under the company's, for a
    /// Business Central system that names one (`companies(…)/customers`).
    fn set_path(&self, table: &str) -> String {
        let table = utf8_percent_encode(table, QUERY);
        match &self.company {
            Some(company) => format!("companies({})/{table}", utf8_percent_encode(company, QUERY)),
            None => table.to_string(),
        }
    }

    /// The entity set `spec` names.
    fn set(&self, spec: &TableSpec) -> Result<&EntitySet, ConnectorError> {
        self.sets.get(&spec.table).ok_or_else(|| {
            self.schema(format!(
                "entity set {:?} cannot be read: the service has no such entity set",
                spec.table
            ))
        })
    }

    /// The EDM type of `spec`'s property `name`.
    fn edm(&self, spec: &TableSpec, name: &str) -> String {
        self.set(spec)
            .ok()
            .and_then(|set| set.property(name))
            .map_or_else(|| "Edm.String".to_string(), |p| p.edm.clone())
    }

    /// The URL of a query of `spec`'s entity set with `filter` and `options`, selecting
    /// the mapped properties.
    fn query(&self, spec: &TableSpec, filter: Option<&str>, options: &[(&str, String)]) -> String {
        self.selecting(spec, &properties(spec), filter, options)
    }

    /// The URL of a query of `spec`'s entity set selecting `select`.
    fn selecting(
        &self,
        spec: &TableSpec,
        select: &str,
        filter: Option<&str>,
        options: &[(&str, String)],
    ) -> String {
        let mut url = format!(
            "{}{}?$select={}",
            self.root,
            self.set_path(&spec.table),
            utf8_percent_encode(select, QUERY)
        );
        if let Some(filter) = filter {
            url.push_str(&format!("&$filter={}", utf8_percent_encode(filter, QUERY)));
        }
        for (name, value) in options {
            url.push_str(&format!("&{name}={}", utf8_percent_encode(value, QUERY)));
        }
        url
    }

    /// The entities a query answers, following `@odata.nextLink` until `limit` are read.
    async fn entities(&self, url: String, limit: usize) -> Result<Vec<Json>, ConnectorError> {
        let mut entities = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let answer = self
                .send(
                    self.request(reqwest::Method::GET, &url)
                        .header("Prefer", "odata.maxpagesize=500"),
                )
                .await?;
            let mut page: Json = serde_json::from_slice(&self.body(answer).await?)
                .map_err(|e| self.failure(format!("the service answered no JSON: {e}")))?;
            if let Json::Array(value) = page["value"].take() {
                entities.extend(value);
            }
            if entities.len() < limit {
                next = page["@odata.nextLink"].as_str().map(str::to_string);
            }
        }
        entities.truncate(limit);
        Ok(entities)
    }

    /// The records a query answers, up to `limit`.
    async fn records(
        &self,
        spec: &TableSpec,
        url: String,
        limit: usize,
    ) -> Result<Vec<Record>, ConnectorError> {
        self.entities(url, limit)
            .await?
            .iter()
            .map(|entity| self.record(spec, entity))
            .collect()
    }

    /// One entity as a record of `spec`.
    fn record(&self, spec: &TableSpec, entity: &Json) -> Result<Record, ConnectorError> {
        let key = values::key_text(&entity[&spec.key])
            .ok_or_else(|| self.failure(format!("a record of {} has no key", spec.table)))?;
        let modified = entity[&spec.modified]
            .as_str()
            .and_then(values::instant_millis)
            .ok_or_else(|| {
                self.failure(format!(
                    "record {key} of {} has no {} the service stamped",
                    spec.table, spec.modified
                ))
            })?;
        let values = spec
            .columns
            .iter()
            .zip(&spec.kinds)
            .map(|(column, kind)| values::read(&entity[column], *kind))
            .collect();
        Ok(Record {
            key,
            modified,
            values,
        })
    }

    /// The table's filter as a `$filter` expression where it holds, if it has one.
    fn table_filter(&self, spec: &TableSpec) -> Result<Option<String>, ConnectorError> {
        let Some(table_filter) = &spec.filter else {
            return Ok(None);
        };
        filter::holds(table_filter, &|c| self.edm(spec, c))
            .map(Some)
            .map_err(|(column, value)| {
                self.failure(format!("the filter cannot compare {column} with {value}"))
            })
    }

    /// The entities whose property `property` (or an expression of it) equals one of
    /// `literals`, in requests of a few at a time.
    async fn matching(
        &self,
        spec: &TableSpec,
        property: &str,
        literals: &[String],
    ) -> Result<Vec<Json>, ConnectorError> {
        self.matching_selecting(spec, &properties(spec), property, literals)
            .await
    }

    /// [`Self::matching`], each entity with the properties `select` names only.
    async fn matching_selecting(
        &self,
        spec: &TableSpec,
        select: &str,
        property: &str,
        literals: &[String],
    ) -> Result<Vec<Json>, ConnectorError> {
        let mut entities = Vec::new();
        for chunk in literals.chunks(KEYS_PER_READ) {
            let filter = chunk
                .iter()
                .map(|literal| format!("{property} eq {literal}"))
                .collect::<Vec<_>>()
                .join(" or ");
            let url = self.selecting(spec, select, Some(&filter), &[]);
            entities.extend(self.entities(url, usize::MAX).await?);
        }
        Ok(entities)
    }

    /// The records among `entities`.
    fn all_records(
        &self,
        spec: &TableSpec,
        entities: &[Json],
    ) -> Result<Vec<Record>, ConnectorError> {
        entities.iter().map(|e| self.record(spec, e)).collect()
    }

    /// `keys` of `spec` as literals; a key that cannot be one of its key's type names no
    /// record, and is left out.
    fn key_literals(&self, spec: &TableSpec, keys: &[String]) -> Vec<String> {
        keys.iter()
            .filter_map(|key| self.key_literal(spec, key))
            .collect()
    }

    /// `key` of `spec` as a literal, or `None` when it cannot be one of its key's type.
    fn key_literal(&self, spec: &TableSpec, key: &str) -> Option<String> {
        values::literal(&self.edm(spec, &spec.key), &Value::Text(key.to_string()))
    }
}

/// The properties a record of `spec` is read with, as `$select` names them.
fn properties(spec: &TableSpec) -> String {
    let mut select = vec![spec.key.clone(), spec.modified.clone()];
    select.extend(spec.columns.iter().cloned());
    select.join(",")
}

/// The reason of a failed request, without the URL (a query may carry keys and values
/// nobody asked to see in a log line).
fn without_url(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    if let Some(url) = error.url() {
        message = message
            .replace(&format!(" ({url})"), "")
            .replace(url.as_str(), "…");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

/// The service's own message in an error answer (`{"error": {"message": …}}`), or the
/// answer as text.
fn message(body: &[u8]) -> String {
    serde_json::from_slice::<Json>(body)
        .ok()
        .and_then(|json| json["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect())
}

#[async_trait]
impl Connector for ODataConnector {
    fn system(&self) -> &str {
        &self.system
    }

    fn traffic(&self) -> super::Traffic {
        self.gate.traffic()
    }

    fn tracks_changes(&self, _spec: &TableSpec) -> bool {
        self.change_tracking
    }

    async fn delta(
        &self,
        spec: &TableSpec,
        position: Option<&str>,
    ) -> Result<super::DeltaPage, ConnectorError> {
        self.delta_page(spec, position).await
    }

    async fn tables(&self) -> Result<Vec<String>, ConnectorError> {
        let mut names: Vec<String> = self.sets.keys().cloned().collect();
        names.sort();
        Ok(names)
    }

    async fn shape(&self, table: &str) -> Result<Option<TableShape>, ConnectorError> {
        Ok(self.sets.get(table).map(|set| set.shape(table)))
    }

    async fn check(&self, spec: &mut TableSpec) -> Result<(), ConnectorError> {
        let set = self.set(spec)?;
        let property = |name: &str| {
            set.property(name).ok_or_else(|| {
                self.schema(format!(
                    "entity set {:?} has no property {name:?}",
                    spec.table
                ))
            })
        };
        let key = property(&spec.key)?;
        if set.key.as_deref() != Some(spec.key.as_str()) {
            return Err(self.schema(format!(
                "property {:?} is not the key of entity set {:?}",
                spec.key, spec.table
            )));
        }
        spec.key_kind = match key.read_as() {
            Some((kind @ (ColumnKind::Text | ColumnKind::Integer), _)) => kind,
            _ => {
                return Err(self.schema(format!(
                    "property {:?} of entity set {:?} cannot be a key: keys are text, GUIDs or whole numbers",
                    spec.key, spec.table
                )));
            }
        };
        let modified = property(&spec.modified)?;
        if modified.edm != "Edm.DateTimeOffset" {
            return Err(self.schema(format!(
                "property {:?} of entity set {:?} has type {}, which cannot order changes: \
                 an OData modified-on property is an Edm.DateTimeOffset",
                spec.modified, spec.table, modified.edm
            )));
        }
        spec.modified_kind = ModifiedKind::DateTimeOffset;
        if let Some(table_filter) = &spec.filter {
            if self.change_tracking {
                return Err(self.schema(format!(
                    "entity set {:?}: a change-tracking feed takes no $filter, so a table \
                     filter cannot narrow it; leave filter out, or set change_tracking = false",
                    spec.table
                )));
            }
            for column in table_filter.columns() {
                property(column)?;
            }
            if let Err((column, value)) = filter::holds(table_filter, &|c| self.edm(spec, c)) {
                return Err(self.schema(format!(
                    "the filter of entity set {:?} compares property {column:?} with {value}, \
                     which it cannot hold",
                    spec.table
                )));
            }
        }
        let mut kinds = Vec::with_capacity(spec.columns.len());
        let mut types = Vec::with_capacity(spec.columns.len());
        for column in &spec.columns {
            let found = property(column)?;
            let (kind, field) = found.read_as().ok_or_else(|| {
                self.schema(format!(
                    "property {column:?} of entity set {:?} has type {}, which Coupler does not read",
                    spec.table, found.edm
                ))
            })?;
            kinds.push(kind);
            types.push(field);
        }
        (spec.kinds, spec.types) = (kinds, types);
        Ok(())
    }

    async fn changes(
        &self,
        spec: &TableSpec,
        since: i64,
        cursor: Option<&ChangeCursor>,
        limit: usize,
    ) -> Result<Vec<Record>, ConnectorError> {
        let (modified, key) = (&spec.modified, &spec.key);
        let mut conditions = Vec::new();
        let lower = cursor.map_or(since, |c| c.modified.max(since));
        if lower > i64::MIN {
            conditions.push(format!("{modified} ge {}", values::instant_literal(lower)));
        }
        if let Some(cursor) = cursor {
            let at = values::instant_literal(cursor.modified);
            let after = self.key_literal(spec, &cursor.key).ok_or_else(|| {
                self.failure(format!("{:?} is no key of {}", cursor.key, spec.table))
            })?;
            conditions.push(format!(
                "({modified} gt {at} or ({modified} eq {at} and {key} gt {after}))"
            ));
        }
        conditions.extend(self.table_filter(spec)?);
        let filter = (!conditions.is_empty()).then(|| conditions.join(" and "));
        let url = self.query(
            spec,
            filter.as_deref(),
            &[
                ("$orderby", format!("{modified},{key}")),
                ("$top", limit.to_string()),
            ],
        );
        self.records(spec, url, limit).await
    }

    async fn read(&self, spec: &TableSpec, keys: &[String]) -> Result<Vec<Record>, ConnectorError> {
        let entities = self
            .matching(spec, &spec.key, &self.key_literals(spec, keys))
            .await?;
        self.all_records(spec, &entities)
    }

    async fn exists(
        &self,
        spec: &TableSpec,
        keys: &[String],
    ) -> Result<HashSet<String>, ConnectorError> {
        let literals = self.key_literals(spec, keys);
        let entities = self
            .matching_selecting(spec, &spec.key, &spec.key, &literals)
            .await?;
        Ok(entities
            .iter()
            .filter_map(|e| values::key_text(&e[&spec.key]))
            .collect())
    }

    async fn find(
        &self,
        spec: &TableSpec,
        position: usize,
        values: &[Value],
        compare: Compare,
    ) -> Result<Vec<Record>, ConnectorError> {
        let column = &spec.columns[position];
        let edm = self.edm(spec, column);
        let property = match (compare, spec.kinds[position]) {
            (Compare::Folded, ColumnKind::Text) if edm == "Edm.String" => {
                format!("tolower(trim({column}))")
            }
            _ => column.clone(),
        };
        let literals: Vec<String> = values
            .iter()
            .filter(|v| **v != Value::Null)
            .filter_map(|v| values::literal(&edm, v))
            .collect();
        let entities = self.matching(spec, &property, &literals).await?;
        self.all_records(spec, &entities)
    }

    async fn outside_filter(&self, spec: &TableSpec, key: &str) -> Result<bool, ConnectorError> {
        let (Some(holds), Some(key)) = (self.table_filter(spec)?, self.key_literal(spec, key))
        else {
            return Ok(false);
        };
        let filter = format!("{} eq {key} and not ({holds})", spec.key);
        let url = self.selecting(spec, &spec.key, Some(&filter), &[("$top", "1".to_string())]);
        Ok(!self.entities(url, 1).await?.is_empty())
    }

    async fn outside_filter_keys(
        &self,
        spec: &TableSpec,
        offset: usize,
        limit: usize,
    ) -> Result<(i64, Vec<String>), ConnectorError> {
        let Some(holds) = self.table_filter(spec)? else {
            return Ok((0, Vec::new()));
        };
        let outside = format!("not ({holds})");
        let url = self.selecting(
            spec,
            &spec.key,
            Some(&outside),
            &[("$count", "true".to_string()), ("$top", "0".to_string())],
        );
        let answer = self.send(self.request(reqwest::Method::GET, &url)).await?;
        let counted: Json = serde_json::from_slice(&self.body(answer).await?)
            .map_err(|e| self.failure(format!("the service answered no JSON: {e}")))?;
        let count = counted["@odata.count"].as_i64().unwrap_or(0);
        if limit == 0 {
            return Ok((count, Vec::new()));
        }
        // Pages followed from the first rather than `$skip`, which Dataverse refuses.
        let url = self.selecting(
            spec,
            &spec.key,
            Some(&outside),
            &[("$orderby", spec.key.clone())],
        );
        let keys = self
            .entities(url, offset + limit)
            .await?
            .iter()
            .skip(offset)
            .filter_map(|entity| values::key_text(&entity[&spec.key]))
            .collect();
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
        _spec: &TableSpec,
        _after: (i64, i64),
        _limit: usize,
    ) -> Result<Vec<Tombstone>, ConnectorError> {
        // Deletions are found by a mapping's deletion scan, which compares keys.
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_central_company_holds_every_entity_set() {
        let connector = ODataConnector {
            system: "bc".into(),
            root: "https://api.bc.example/api/v2.0/".into(),
            client: reqwest::Client::new(),
            credentials: Credentials::None,
            sets: HashMap::new(),
            gate: Gate::new(1),
            dialect: batch::Dialect::Json,
            batch_size: 100,
            company: Some("6f7e0e1a-0000-4000-8000-000000000001".into()),
            change_tracking: false,
        };
        assert_eq!(
            connector.set_path("customers"),
            "companies(6f7e0e1a-0000-4000-8000-000000000001)/customers"
        );
    }
}
