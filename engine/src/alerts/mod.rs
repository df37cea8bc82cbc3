//! Alerts: the `[[alert]]` rules checked against each mapping they watch. A rule fires once
//! when it starts holding for a mapping and once when it stops (the store remembers which
//! hold, so a rule that keeps holding sends nothing more), and each firing is delivered
//! to the rule's webhook and e-mail addresses ([`deliver`]).

pub mod deliver;

use crate::config::{AlertRule, Condition, shown_duration};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{AlertRuleSummary, AlertsView, FiringState, MappingHealth, ProblemCode};
use crate::model::{encode, format_time};
use crate::store::alert::NewFiring;
use crate::store::{by_status, now_millis, overview};
use serde_json::json;

/// How often deliveries that are due are looked for.
const DELIVERY_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// How many firings the Alerts page lists.
pub const FIRINGS_SHOWN: i64 = 200;

/// What a rule's condition came to for one mapping.
struct Observed {
    /// Whether it holds.
    holds: bool,
    /// What was seen, in words.
    message: String,
    /// The figures behind it.
    figures: serde_json::Value,
}

impl Engine {
    /// Runs the alerts for as long as the future is polled: checks the rules every
    /// `[alerts] every` and attempts the deliveries that are due every second.
    pub async fn run_alerts(&self) {
        let alerts = &self.inner.config.alerts;
        if alerts.rules.is_empty() {
            return std::future::pending().await;
        }
        let mut tick = tokio::time::interval(DELIVERY_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_check = tokio::time::Instant::now();
        loop {
            tick.tick().await;
            if tokio::time::Instant::now() >= next_check {
                next_check += alerts.every;
                if let Err(error) = self.check_alerts().await {
                    tracing::warn!(%error, "cannot check the alert rules");
                }
            }
            if let Err(error) = self.deliver_alerts().await {
                tracing::warn!(%error, "cannot deliver alerts");
            }
        }
    }

    /// Checks every rule against each mapping it watches, and records a firing (with its
    /// deliveries) for each that started or stopped holding. Answers how many it recorded.
    pub async fn check_alerts(&self) -> Result<usize, EngineError> {
        let alerts = &self.inner.config.alerts;
        if alerts.rules.is_empty() {
            return Ok(0);
        }
        let holding = self.inner.store.alerts_holding().await?;
        let needs_health = alerts.rules.iter().any(|rule| {
            matches!(
                rule.condition,
                Condition::SystemUnreachable | Condition::Unhealthy
            )
        });
        let health = if needs_health {
            self.mapping_health().await?
        } else {
            Vec::new()
        };
        let mut recorded = 0;
        for rule in &alerts.rules {
            for mapping in self.watched_by(rule) {
                let observed = self.observe(rule.condition, &mapping, &health).await?;
                let held = holding.contains(&(rule.name.clone(), mapping.clone()));
                let state = match (held, observed.holds) {
                    (false, true) => FiringState::Firing,
                    (true, false) => FiringState::Cleared,
                    _ => continue,
                };
                let firing = self.firing(rule, &mapping, state, observed);
                if self.inner.store.record_firing(&firing).await?.is_some() {
                    tracing::warn!(
                        rule = rule.name,
                        mapping,
                        state = state.as_str(),
                        message = firing.message,
                        "alert"
                    );
                    recorded += 1;
                }
            }
        }
        Ok(recorded)
    }

    /// The rules as configured, each with the mappings it holds for now, and the newest
    /// firings with their deliveries.
    pub async fn alerts_view(&self) -> Result<AlertsView, EngineError> {
        let holding = self.inner.store.alerts_holding().await?;
        let rules = self
            .inner
            .config
            .alerts
            .rules
            .iter()
            .map(|rule| AlertRuleSummary {
                name: rule.name.clone(),
                when: rule.condition.code().to_string(),
                condition: rule.condition.to_string(),
                mapping: rule.mapping.clone(),
                deliveries: receivers(rule)
                    .into_iter()
                    .map(|(channel, to)| match channel.as_str() {
                        "email" => format!("e-mail {to}"),
                        _ => format!("{channel} {to}"),
                    })
                    .collect(),
                holding: holding
                    .iter()
                    .filter(|(name, _)| *name == rule.name)
                    .map(|(_, mapping)| mapping.clone())
                    .collect(),
            })
            .collect();
        let firings = self.inner.store.firings(FIRINGS_SHOWN).await?;
        Ok(AlertsView { rules, firings })
    }

    /// The mappings `rule` watches: its own, or every one.
    fn watched_by(&self, rule: &AlertRule) -> Vec<String> {
        match &rule.mapping {
            Some(mapping) => vec![mapping.clone()],
            None => self.inner.config.mapping_names(),
        }
    }

    /// What `condition` comes to for `mapping` now (`health`: every mapping's, when a rule
    /// needs it).
    async fn observe(
        &self,
        condition: Condition,
        mapping: &str,
        health: &[MappingHealth],
    ) -> Result<Observed, EngineError> {
        let problems = || {
            health
                .iter()
                .find(|h| h.mapping == mapping)
                .map(|h| h.problems.clone())
                .unwrap_or_default()
        };
        let now = now_millis();
        Ok(match condition {
            Condition::OpenErrors { above } => {
                let mut conn = self.inner.store.conn().await?;
                let open: i64 = overview::open_errors_by_kind(&mut conn, mapping)
                    .await?
                    .iter()
                    .map(|(_, n)| n)
                    .sum();
                Observed {
                    holds: open > above as i64,
                    message: format!("{open} open errors (the alert is for more than {above})"),
                    figures: json!({ "open_errors": open, "above": above }),
                }
            }
            Condition::NewErrors { above, within } => {
                let window = within.as_millis() as i64;
                let mut conn = self.inner.store.conn().await?;
                let found: i64 = overview::errors_first_found(
                    &mut conn,
                    Some(mapping),
                    now - window,
                    window,
                    now + 1,
                )
                .await?
                .iter()
                .map(|(_, n)| n)
                .sum();
                Observed {
                    holds: found > above as i64,
                    message: format!(
                        "{found} errors first found within the last {} (the alert is for more \
                         than {above})",
                        shown_duration(within)
                    ),
                    figures: json!({
                        "new_errors": found, "above": above, "within_ms": window
                    }),
                }
            }
            Condition::JobFailing { times } => {
                let mut conn = self.inner.store.conn().await?;
                let (_, failed) = by_status::runs_since_success(&mut conn, mapping).await?;
                Observed {
                    holds: failed >= i64::from(times),
                    message: format!(
                        "{failed} runs failed in a row (the alert is for {times} or more)"
                    ),
                    figures: json!({ "failed_in_a_row": failed, "times": times }),
                }
            }
            Condition::NoSuccess { over } => {
                let mut conn = self.inner.store.conn().await?;
                let (success, failed) = by_status::runs_since_success(&mut conn, mapping).await?;
                let holds = match success {
                    Some(at) => now - at > over.as_millis() as i64,
                    None => failed > 0,
                };
                Observed {
                    holds,
                    message: match success {
                        Some(at) => format!(
                            "the last successful run finished at {} (the alert is for none \
                             within {})",
                            format_time(at),
                            shown_duration(over)
                        ),
                        None => format!("no run has succeeded yet; {failed} failed"),
                    },
                    figures: json!({
                        "last_success_at": success, "failed_since": failed,
                        "for_ms": over.as_millis() as i64
                    }),
                }
            }
            Condition::SystemUnreachable => {
                let unreachable: Vec<String> = problems()
                    .into_iter()
                    .filter(|p| p.code == ProblemCode::SystemUnreachable)
                    .map(|p| p.message)
                    .collect();
                Observed {
                    holds: !unreachable.is_empty(),
                    message: if unreachable.is_empty() {
                        "both systems answer".into()
                    } else {
                        unreachable.join("; ")
                    },
                    figures: json!({ "unreachable": unreachable }),
                }
            }
            Condition::Unhealthy => {
                let problems = problems();
                Observed {
                    holds: !problems.is_empty(),
                    message: if problems.is_empty() {
                        "healthy".into()
                    } else {
                        problems
                            .iter()
                            .map(|p| format!("{}: {}", p.code.as_str(), p.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    },
                    figures: json!({
                        "problems": problems.iter().map(|p| p.code.as_str()).collect::<Vec<_>>()
                    }),
                }
            }
            Condition::Paused => {
                let state = self.inner.store.mapping_state(mapping).await?;
                Observed {
                    holds: state.paused,
                    message: match (&state.pause_reason, &state.paused_by, state.paused_at) {
                        _ if !state.paused => "its schedule runs".into(),
                        (Some(reason), _, _) => format!("paused: {reason}"),
                        (None, Some(by), Some(at)) => {
                            format!("paused by {by} at {}", format_time(at))
                        }
                        _ => "paused".into(),
                    },
                    figures: json!({
                        "paused": state.paused, "paused_by": state.paused_by,
                        "paused_at": state.paused_at
                    }),
                }
            }
        })
    }

    /// The firing of `rule` for `mapping`, with its receivers and the console view that
    /// shows what it is about.
    fn firing(
        &self,
        rule: &AlertRule,
        mapping: &str,
        state: FiringState,
        observed: Observed,
    ) -> NewFiring {
        let path = match rule.condition {
            Condition::OpenErrors { .. } | Condition::NewErrors { .. } => {
                format!("/errors?mapping={}", encode(mapping))
            }
            _ => format!("/mappings/{}", encode(mapping)),
        };
        let base = self
            .inner
            .config
            .alerts
            .console_url
            .as_deref()
            .unwrap_or("");
        NewFiring {
            rule: rule.name.clone(),
            mapping: mapping.to_string(),
            when: rule.condition.code().to_string(),
            state,
            message: match state {
                FiringState::Firing => format!("{mapping}: {}", observed.message),
                FiringState::Cleared => {
                    format!("{mapping}: cleared, now {}", observed.message)
                }
            },
            figures: observed.figures.to_string(),
            link: format!("{base}{path}"),
            receivers: receivers(rule),
        }
    }
}

/// `(channel, destination)` of each receiver of `rule`'s firings, as the store keeps them.
fn receivers(rule: &AlertRule) -> Vec<(String, String)> {
    let hook = rule
        .webhook
        .iter()
        .map(|hook| ("webhook".to_string(), hook.shown()));
    let mail = rule
        .email
        .iter()
        .map(|address| ("email".to_string(), address.clone()));
    hook.chain(mail).collect()
}
