//! The record finder: a key or a name typed once, and the records of every mapping it
//! names, on either side, coupled or not — each a link to its status.

use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{ErrorFilter, FoundRecord, Side};

/// The longest text the finder takes.
const MAX_TEXT: usize = 200;

impl Engine {
    /// Records that `text` names: those whose key it is, in every mapping's two tables
    /// (read from the systems, so records not coupled are found too), and the records of
    /// open errors whose description or keys contain it. At most `limit`, keys first.
    pub async fn find_records(
        &self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<FoundRecord>, EngineError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT || text.chars().any(char::is_control)
        {
            return Err(EngineError::Invalid(format!(
                "text: type a key or a name, 1 to {MAX_TEXT} characters"
            )));
        }
        let mut found: Vec<FoundRecord> = Vec::new();
        for mapping in self.inner.config.mapping_names() {
            let (compiled, local, integration) = self.prepared(&mapping).await?;
            for (side, connector) in [(Side::Local, &local), (Side::Integration, &integration)] {
                // A system that does not answer finds nothing; the others still do.
                let Ok(records) = connector
                    .read(compiled.spec(side), &[text.to_string()])
                    .await
                else {
                    continue;
                };
                found.extend(records.iter().map(|r| FoundRecord {
                    mapping: mapping.clone(),
                    side,
                    key: r.key.clone(),
                    description: compiled.describe(side, r),
                }));
            }
        }
        let filter = ErrorFilter {
            text: Some(text.to_string()),
            ..ErrorFilter::default()
        };
        for e in self.sync_errors(&filter, None, limit as i64).await? {
            for side in [Side::Local, Side::Integration] {
                if let Some(key) = e.key(side) {
                    found.push(FoundRecord {
                        mapping: e.mapping.clone(),
                        side,
                        key: key.to_string(),
                        description: e.description.clone().filter(|_| side == e.side),
                    });
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        found.retain(|f| seen.insert((f.mapping.clone(), f.side, f.key.clone())));
        found.truncate(limit);
        Ok(found)
    }
}
