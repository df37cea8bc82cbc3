//! Alerts in the store: whether each rule holds for each mapping (`alert_state`), the
//! firings when that changes (`alert_firing`), and their deliveries (`alert_delivery`),
//! claimed one at a time so that several servers sharing the store send each once.

use super::{Store, StoreError, now_millis};
use crate::model::{AlertDelivery, AlertFiring, DeliveryStatus, FiringState};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeSet;

/// A firing about to be recorded, with the receivers it goes to.
#[derive(Clone, Debug)]
pub struct NewFiring {
    /// The rule's name.
    pub rule: String,
    /// The mapping.
    pub mapping: String,
    /// The rule's condition code.
    pub when: String,
    /// Started or stopped holding.
    pub state: FiringState,
    /// What held, in words.
    pub message: String,
    /// The figures, as JSON text.
    pub figures: String,
    /// The console view that shows it.
    pub link: String,
    /// `(channel, destination)` per receiver.
    pub receivers: Vec<(String, String)>,
}

/// A delivery whose attempt is due, with its firing.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    /// The delivery's id.
    pub id: i64,
    /// `webhook` or `email`.
    pub channel: String,
    /// The receiver as stored.
    pub destination: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The firing it delivers (its own deliveries left out).
    pub firing: AlertFiring,
}

/// What an attempt at a delivery came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver accepted it.
    Sent,
    /// It failed (the message), and is tried again at the time given.
    RetryAt(String, i64),
    /// It failed (the message) for the last time.
    GaveUp(String),
}

/// How long a claimed delivery stays claimed before another server may try it.
const CLAIM_MS: i64 = 60_000;

impl Store {
    /// Every `(rule, mapping)` that holds now.
    pub async fn alerts_holding(&self) -> Result<BTreeSet<(String, String)>, StoreError> {
        let rows = sqlx::query("select rule, mapping from alert_state where holding = 1")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Records that `firing`'s rule now holds (or not) for its mapping, with its
    /// deliveries, unless another server recorded the same change first. Answers the
    /// firing's id when this recorded it.
    pub async fn record_firing(&self, firing: &NewFiring) -> Result<Option<i64>, StoreError> {
        let holding = i64::from(firing.state == FiringState::Firing);
        let now = now_millis();
        let mut tx = self.begin().await?;
        sqlx::query(
            "insert into alert_state (rule, mapping, holding, changed_at) values ($1, $2, 0, $3) \
             on conflict (rule, mapping) do nothing",
        )
        .bind(&firing.rule)
        .bind(&firing.mapping)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let changed = sqlx::query(
            "update alert_state set holding = $3, changed_at = $4 \
             where rule = $1 and mapping = $2 and holding <> $3",
        )
        .bind(&firing.rule)
        .bind(&firing.mapping)
        .bind(holding)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            tx.commit().await?;
            return Ok(None);
        }
        let id: i64 = sqlx::query(
            "insert into alert_firing (rule, mapping, condition, state, message, figures, link, at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        )
        .bind(&firing.rule)
        .bind(&firing.mapping)
        .bind(&firing.when)
        .bind(firing.state.as_str())
        .bind(&firing.message)
        .bind(&firing.figures)
        .bind(&firing.link)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        for (channel, destination) in &firing.receivers {
            sqlx::query(
                "insert into alert_delivery (firing_id, channel, destination, status, next_at) \
                 values ($1, $2, $3, 'pending', $4)",
            )
            .bind(id)
            .bind(channel)
            .bind(destination)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Claims up to `limit` deliveries due now, oldest first: each is this server's to
    /// attempt for the next minute.
    pub async fn claim_due_deliveries(&self, limit: i64) -> Result<Vec<DueDelivery>, StoreError> {
        let now = now_millis();
        let rows = sqlx::query(&format!(
            "select d.id, d.channel, d.destination, d.attempts, d.next_at, {FIRING} \
             from alert_delivery d join alert_firing f on f.id = d.firing_id \
             where d.status = 'pending' and d.next_at <= $1 order by d.next_at, d.id limit $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, next_at): (i64, i64) = (row.try_get(0)?, row.try_get(4)?);
            let taken = sqlx::query(
                "update alert_delivery set next_at = $3 where id = $1 and next_at = $2 \
                 and status = 'pending'",
            )
            .bind(id)
            .bind(next_at)
            .bind(now + CLAIM_MS)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if taken == 1 {
                claimed.push(DueDelivery {
                    id,
                    channel: row.try_get(1)?,
                    destination: row.try_get(2)?,
                    attempts: row.try_get::<i64, _>(3)?.try_into().unwrap_or(u32::MAX),
                    firing: firing_of(&row, 5)?,
                });
            }
        }
        Ok(claimed)
    }

    /// Records what the attempt at delivery `id` came to.
    pub async fn record_attempt(&self, id: i64, attempt: &Attempt) -> Result<(), StoreError> {
        let now = now_millis();
        let (status, next_at, error) = match attempt {
            Attempt::Sent => (DeliveryStatus::Sent, now, None),
            Attempt::RetryAt(error, at) => (DeliveryStatus::Pending, *at, Some(error)),
            Attempt::GaveUp(error) => (DeliveryStatus::Failed, now, Some(error)),
        };
        sqlx::query(
            "update alert_delivery set status = $2, attempts = attempts + 1, next_at = $3, \
             last_at = $4, last_error = coalesce($5, last_error), sent_at = case when $2 = 'sent' then $4 end \
             where id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(next_at)
        .bind(now)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest `limit` firings, each with its deliveries.
    pub async fn firings(&self, limit: i64) -> Result<Vec<AlertFiring>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = sqlx::query(&format!(
            "select {FIRING} from alert_firing f order by f.at desc, f.id desc limit $1"
        ))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        let mut firings = rows
            .iter()
            .map(|row| firing_of(row, 0))
            .collect::<Result<Vec<_>, _>>()?;
        for firing in &mut firings {
            firing.deliveries = deliveries_of(&mut conn, firing.id).await?;
        }
        Ok(firings)
    }
}

/// The firing's columns, in the order [`firing_of`] reads them.
const FIRING: &str = "f.id, f.rule, f.mapping, f.condition, f.state, f.message, f.figures, \
                      f.link, f.at";

/// The firing in `row`'s columns from `at` on (see [`FIRING`]), without its deliveries.
fn firing_of(row: &AnyRow, at: usize) -> Result<AlertFiring, sqlx::Error> {
    let state: String = row.try_get(at + 4)?;
    Ok(AlertFiring {
        id: row.try_get(at)?,
        rule: row.try_get(at + 1)?,
        mapping: row.try_get(at + 2)?,
        when: row.try_get(at + 3)?,
        state: FiringState::parse(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("alert_firing.state {state:?} is not a state").into())
        })?,
        message: row.try_get(at + 5)?,
        figures: row.try_get(at + 6)?,
        link: row.try_get(at + 7)?,
        at: row.try_get(at + 8)?,
        deliveries: Vec::new(),
    })
}

/// Firing `id`'s deliveries, in the order they were made.
async fn deliveries_of(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Vec<AlertDelivery>, sqlx::Error> {
    let rows = sqlx::query(
        "select channel, destination, status, attempts, last_error, last_at, sent_at \
         from alert_delivery where firing_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get(2)?;
            Ok(AlertDelivery {
                channel: row.try_get(0)?,
                destination: row.try_get(1)?,
                status: DeliveryStatus::parse(&status).ok_or_else(|| {
                    sqlx::Error::Decode(
                        format!("alert_delivery.status {status:?} is not a status").into(),
                    )
                })?,
                attempts: row.try_get::<i64, _>(3)?.try_into().unwrap_or(u32::MAX),
                last_error: row.try_get(4)?,
                last_at: row.try_get(5)?,
                sent_at: row.try_get(6)?,
            })
        })
        .collect()
}
