//! [`EngineError`]: why an engine operation was refused or failed, as every caller of
//! the engine (the console's server functions, the CLI, the workers) sees it.

use crate::connector::ConnectorError;
use crate::store::StoreError;

/// Why an engine operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No mapping has that name.
    #[error("no mapping is named {0:?}")]
    UnknownMapping(String),
    /// A mapping's system or tables are not usable.
    #[error("mapping {mapping}: {source}")]
    System {
        /// The mapping.
        mapping: String,
        /// What the system said.
        source: ConnectorError,
    },
    /// The mapping is being synchronized already (by this process or another).
    #[error("mapping {0} is synchronizing already")]
    Busy(String),
    /// The request is not valid.
    #[error("{0}")]
    Invalid(String),
    /// No such thing (a job, an error, a coupling).
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A system failed, outside any mapping (its catalogue read by `inspect`).
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// Who is asking could not be told: a wrong name or password, an ended session.
    #[error("{0}")]
    Denied(String),
    /// Too many failed sign-ins: try again after this many seconds.
    #[error("too many failed sign-ins: try again in {0} s")]
    Throttled(u64),
    /// Someone cancelled the job; it stopped after its last committed batch.
    #[error("mapping {0}: cancelled after its last committed batch")]
    Cancelled(String),
    /// The job stopped: a fault test, or a lost lease.
    #[error("mapping {mapping}: {reason}")]
    Stopped {
        /// The mapping.
        mapping: String,
        /// Why.
        reason: String,
    },
}

impl From<sqlx::Error> for EngineError {
    fn from(error: sqlx::Error) -> Self {
        EngineError::Store(StoreError::Database(error))
    }
}
