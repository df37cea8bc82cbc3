//! Change tracking: the service's own feed of what changed (`Prefer: odata.track-changes`).
//! The first read is the whole entity set and ends in a delta link; reading a delta link
//! answers what changed since it was given — records changed or created, and deletions
//! (`@removed` in OData 4.01, `$deletedEntity` in 4.0 as Dataverse sends them) — and
//! ends in the next. A link the service no longer takes (its token expired) is
//! [`ConnectorError::Expired`].

use super::{ODataConnector, message, values};
use crate::connector::{ConnectorError, DeltaNext, DeltaPage, TableSpec};
use serde_json::Value as Json;

impl ODataConnector {
    /// One page of the change feed from `position`, or from the start.
    pub(super) async fn delta_page(
        &self,
        spec: &TableSpec,
        position: Option<&str>,
    ) -> Result<DeltaPage, ConnectorError> {
        let url = match position {
            Some(link) => link.to_string(),
            None => self.query(spec, None, &[]),
        };
        let request = self
            .request(reqwest::Method::GET, &url)
            .header("Prefer", "odata.track-changes, odata.maxpagesize=500");
        let answer = self.send(request).await?;
        let status = answer.status();
        if position.is_some() && (status.as_u16() == 410 || status.as_u16() == 400) {
            let bytes = answer.bytes().await.unwrap_or_default();
            return Err(ConnectorError::Expired {
                system: self.system.clone(),
                message: format!("{status}: {}", message(&bytes)),
            });
        }
        let mut page: Json = serde_json::from_slice(&self.body(answer).await?)
            .map_err(|e| self.failure(format!("the service answered no JSON: {e}")))?;
        let mut records = Vec::new();
        let mut deleted = Vec::new();
        if let Json::Array(entries) = page["value"].take() {
            for entry in entries {
                match removed_key(&entry, &spec.key) {
                    Some(key) => deleted.push(key),
                    None => records.push(self.record(spec, &entry)?),
                }
            }
        }
        let next = match (
            page["@odata.nextLink"].as_str(),
            page["@odata.deltaLink"].as_str(),
        ) {
            (Some(next), _) => DeltaNext::Page(next.to_string()),
            (None, Some(delta)) => DeltaNext::Round(delta.to_string()),
            (None, None) => {
                return Err(self.failure(format!(
                    "entity set {:?} gave no delta link: is change tracking on for it?",
                    spec.table
                )));
            }
        };
        Ok(DeltaPage {
            records,
            deleted,
            next,
        })
    }
}

/// The key of a deleted entry of a delta feed, or `None` for a record: OData 4.01's
/// `@removed` with the entity's `@id`, or 4.0's `$deletedEntity` with its `id`.
fn removed_key(entry: &Json, key: &str) -> Option<String> {
    let removed = entry.get("@removed").is_some()
        || entry.get("@odata.removed").is_some()
        || entry["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with("$deletedEntity"));
    if !removed {
        return None;
    }
    if let Some(key) = values::key_text(&entry[key]) {
        return Some(key);
    }
    let id = entry["@id"]
        .as_str()
        .or_else(|| entry["@odata.id"].as_str())
        .or_else(|| entry["id"].as_str())?;
    // `…/accounts(0195…)` or `…/accounts('K1')`, or the bare key itself.
    let inside = match (id.rfind('('), id.ends_with(')')) {
        (Some(open), true) => &id[open + 1..id.len() - 1],
        _ => id,
    };
    Some(inside.trim_matches('\'').replace("''", "'"))
}

#[cfg(test)]
mod tests {
    use super::removed_key;
    use serde_json::json;

    #[test]
    fn deletions_are_read_in_both_forms_and_records_are_not_taken_for_them() {
        let v401 = json!({"@removed": {"reason": "deleted"}, "@id": "http://s/accounts(0195f1d2-7a4b-7c3d-8e9f-0a1b2c3d4e5f)"});
        assert_eq!(
            removed_key(&v401, "accountid").as_deref(),
            Some("0195f1d2-7a4b-7c3d-8e9f-0a1b2c3d4e5f")
        );
        let v40 = json!({"@odata.context": "https://org/api/data/v9.2/$metadata#accounts/$deletedEntity", "id": "49b0be2e-d01c-ed11-b83e-000d3a572421", "reason": "deleted"});
        assert_eq!(
            removed_key(&v40, "accountid").as_deref(),
            Some("49b0be2e-d01c-ed11-b83e-000d3a572421")
        );
        let quoted = json!({"@removed": {}, "@id": "customers('O''Neil')"});
        assert_eq!(removed_key(&quoted, "no").as_deref(), Some("O'Neil"));
        assert_eq!(
            removed_key(&json!({"accountid": "x", "name": "A"}), "accountid"),
            None
        );
    }
}
