//! The change stamp the live events follow: it moves whenever something a console page
//! shows changes.

use crate::error::EngineError;
use crate::handle::Engine;
use crate::store::{StoreError, overview};

impl Engine {
    /// A value that changes whenever something the console shows changes: a log entry
    /// written, an error found or acted on, a job queued, advanced or finished, a
    /// mapping's settings changed. Cheap enough to ask twice a second.
    pub async fn change_stamp(&self) -> Result<[i64; 6], EngineError> {
        let mut conn = self.inner.store.conn().await?;
        Ok(overview::change_stamp(&mut conn)
            .await
            .map_err(StoreError::from)?)
    }
}
