//! Delivering firings: a JSON POST to a webhook, signed with HMAC-SHA256 over the body in
//! `X-Coupler-Signature: sha256=HEX`, and e-mail over SMTP. A delivery is answered (2xx, or
//! the SMTP server's acceptance) or tried again with back-off, and after its last attempt
//! recorded as failed. Secrets are read from the environment when sent, and no error
//! recorded names them or a webhook's path.

use crate::config::{AlertRule, Smtp, SmtpTls};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{AlertFiring, format_time};
use crate::store::alert::{Attempt, DueDelivery};
use crate::store::now_millis;
use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use std::time::Duration;

/// How many attempts a delivery gets before it is recorded as failed.
pub const MAX_ATTEMPTS: u32 = 6;

/// The header carrying the webhook body's signature.
pub const SIGNATURE_HEADER: &str = "x-coupler-signature";

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// How many deliveries one call attempts at most.
const BATCH: i64 = 20;

impl Engine {
    /// Attempts every delivery that is due (a new firing's, or a retry whose time came).
    /// Answers how many were attempted.
    pub async fn deliver_alerts(&self) -> Result<usize, EngineError> {
        let due = self.inner.store.claim_due_deliveries(BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .map_err(|e| EngineError::Invalid(format!("cannot make an HTTP client: {e}")))?;
        for delivery in &due {
            let outcome = self.attempt(&client, delivery).await;
            let attempts = delivery.attempts + 1;
            let attempt = match outcome {
                Ok(()) => Attempt::Sent,
                Err(error) if attempts >= MAX_ATTEMPTS => {
                    tracing::warn!(%error, channel = delivery.channel, to = delivery.destination,
                        "alert delivery failed for the last time");
                    Attempt::GaveUp(error)
                }
                Err(error) => {
                    tracing::warn!(%error, channel = delivery.channel, to = delivery.destination,
                        attempts, "alert delivery failed; it is tried again");
                    Attempt::RetryAt(error, now_millis() + retry_after(attempts))
                }
            };
            self.inner
                .store
                .record_attempt(delivery.id, &attempt)
                .await?;
        }
        Ok(due.len())
    }

    /// One attempt at `delivery`: `Err` says why it failed.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        delivery: &DueDelivery,
    ) -> Result<(), String> {
        let alerts = &self.inner.config.alerts;
        let rule = alerts
            .rules
            .iter()
            .find(|rule| rule.name == delivery.firing.rule)
            .ok_or("its rule is no longer configured")?;
        match delivery.channel.as_str() {
            "webhook" => post(client, rule, delivery).await,
            "email" => {
                let smtp = alerts
                    .smtp
                    .as_ref()
                    .ok_or("[alerts.smtp] is not configured")?;
                if !rule.email.contains(&delivery.destination) {
                    return Err("the rule no longer sends e-mail to this address".into());
                }
                send_mail(smtp, &delivery.destination, &delivery.firing).await
            }
            other => Err(format!("{other:?} is not a delivery channel")),
        }
    }
}

/// How long to wait after `attempts` failed attempts: 2 s, doubled each time, at most 5
/// minutes.
fn retry_after(attempts: u32) -> i64 {
    (2_000_i64 << attempts.saturating_sub(1).min(10)).min(300_000)
}

/// The JSON a webhook receives for `firing`.
pub fn webhook_body(firing: &AlertFiring) -> Vec<u8> {
    let figures: serde_json::Value =
        serde_json::from_str(&firing.figures).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "rule": firing.rule,
        "mapping": firing.mapping,
        "when": firing.when,
        "state": firing.state.as_str(),
        "message": firing.message,
        "figures": figures,
        "link": firing.link,
        "at": format_time(firing.at),
        "at_ms": firing.at,
        "firing_id": firing.id,
    })
    .to_string()
    .into_bytes()
}

/// `sha256=HEX`: the HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The value of environment variable `name`, or why there is none.
fn secret(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("the environment variable {name} is not set"))
}

/// Posts the delivery's firing to the rule's webhook.
async fn post(
    client: &reqwest::Client,
    rule: &AlertRule,
    delivery: &DueDelivery,
) -> Result<(), String> {
    let hook = rule
        .webhook
        .as_ref()
        .ok_or("the rule no longer has a webhook")?;
    let body = webhook_body(&delivery.firing);
    let mut request = client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("x-coupler-delivery", delivery.id.to_string());
    if let Some(name) = &hook.secret_env {
        request = request.header(SIGNATURE_HEADER, signature(secret(name)?.as_bytes(), &body));
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| with_causes(&e.without_url()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let text: String = text.chars().take(200).collect();
    Err(format!("the webhook answered {status}: {}", text.trim()))
}

/// Sends the firing to `to` through `smtp`.
async fn send_mail(smtp: &Smtp, to: &str, firing: &AlertFiring) -> Result<(), String> {
    let state = firing.state.as_str();
    let message = Message::builder()
        .from(
            smtp.from
                .parse()
                .map_err(|e| format!("alerts.smtp.from: {e}"))?,
        )
        .to(to.parse().map_err(|e| format!("{to:?}: {e}"))?)
        .subject(format!(
            "[Coupler] {state}: {} ({})",
            firing.mapping, firing.rule
        ))
        .header(ContentType::TEXT_PLAIN)
        .body(format!(
            "{}\n\nRule: {} ({})\nState: {state}\nAt: {}\nFigures: {}\n\n{}\n",
            firing.message,
            firing.rule,
            firing.when,
            format_time(firing.at),
            firing.figures,
            firing.link
        ))
        .map_err(|e| format!("cannot write the e-mail: {e}"))?;
    let builder = match smtp.tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &smtp.host,
        )),
    }
    .map_err(|e| with_causes(&e))?;
    let mut builder = builder.port(smtp.port).timeout(Some(ATTEMPT_TIMEOUT));
    if let (Some(user), Some(password)) = (&smtp.username_env, &smtp.password_env) {
        builder = builder.credentials(Credentials::new(secret(user)?, secret(password)?));
    }
    builder
        .build()
        .send(message)
        .await
        .map(drop)
        .map_err(|e| with_causes(&e))
}

/// `error` and each of its causes, joined.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        let next = source.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = source.source();
    }
    text
}
