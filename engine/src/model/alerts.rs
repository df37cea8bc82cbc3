//! What the Alerts page shows: each rule as configured and where it holds now
//! ([`AlertRuleSummary`]), and each firing with its deliveries ([`AlertFiring`],
//! [`AlertDelivery`]).

use serde::{Deserialize, Serialize};

/// Whether a firing says a rule started or stopped holding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FiringState {
    /// The rule started holding.
    Firing,
    /// The rule stopped holding.
    Cleared,
}

impl FiringState {
    /// The state as stored and sent (`firing`, `cleared`).
    pub fn as_str(self) -> &'static str {
        match self {
            FiringState::Firing => "firing",
            FiringState::Cleared => "cleared",
        }
    }

    /// The state stored as `text`.
    pub fn parse(text: &str) -> Option<FiringState> {
        match text {
            "firing" => Some(FiringState::Firing),
            "cleared" => Some(FiringState::Cleared),
            _ => None,
        }
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not sent yet: waiting for its first attempt or its next retry.
    Pending,
    /// Accepted by the receiver.
    Sent,
    /// Given up after its last attempt.
    Failed,
}

impl DeliveryStatus {
    /// The status as stored (`pending`, `sent`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status stored as `text`.
    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "sent" => Some(DeliveryStatus::Sent),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One `[[alert]]` rule, read-only, and the mappings it holds for now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRuleSummary {
    /// Its name.
    pub name: String,
    /// Its condition's code (`open_errors`).
    pub when: String,
    /// Its condition in words, with its figures ("more than 50 open errors").
    pub condition: String,
    /// The mapping it watches; `None`: every mapping.
    pub mapping: Option<String>,
    /// Where its firings go, secrets and paths left out ("webhook https://hooks.example",
    /// "e-mail ops@example.com").
    pub deliveries: Vec<String>,
    /// The mappings it holds for now.
    pub holding: Vec<String>,
}

/// One delivery of a firing to one receiver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDelivery {
    /// `webhook` or `email`.
    pub channel: String,
    /// The receiver: the webhook's scheme and host, or the e-mail address.
    pub destination: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// How many attempts were made.
    pub attempts: u32,
    /// What the last failed attempt was answered, if one failed (kept once it is sent).
    pub last_error: Option<String>,
    /// When the last attempt was made (milliseconds since 1970).
    pub last_at: Option<i64>,
    /// When it was sent.
    pub sent_at: Option<i64>,
}

/// A rule starting or stopping to hold for one mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFiring {
    /// Its id.
    pub id: i64,
    /// The rule's name.
    pub rule: String,
    /// The mapping it held (or stopped holding) for.
    pub mapping: String,
    /// The rule's condition code.
    pub when: String,
    /// Whether it started or stopped holding.
    pub state: FiringState,
    /// What held, in words, with the figures.
    pub message: String,
    /// The figures, as JSON text (`{"open_errors": 12, "above": 10}`).
    pub figures: String,
    /// The console view that shows it.
    pub link: String,
    /// When (milliseconds since 1970).
    pub at: i64,
    /// Its deliveries.
    pub deliveries: Vec<AlertDelivery>,
}

/// The Alerts page: the rules and the newest firings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsView {
    /// Every rule, in the file's order.
    pub rules: Vec<AlertRuleSummary>,
    /// The newest firings first.
    pub firings: Vec<AlertFiring>,
}
