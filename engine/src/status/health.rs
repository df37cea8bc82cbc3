//! A mapping's health: paused; its last successful run and that run's age against the
//! interval; its last jobs failing; a system that does not answer; a schedule nobody runs;
//! errors growing; a table or column the configuration names that no longer exists.
//! Worked out from the store and one look at each side's table (the same check as at
//! start, done again), so a column dropped since start is noticed.

use super::overdue_since;
use crate::connector::{Connector, ConnectorError};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{MappingHealth, Problem, ProblemCode, Side, format_time};
use crate::queue::schedule::backoff;
use crate::store::{MappingState, by_status, now_millis, overview};
use crate::sync::plan::Compiled;
use std::sync::Arc;

/// How many new errors in the last 12 hours, more than in the 12 before, count as errors
/// growing.
pub const ERRORS_GROWING_FROM: i64 = 10;

const HOUR: i64 = 3_600_000;

impl Engine {
    /// The health of `compiled`'s mapping, whose two tables `connectors` reach.
    async fn health_of(
        &self,
        compiled: &Compiled,
        connectors: [&dyn Connector; 2],
        state: &MappingState,
    ) -> Result<MappingHealth, EngineError> {
        let mapping = &compiled.mapping;
        let name = mapping.name.as_str();
        let now = now_millis();
        let interval = mapping.interval;
        let mut problems = Vec::from_iter(state.paused.then(paused_problem));
        let mut problem = |code, message: String| problems.push(Problem { code, message });
        let mut conn = self.inner.store.conn().await?;
        let (last_success_at, failed) = by_status::runs_since_success(&mut conn, name).await?;
        let hours =
            overview::errors_first_found(&mut conn, Some(name), now - 24 * HOUR, 12 * HOUR, now)
                .await?;
        drop(conn);
        let expected = backoff(interval, state.idle_runs).as_millis() as i64;
        if let Some(at) = last_success_at
            && !state.paused
            && now - at > 3 * expected
        {
            problem(
                ProblemCode::NoRecentSuccess,
                format!(
                    "the last successful run finished at {}, more than three intervals ago \
                     (the interval is {} s)",
                    format_time(at),
                    interval.as_secs()
                ),
            );
        }
        if failed > 0 {
            problem(
                ProblemCode::JobFailing,
                format!(
                    "the last {} failed{}",
                    if failed == 1 {
                        "run".to_string()
                    } else {
                        format!("{failed} runs in a row")
                    },
                    match last_success_at {
                        Some(at) => format!("; the last success was at {}", format_time(at)),
                        None => "; none has succeeded yet".into(),
                    }
                ),
            );
        }
        for (side, connector) in [Side::Local, Side::Integration].into_iter().zip(connectors) {
            let mut spec = compiled.spec(side).clone();
            match connector.check(&mut spec).await {
                Ok(()) => {}
                Err(error @ ConnectorError::Schema { .. }) => {
                    problem(ProblemCode::MissingColumn, format!("{side} table: {error}"));
                }
                Err(error) => problem(ProblemCode::SystemUnreachable, error.to_string()),
            }
        }
        if let Some(due) = overdue_since(state, interval, now) {
            problem(
                ProblemCode::NoWorker,
                format!(
                    "nothing has run the schedule since {} (more than three intervals): start \
                     `coupler serve`, or run `coupler sync`",
                    format_time(due)
                ),
            );
        }
        let found = |bucket| {
            hours
                .iter()
                .find(|(b, _)| *b == bucket)
                .map_or(0, |(_, n)| *n)
        };
        let (before, last) = (found(0), found(1));
        if last >= ERRORS_GROWING_FROM && last > before {
            problem(
                ProblemCode::ErrorsGrowing,
                format!(
                    "{last} new errors in the last 12 hours, against {before} in the 12 before"
                ),
            );
        }
        Ok(MappingHealth {
            mapping: name.to_string(),
            last_success_at,
            interval_ms: interval.as_millis() as i64,
            problems,
        })
    }

    /// Every mapping's health now, in the configuration's order.
    pub async fn mapping_health(&self) -> Result<Vec<MappingHealth>, EngineError> {
        let mut health = Vec::new();
        for mapping in &self.inner.config.mappings {
            let state = self.inner.store.mapping_state(&mapping.name).await?;
            health.push(self.health_and_prepared(&mapping.name, &state).await?.0);
        }
        Ok(health)
    }

    /// The health of the mapping `name` in `state`, and the mapping prepared for a run
    /// when its systems answered.
    pub(crate) async fn health_and_prepared(
        &self,
        name: &str,
        state: &MappingState,
    ) -> Result<(MappingHealth, Option<Prepared>), EngineError> {
        match self.prepared(name).await {
            Ok(prepared) => {
                let connectors: [&dyn Connector; 2] = [prepared.1.as_ref(), prepared.2.as_ref()];
                let health = self.health_of(&prepared.0, connectors, state).await?;
                let answers = !health
                    .problems
                    .iter()
                    .any(|p| p.code == ProblemCode::SystemUnreachable);
                Ok((health, answers.then_some(prepared)))
            }
            Err(EngineError::System { source, .. }) => {
                let mapping = self.configured(name)?;
                let mut conn = self.inner.store.conn().await?;
                let (last_success_at, _) = by_status::runs_since_success(&mut conn, name).await?;
                drop(conn);
                let health = MappingHealth {
                    mapping: name.to_string(),
                    last_success_at,
                    interval_ms: mapping.interval.as_millis() as i64,
                    problems: vec![Problem {
                        code: match source {
                            ConnectorError::Schema { .. } => ProblemCode::MissingColumn,
                            _ => ProblemCode::SystemUnreachable,
                        },
                        message: source.to_string(),
                    }],
                };
                Ok((health, None))
            }
            Err(other) => Err(other),
        }
    }
}

/// A mapping compiled against its tables, with the connectors of its two sides.
pub(crate) type Prepared = (Compiled, Arc<dyn Connector>, Arc<dyn Connector>);

/// The problem of a paused mapping.
pub(crate) fn paused_problem() -> Problem {
    Problem {
        code: ProblemCode::Paused,
        message: "scheduled synchronization is paused: changes wait until someone resumes it"
            .into(),
    }
}
