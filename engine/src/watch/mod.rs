//! Watching a mapping left alone: a burst of new errors pauses its schedule by itself
//! (`pause_after`), so that a failing integration stops before it fills the errors list,
//! and nothing is lost: changes are found when someone resumes it. The pause fires the
//! rules that watch for it at once.

use crate::config::shown_duration;
use crate::error::EngineError;
use crate::handle::Engine;
use crate::store::{now_millis, overview};

impl Engine {
    /// After a job of `mapping`: pauses its schedule when as many errors as its
    /// `pause_after` allows were first found within its window, counted from its last
    /// resume at the earliest (errors found before someone resumed it do not pause it
    /// again). Answers the reason when this paused it.
    pub(crate) async fn pause_after_burst(
        &self,
        mapping: &str,
    ) -> Result<Option<String>, EngineError> {
        let Some(rule) = self.configured(mapping)?.pause_after else {
            return Ok(None);
        };
        let state = self.inner.store.mapping_state(mapping).await?;
        if state.paused {
            return Ok(None);
        }
        let now = now_millis();
        let since = (now - rule.within.as_millis() as i64).max(state.resumed_at.unwrap_or(0));
        let end = now + 1;
        let mut conn = self.inner.store.conn().await?;
        let found: i64 =
            overview::errors_first_found(&mut conn, Some(mapping), since, end - since, end)
                .await?
                .into_iter()
                .map(|(_, n)| n)
                .sum();
        drop(conn);
        if found < i64::from(rule.errors) {
            return Ok(None);
        }
        let reason = format!(
            "{found} errors were first found within {} (pause_after: {rule}): resume it once \
             their cause is fixed",
            shown_duration(rule.within)
        );
        if !self.inner.store.pause_for(mapping, &reason).await? {
            return Ok(None);
        }
        tracing::warn!(mapping, %reason, "mapping paused");
        // Its `paused` alert fires now rather than at the next check.
        if let Err(error) = self.check_alerts().await {
            tracing::warn!(%error, "cannot check the alert rules");
        }
        Ok(Some(reason))
    }
}
