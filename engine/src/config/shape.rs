//! `coupler.toml` as written: the shapes its tables deserialize into, their defaults, and
//! `match_on`'s two forms. What they mean, and every check, is the parent module's.

use super::TableRef;
use crate::model::{DeletionConflictPolicy, Direction, OnMatch, UpdateConflictPolicy};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileShape {
    #[serde(default)]
    pub(super) store: Option<StoreShape>,
    #[serde(default)]
    pub(super) systems: BTreeMap<String, SystemShape>,
    #[serde(default, rename = "mapping")]
    pub(super) mappings: Vec<MappingShape>,
    #[serde(default)]
    pub(super) retention: Option<super::retention::RetentionShape>,
    #[serde(default)]
    pub(super) alerts: Option<super::alerts::AlertsShape>,
    #[serde(default, rename = "alert")]
    pub(super) alert_rules: Vec<super::alerts::AlertShape>,
}

/// `[store]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreShape {
    pub(super) url: Option<String>,
}

/// `[systems.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SystemShape {
    #[serde(default)]
    pub(super) kind: super::SystemKind,
    pub(super) url: String,
    pub(super) tombstones: Option<String>,
    pub(super) time_zone: Option<String>,
    pub(super) auth: Option<AuthShape>,
    pub(super) max_concurrency: Option<usize>,
    pub(super) batch_size: Option<usize>,
    pub(super) company: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) change_tracking: Option<bool>,
}

/// `auth = { … }` of an OData system.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthShape {
    bearer_env: Option<String>,
    token_url: Option<String>,
    client_id: Option<String>,
    client_secret_env: Option<String>,
    scope: Option<String>,
}

impl AuthShape {
    /// The one way of signing in it names, or what is missing.
    pub(super) fn checked(self) -> Result<super::Auth, String> {
        match self {
            AuthShape {
                bearer_env: Some(env),
                token_url: None,
                client_id: None,
                client_secret_env: None,
                scope: None,
            } => Ok(super::Auth::Bearer { env }),
            AuthShape {
                bearer_env: None,
                token_url: Some(token_url),
                client_id: Some(client_id),
                client_secret_env: Some(secret_env),
                scope,
            } => Ok(super::Auth::ClientCredentials {
                token_url,
                client_id,
                secret_env,
                scope,
            }),
            _ => Err("auth is either { bearer_env } or { token_url, client_id, \
                 client_secret_env, scope }; secrets are named by their environment variable"
                .to_string()),
        }
    }
}

/// `[[mapping]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MappingShape {
    pub(super) name: String,
    #[serde(default = "bidirectional")]
    pub(super) direction: Direction,
    #[serde(default = "update_none")]
    pub(super) update_conflict: UpdateConflictPolicy,
    #[serde(default = "deletion_none")]
    pub(super) deletion_conflict: DeletionConflictPolicy,
    #[serde(default)]
    pub(super) sync_only_coupled: bool,
    #[serde(default)]
    pub(super) interval: Option<String>,
    pub(super) deletion_scan: Option<String>,
    pub(super) pause_after: Option<PauseAfterShape>,
    #[serde(default)]
    pub(super) depends_on: Vec<String>,
    pub(super) local: TableRef,
    pub(super) integration: TableRef,
    pub(super) match_on: Option<toml::Value>,
    #[serde(default = "on_match_source")]
    pub(super) on_match: OnMatch,
    #[serde(default, rename = "field")]
    pub(super) fields: Vec<FieldShape>,
}

/// `pause_after = { errors = 10, within = "15m" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PauseAfterShape {
    pub(super) errors: u32,
    pub(super) within: String,
}

/// `[[mapping.field]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FieldShape {
    pub(super) local: Option<String>,
    pub(super) integration: Option<String>,
    pub(super) direction: Option<Direction>,
    pub(super) constant: Option<String>,
    #[serde(default)]
    pub(super) required: bool,
    pub(super) max_length: Option<u32>,
    #[serde(default)]
    pub(super) value_map: BTreeMap<String, String>,
    pub(super) lookup: Option<String>,
    #[serde(default)]
    pub(super) exact: bool,
}

fn bidirectional() -> Direction {
    Direction::Bidirectional
}
fn on_match_source() -> OnMatch {
    OnMatch::Source
}

fn update_none() -> UpdateConflictPolicy {
    UpdateConflictPolicy::None
}
fn deletion_none() -> DeletionConflictPolicy {
    DeletionConflictPolicy::None
}

/// `match_on` as written: one list of fields (one set), or a list of such lists (sets in
/// priority order).
pub(super) fn match_sets(value: Option<toml::Value>) -> Result<Vec<Vec<String>>, String> {
    const SHAPE: &str = "match_on is a list of local fields, or a list of such lists in \
                         priority order (match_on = [[\"email\"], [\"name\", \"city\"]])";
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let names = |list: &[toml::Value]| -> Option<Vec<String>> {
        list.iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let list = value.as_array().ok_or(SHAPE)?;
    let sets = if list.iter().all(toml::Value::is_str) {
        vec![names(list).ok_or(SHAPE)?]
    } else {
        list.iter()
            .map(|set| set.as_array().and_then(|set| names(set)).ok_or(SHAPE))
            .collect::<Result<Vec<_>, _>>()?
    };
    if sets.iter().any(Vec::is_empty) && !list.is_empty() {
        return Err("match_on has a set without fields".to_string());
    }
    Ok(sets.into_iter().filter(|set| !set.is_empty()).collect())
}
