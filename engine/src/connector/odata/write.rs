//! Writing a batch to an OData service, one request per record so that one refused
//! record does not fail its neighbours: each answer's status is the record's outcome —
//! 2xx written (its new modified-on), 412 on `If-Match` or 404 changed since read (the
//! conflict path), any other refusal kept with the service's own message.

use super::{ODataConnector, QUERY, message, values};
use crate::connector::{ConnectorError, TableSpec, WriteOp, WriteOutcome};
use crate::value::Value;
use percent_encoding::utf8_percent_encode;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// What the service said to one write.
enum Answer {
    /// Written; the entity as it is now, when the service sent it.
    Written(Option<Json>),
    /// 412 or 404: the record changed or vanished since it was read.
    Changed,
    /// Refused, with the service's message.
    Refused(String),
}

impl ODataConnector {
    /// Applies `ops` in order, answering an outcome for each.
    pub(super) async fn write_batch(
        &self,
        spec: &TableSpec,
        ops: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        // An update is sent only with the ETag of the record as it is now, and only when
        // that record still has the version the engine read.
        let updated: Vec<String> = ops
            .iter()
            .filter(|op| matches!(op, WriteOp::Update { .. }))
            .filter_map(|op| self.key_literal(spec, op.key()))
            .collect();
        let mut current: HashMap<String, (i64, Option<String>)> = HashMap::new();
        for entity in self.matching(spec, &spec.key, &updated).await? {
            let record = self.record(spec, &entity)?;
            let etag = entity["@odata.etag"].as_str().map(str::to_string);
            current.insert(record.key, (record.modified, etag));
        }
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            let answer = match self.write_one(spec, op, &current).await {
                Ok(answer) => answer,
                // Nothing written yet: the batch fails whole, as the service is not there.
                Err(error) if outcomes.is_empty() => return Err(error),
                // Some written: those keep their outcomes, this and the rest wait for the
                // next run.
                Err(error) => Answer::Refused(format!("not written: {error}")),
            };
            let outcome = match answer {
                Answer::Written(_) if matches!(op, WriteOp::Delete { .. }) => {
                    WriteOutcome::Written(0)
                }
                Answer::Written(entity) => {
                    let entity = match entity {
                        Some(entity) => entity,
                        None => self.read_back(spec, op.key()).await?,
                    };
                    WriteOutcome::Written(self.record(spec, &entity)?.modified)
                }
                Answer::Changed => WriteOutcome::Changed,
                Answer::Refused(message) => WriteOutcome::Refused(message),
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// Sends one write.
    async fn write_one(
        &self,
        spec: &TableSpec,
        op: &WriteOp,
        current: &HashMap<String, (i64, Option<String>)>,
    ) -> Result<Answer, ConnectorError> {
        let Some(entity_url) = self.entity_url(spec, op.key()) else {
            return Ok(Answer::Refused(format!(
                "{:?} cannot be a key of {}",
                op.key(),
                spec.table
            )));
        };
        let request = match op {
            WriteOp::Create { key, values } => {
                let mut body = match self.body_of(spec, values) {
                    Ok(body) => body,
                    Err(message) => return Ok(Answer::Refused(message)),
                };
                body.insert(spec.key.clone(), self.key_json(spec, key));
                let url = format!("{}{}", self.root, utf8_percent_encode(&spec.table, QUERY));
                self.request(Method::POST, &url)
                    .header("Prefer", "return=representation")
                    .header("Content-Type", "application/json")
                    .body(Json::Object(body).to_string())
            }
            WriteOp::Update {
                key,
                expected,
                values,
            } => {
                let etag = match current.get(key) {
                    Some((modified, etag)) if modified == expected => etag.clone(),
                    _ => return Ok(Answer::Changed),
                };
                let body = match self.body_of(spec, values) {
                    Ok(body) => body,
                    Err(message) => return Ok(Answer::Refused(message)),
                };
                self.request(Method::PATCH, &entity_url)
                    .header("If-Match", etag.as_deref().unwrap_or("*"))
                    .header("Prefer", "return=representation")
                    .header("Content-Type", "application/json")
                    .body(Json::Object(body).to_string())
            }
            WriteOp::Delete { .. } => self
                .request(Method::DELETE, &entity_url)
                .header("If-Match", "*"),
        };
        let answer = self.send(request).await?;
        let status = answer.status();
        let bytes = answer.bytes().await.unwrap_or_default();
        Ok(match status {
            s if s.is_success() => Answer::Written(serde_json::from_slice(&bytes).ok()),
            StatusCode::PRECONDITION_FAILED | StatusCode::NOT_FOUND => Answer::Changed,
            s => Answer::Refused(format!(
                "{} refused it ({s}): {}",
                self.system,
                message(&bytes)
            )),
        })
    }

    /// The entity `key` as it is now, for a write the service answered without it.
    async fn read_back(&self, spec: &TableSpec, key: &str) -> Result<Json, ConnectorError> {
        let literal = self.key_literal(spec, key).unwrap_or_default();
        self.matching(spec, &spec.key, &[literal])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                self.failure(format!(
                    "record {key} of {} vanished as it was written",
                    spec.table
                ))
            })
    }

    /// The URL of the entity `key` of `spec`'s set (`accounts(…)`).
    fn entity_url(&self, spec: &TableSpec, key: &str) -> Option<String> {
        let literal = self.key_literal(spec, key)?;
        Some(format!(
            "{}{}({})",
            self.root,
            utf8_percent_encode(&spec.table, QUERY),
            utf8_percent_encode(&literal, QUERY)
        ))
    }

    /// `key` as the JSON of the key property.
    fn key_json(&self, spec: &TableSpec, key: &str) -> Json {
        match values::write(
            &Value::Text(key.to_string()),
            spec.key_kind,
            Default::default(),
        ) {
            Ok(json) => json,
            Err(_) => Json::String(key.to_string()),
        }
    }

    /// The JSON body setting `values`, or why one cannot be sent.
    fn body_of(
        &self,
        spec: &TableSpec,
        values: &[(usize, Value)],
    ) -> Result<Map<String, Json>, String> {
        let mut body = Map::new();
        for (position, value) in values {
            let kind = spec.kinds[*position];
            let field = spec.types.get(*position).copied().unwrap_or_default();
            let json = values::write(value, kind, field).map_err(|which| {
                format!(
                    "{value} cannot be stored in {}.{}, {which}",
                    spec.table, spec.columns[*position]
                )
            })?;
            body.insert(spec.columns[*position].clone(), json);
        }
        Ok(body)
    }
}
