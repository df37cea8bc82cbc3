//! Console accounts: roles, who is signed in, the users page, and the audit log.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a console account may do. Each role may do everything the roles before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads every page.
    Viewer,
    /// Also acts on errors, runs and cancels jobs, and couples and uncouples records.
    Operator,
    /// Also changes mappings and manages accounts.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The word used in the store, the CLI and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parses the word [`Role::as_str`] gives.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The account a request is signed in as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The account's name: what the audit log and the record logs call them.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

/// A console account as the users page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The account's name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was created (milliseconds since the epoch).
    pub created_at: i64,
    /// When it last signed in, if it has.
    pub last_signed_in: Option<i64>,
    /// How many sessions it has open now.
    pub sessions: i64,
}

/// One entry of the audit log: who did what, when, to which records, with what outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The entry's id; newer entries have larger ids.
    pub id: i64,
    /// When (milliseconds since the epoch).
    pub at: i64,
    /// Who: an account's name, or what acted for nobody (the scheduler, the CLI).
    pub actor: String,
    /// What: `retry`, `sign_in`, `add_user`, …
    pub action: String,
    /// To what: the records, mapping or account acted on.
    pub selection: String,
    /// How it ended.
    pub outcome: String,
}

/// Which audit entries a list means.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only this actor's.
    pub actor: Option<String>,
    /// Only this action's.
    pub action: Option<String>,
    /// Only entries whose selection or outcome contain this text (any case).
    pub text: Option<String>,
    /// Only entries older than this id (the next page).
    pub before: Option<i64>,
}
