//! Writing a batch to an OData service: the operations go in `$batch` requests of at most
//! the system's batch size, each operation answered on its own so that one refused
//! record does not fail its neighbours. Each answer's status is the record's outcome —
//! 2xx written (its new modified-on), 412 on `If-Match` or 404 changed since read (the
//! conflict path), any other refusal kept with the service's own message.

use super::batch::{self, Call, Reply};
use super::{ODataConnector, QUERY, message, values};
use crate::connector::{ConnectorError, TableSpec, WriteOp, WriteOutcome};
use crate::value::Value;
use percent_encoding::utf8_percent_encode;
use reqwest::Method;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

impl ODataConnector {
    /// Applies `ops`, answering an outcome for each, in order.
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
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; ops.len()];
        let mut calls: Vec<(usize, Call)> = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match self.call(spec, op, &current) {
                Ok(call) => calls.push((i, call)),
                Err(outcome) => outcomes[i] = Some(outcome),
            }
        }
        let mut sent_any = false;
        for chunk in calls.chunks(self.batch_size) {
            let replies = match self.batch(chunk).await {
                Ok(replies) => replies,
                // Nothing sent yet: the batch fails whole, as the service is not there.
                Err(error) if !sent_any => return Err(error),
                // Some written: those keep their outcomes; these wait for the next run.
                Err(error) => {
                    for (i, _) in chunk {
                        outcomes[*i] = Some(WriteOutcome::Refused(format!("not written: {error}")));
                    }
                    continue;
                }
            };
            sent_any = true;
            for ((i, _), reply) in chunk.iter().zip(replies) {
                outcomes[*i] = Some(self.outcome(spec, &ops[*i], reply).await?);
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every operation has an outcome"))
            .collect())
    }

    /// The request `op` makes, or its outcome when it needs none.
    fn call(
        &self,
        spec: &TableSpec,
        op: &WriteOp,
        current: &HashMap<String, (i64, Option<String>)>,
    ) -> Result<Call, WriteOutcome> {
        let set = self.set_path(&spec.table);
        let entity = self
            .key_literal(spec, op.key())
            .map(|literal| format!("{set}({})", utf8_percent_encode(&literal, QUERY)))
            .ok_or_else(|| {
                WriteOutcome::Refused(format!("{:?} cannot be a key of {}", op.key(), spec.table))
            })?;
        let represented = ("Prefer", "return=representation".to_string());
        Ok(match op {
            WriteOp::Create { key, values } => {
                let mut body = self.body_of(spec, values).map_err(WriteOutcome::Refused)?;
                body.insert(spec.key.clone(), self.key_json(spec, key));
                Call {
                    method: "POST",
                    path: set,
                    headers: vec![represented],
                    body: Some(Json::Object(body)),
                }
            }
            WriteOp::Update {
                key,
                expected,
                values,
            } => {
                let etag = match current.get(key) {
                    Some((modified, etag)) if modified == expected => etag.clone(),
                    _ => return Err(WriteOutcome::Changed),
                };
                let body = self.body_of(spec, values).map_err(WriteOutcome::Refused)?;
                Call {
                    method: "PATCH",
                    path: entity,
                    headers: vec![
                        ("If-Match", etag.unwrap_or_else(|| "*".into())),
                        represented,
                    ],
                    body: Some(Json::Object(body)),
                }
            }
            WriteOp::Delete { .. } => Call {
                method: "DELETE",
                path: entity,
                headers: vec![("If-Match", "*".to_string())],
                body: None,
            },
        })
    }

    /// Sends `calls` as one `$batch`; answers a reply for each, in order.
    async fn batch(&self, calls: &[(usize, Call)]) -> Result<Vec<Reply>, ConnectorError> {
        let calls: Vec<Call> = calls.iter().map(|(_, c)| c.clone()).collect();
        let (content_type, body) = batch::encode(self.dialect, &self.root, &calls);
        let url = format!("{}$batch", self.root);
        let accept = match self.dialect {
            batch::Dialect::Json => "application/json",
            batch::Dialect::Multipart => "multipart/mixed",
        };
        let request = self
            .request_accepting(Method::POST, &url, accept)
            .header("Content-Type", content_type)
            .header("Prefer", "odata.continue-on-error")
            .body(body);
        let answer = self.send(request).await?;
        let content_type = answer
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = self.body(answer).await?;
        let replies = batch::decode(&content_type, &bytes).map_err(|m| self.failure(m))?;
        if replies.len() != calls.len() {
            return Err(self.failure(format!(
                "the service answered {} of the {} writes of a batch",
                replies.len(),
                calls.len()
            )));
        }
        Ok(replies)
    }

    /// What `reply` means for `op`.
    async fn outcome(
        &self,
        spec: &TableSpec,
        op: &WriteOp,
        reply: Reply,
    ) -> Result<WriteOutcome, ConnectorError> {
        Ok(match reply.status {
            200..=299 if matches!(op, WriteOp::Delete { .. }) => WriteOutcome::Written(0),
            200..=299 => {
                let entity = match reply.body {
                    Some(entity) if entity.get(&spec.modified).is_some() => entity,
                    _ => self.read_back(spec, op.key()).await?,
                };
                WriteOutcome::Written(self.record(spec, &entity)?.modified)
            }
            // A create repeated (its batch sent again, or after a crash) finds its
            // record, made with the key the engine chose: it is coupled, not duplicated.
            409 | 412 if matches!(op, WriteOp::Create { .. }) => {
                let entity = self.read_back(spec, op.key()).await?;
                WriteOutcome::Written(self.record(spec, &entity)?.modified)
            }
            404 | 412 => WriteOutcome::Changed,
            status => {
                let said = reply.body.map(|b| b.to_string()).unwrap_or_default();
                WriteOutcome::Refused(format!(
                    "{} refused it ({status}): {}",
                    self.system,
                    message(said.as_bytes())
                ))
            }
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

    /// `key` as the JSON of the key property.
    fn key_json(&self, spec: &TableSpec, key: &str) -> Json {
        values::write(
            &Value::Text(key.to_string()),
            spec.key_kind,
            Default::default(),
        )
        .unwrap_or_else(|_| Json::String(key.to_string()))
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
