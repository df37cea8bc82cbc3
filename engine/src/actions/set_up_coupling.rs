//! Set Up Coupling: a chosen local record coupled with a chosen integration record by
//! hand, optionally synchronized from one side.

use super::{Claims, changes, entry};
use crate::connector::{WriteOp, WriteOutcome};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{ActionAnswer, Outcome, RecordOutcome, Resolution, Side};
use crate::store::coupling::{self, NewCoupling};
use crate::store::{StoreError, log, progress, sync_error};
use crate::sync::{plan, synced_pair};

impl Engine {
    /// Set Up Coupling: couples a local record with an integration record, refusing keys
    /// coupled already; with `sync_from`, that side's values are written to the other.
    pub async fn set_up_coupling(
        &self,
        actor: &str,
        action_id: &str,
        mapping: &str,
        local_key: &str,
        integration_key: &str,
        sync_from: Option<Side>,
    ) -> Result<ActionAnswer, EngineError> {
        self.configured(mapping)?;
        let text = format!("{mapping}: local {local_key} with integration {integration_key}");
        self.act(
            actor,
            action_id,
            "set_up_coupling",
            text,
            async |_: &Claims| {
                let answer = |o: Outcome, message: String| RecordOutcome {
                    error_id: None,
                    mapping: mapping.to_string(),
                    local_key: Some(local_key.to_string()),
                    integration_key: Some(integration_key.to_string()),
                    outcome: o,
                    message,
                };
                let (compiled, local_connector, integration_connector) =
                    self.prepared(mapping).await?;
                let mut conn = self.inner.store.conn().await?;
                for (side, key) in [
                    (Side::Local, local_key),
                    (Side::Integration, integration_key),
                ] {
                    if let Some(c) = coupling::by_keys(&mut conn, mapping, side, &[key.to_string()])
                        .await?
                        .pop()
                    {
                        let message = format!(
                            "the {side} record {key} is coupled already, with {}",
                            c.key(side.other())
                        );
                        return Ok((vec![answer(Outcome::Refused, message)], None));
                    }
                }
                drop(conn);
                let mut records = Vec::new();
                for (side, key, connector) in [
                    (Side::Local, local_key, &local_connector),
                    (Side::Integration, integration_key, &integration_connector),
                ] {
                    let found = connector
                        .read(compiled.spec(side), &[key.to_string()])
                        .await
                        .map_err(|source| EngineError::System {
                            mapping: mapping.to_string(),
                            source,
                        })?;
                    match found.into_iter().next() {
                        Some(record) => records.push(record),
                        None => {
                            return Ok((
                                vec![answer(
                                    Outcome::Refused,
                                    format!("no {side} record has key {key}"),
                                )],
                                None,
                            ));
                        }
                    }
                }
                let mut after = [records[0].clone(), records[1].clone()];
                let mut written = Vec::new();
                if let Some(from) = sync_from {
                    let lookups = self
                        .lookups(
                            &compiled,
                            [(Side::Local, &records[0]), (Side::Integration, &records[1])],
                        )
                        .await?;
                    let resolution = if from == Side::Local {
                        Resolution::Local
                    } else {
                        Resolution::Integration
                    };
                    let (to_local, to_integration) = match plan::resolve(
                        &compiled,
                        &records[0],
                        &records[1],
                        None,
                        &resolution,
                        &lookups,
                    ) {
                        Ok(writes) => writes,
                        Err(reason) => return Ok((vec![answer(Outcome::Failed, reason)], None)),
                    };
                    for (index, side, writes, connector) in [
                        (0, Side::Local, &to_local, &local_connector),
                        (
                            1,
                            Side::Integration,
                            &to_integration,
                            &integration_connector,
                        ),
                    ] {
                        if writes.is_empty() {
                            continue;
                        }
                        let op = WriteOp::Update {
                            key: records[index].key.clone(),
                            expected: records[index].modified,
                            values: writes.clone(),
                        };
                        match self
                            .write(mapping, connector.as_ref(), &compiled, side, op)
                            .await?
                        {
                            WriteOutcome::Written(modified) => {
                                after[index] = plan::applied(&records[index], writes, modified)
                            }
                            WriteOutcome::Refused(reason) => {
                                return Ok((
                                    vec![answer(
                                        Outcome::Failed,
                                        format!("the {side} system refused the values: {reason}"),
                                    )],
                                    None,
                                ));
                            }
                            WriteOutcome::Changed => {
                                return Ok((
                                    vec![answer(
                                        Outcome::Failed,
                                        format!("the {side} record changed meanwhile: try again"),
                                    )],
                                    None,
                                ));
                            }
                        }
                        written.extend(changes(&compiled, side, &records[index], writes));
                    }
                }
                let mut tx = self.inner.store.begin().await?;
                let new = NewCoupling {
                    local_key: local_key.to_string(),
                    integration_key: integration_key.to_string(),
                    pending: None,
                };
                let id = match coupling::insert(&mut tx, mapping, &[new]).await {
                    Ok(ids) => ids[0],
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Ok((
                            vec![answer(
                                Outcome::Stale,
                                "someone coupled one of these records meanwhile".into(),
                            )],
                            None,
                        ));
                    }
                    Err(e) => return Err(e.into()),
                };
                let from = sync_from.unwrap_or(Side::Local);
                let (source, other) = match from {
                    Side::Local => (&after[0], &after[1]),
                    Side::Integration => (&after[1], &after[0]),
                };
                synced_pair(&mut tx, &compiled, id, from, source, other).await?;
                progress::forget_uncoupled(&mut tx, mapping, Side::Local, &[local_key.to_string()])
                    .await?;
                progress::forget_uncoupled(
                    &mut tx,
                    mapping,
                    Side::Integration,
                    &[integration_key.to_string()],
                )
                .await?;
                // What the two records failed as records not coupled (an ambiguous match
                // among them) is settled by the person's choice; an error that names one
                // of them as another record's partner is that record's, and stays.
                let mut settled = Vec::new();
                for (side, key, partner) in [
                    (Side::Local, local_key, integration_key),
                    (Side::Integration, integration_key, local_key),
                ] {
                    let open =
                        sync_error::open_for(&mut tx, mapping, side, &[key.to_string()]).await?;
                    settled.extend(
                        open.into_iter()
                            .filter(|e| e.coupling_id.is_none())
                            .filter(|e| {
                                let named = match side {
                                    Side::Local => &e.integration_key,
                                    Side::Integration => &e.local_key,
                                };
                                named.as_deref().is_none_or(|named| named == partner)
                            })
                            .map(|e| e.id),
                    );
                }
                sync_error::resolve(&mut tx, &settled, actor).await?;
                let how = match sync_from {
                    Some(side) => {
                        format!("coupled by hand and synchronized from the {side} record")
                    }
                    None => "coupled by hand".to_string(),
                };
                log::insert(
                    &mut tx,
                    mapping,
                    &[entry(
                        actor,
                        (local_key, integration_key),
                        "coupled",
                        written,
                        Some(how.clone()),
                    )],
                )
                .await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok((vec![answer(Outcome::Done, how)], None))
            },
        )
        .await
    }
}
