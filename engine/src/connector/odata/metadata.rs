//! The service's `$metadata` (CSDL XML), read once when the system is opened: each
//! entity set's key and properties with their EDM types and facets, and what Coupler
//! reads each as.

use crate::connector::{ColumnShape, FieldType, TableShape};
use crate::value::ColumnKind;
use std::collections::HashMap;

/// One entity set: its key property and its properties.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct EntitySet {
    /// The key property, when the key is one property.
    pub(super) key: Option<String>,
    /// The structural properties, in the type's order.
    pub(super) properties: Vec<Property>,
}

/// One structural property of an entity type.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Property {
    /// Its name.
    pub(super) name: String,
    /// Its EDM type (`Edm.String`, `Edm.Guid`).
    pub(super) edm: String,
    /// Whether it may be null.
    pub(super) nullable: bool,
    /// `MaxLength`, where given as a number.
    pub(super) max_length: Option<u32>,
    /// `Precision`, where given.
    pub(super) precision: Option<u32>,
    /// `Scale`, where given as a number.
    pub(super) scale: Option<u32>,
}

impl Property {
    /// The kind and type Coupler reads it as; `None`: it cannot.
    pub(super) fn read_as(&self) -> Option<(ColumnKind, FieldType)> {
        Some(match self.edm.as_str() {
            "Edm.String" => (
                ColumnKind::Text,
                self.max_length
                    .map_or(FieldType::Any, |max_length| FieldType::Text { max_length }),
            ),
            "Edm.Guid" => (ColumnKind::Text, FieldType::Any),
            "Edm.Byte" | "Edm.SByte" | "Edm.Int16" | "Edm.Int32" | "Edm.Int64" => {
                (ColumnKind::Integer, FieldType::Any)
            }
            "Edm.Boolean" => (ColumnKind::Integer, FieldType::Boolean),
            "Edm.Decimal" => (
                ColumnKind::Text,
                FieldType::Decimal {
                    precision: self.precision,
                    scale: self.scale.unwrap_or(0),
                },
            ),
            "Edm.Double" | "Edm.Single" => (ColumnKind::Real, FieldType::Any),
            "Edm.Date" => (ColumnKind::Text, FieldType::Date),
            "Edm.DateTimeOffset" => (ColumnKind::Text, FieldType::TimestampTz),
            _ => return None,
        })
    }
}

impl EntitySet {
    /// The property `name`.
    pub(super) fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The set as `coupler inspect` shows a table.
    pub(super) fn shape(&self, name: &str) -> TableShape {
        TableShape {
            table: name.to_string(),
            columns: self
                .properties
                .iter()
                .map(|p| ColumnShape {
                    name: p.name.clone(),
                    declared: p.edm.clone(),
                    kind: p.read_as().map(|(kind, _)| kind),
                    nullable: p.nullable,
                    primary_key: self.key.as_deref() == Some(p.name.as_str()),
                    orders_changes: p.edm == "Edm.DateTimeOffset",
                })
                .collect(),
        }
    }
}

/// The entity sets a CSDL XML document declares, by name; or why it cannot be read.
pub(super) fn parse(xml: &str) -> Result<HashMap<String, EntitySet>, String> {
    let document = roxmltree::Document::parse(xml).map_err(|e| format!("$metadata: {e}"))?;
    // Entity types by qualified name (`Namespace.Name`), and by alias where one is given.
    let mut types: HashMap<String, EntitySet> = HashMap::new();
    let mut sets: Vec<(String, String)> = Vec::new();
    for schema in document.descendants().filter(|n| n.has_tag_name("Schema")) {
        let namespace = schema.attribute("Namespace").unwrap_or_default();
        let alias = schema.attribute("Alias");
        for entity_type in schema.children().filter(|n| n.has_tag_name("EntityType")) {
            let name = entity_type.attribute("Name").unwrap_or_default();
            let keys: Vec<String> = entity_type
                .descendants()
                .filter(|n| n.has_tag_name("PropertyRef"))
                .filter_map(|n| n.attribute("Name").map(str::to_string))
                .collect();
            let properties = entity_type
                .children()
                .filter(|n| n.has_tag_name("Property"))
                .map(|n| {
                    let number = |facet: &str| n.attribute(facet).and_then(|v| v.parse().ok());
                    Property {
                        name: n.attribute("Name").unwrap_or_default().to_string(),
                        edm: n.attribute("Type").unwrap_or_default().to_string(),
                        nullable: n.attribute("Nullable") != Some("false"),
                        max_length: number("MaxLength"),
                        precision: number("Precision"),
                        scale: number("Scale"),
                    }
                })
                .collect();
            let set = EntitySet {
                key: (keys.len() == 1).then(|| keys[0].clone()),
                properties,
            };
            if let Some(alias) = alias {
                types.insert(format!("{alias}.{name}"), set.clone());
            }
            types.insert(format!("{namespace}.{name}"), set);
        }
        for set in schema.descendants().filter(|n| n.has_tag_name("EntitySet")) {
            sets.push((
                set.attribute("Name").unwrap_or_default().to_string(),
                set.attribute("EntityType").unwrap_or_default().to_string(),
            ));
        }
    }
    Ok(sets
        .into_iter()
        .filter_map(|(name, entity_type)| Some((name, types.get(&entity_type)?.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entity_sets_with_their_keys_and_facets() {
        let xml = r#"<?xml version="1.0"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
<edmx:DataServices><Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Microsoft.Dynamics.CRM" Alias="mscrm">
<EntityType Name="account"><Key><PropertyRef Name="accountid"/></Key>
<Property Name="accountid" Type="Edm.Guid" Nullable="false"/>
<Property Name="name" Type="Edm.String" MaxLength="160"/>
<Property Name="creditlimit" Type="Edm.Decimal" Precision="19" Scale="4"/>
<Property Name="location" Type="Edm.GeographyPoint"/>
</EntityType>
<EntityContainer Name="System"><EntitySet Name="accounts" EntityType="mscrm.account"/></EntityContainer>
</Schema></edmx:DataServices></edmx:Edmx>"#;
        let sets = parse(xml).unwrap();
        let accounts = &sets["accounts"];
        assert_eq!(accounts.key.as_deref(), Some("accountid"));
        let name = accounts.property("name").unwrap();
        assert_eq!(
            name.read_as(),
            Some((ColumnKind::Text, FieldType::Text { max_length: 160 }))
        );
        assert_eq!(
            accounts.property("creditlimit").unwrap().read_as(),
            Some((
                ColumnKind::Text,
                FieldType::Decimal {
                    precision: Some(19),
                    scale: 4
                }
            ))
        );
        assert_eq!(accounts.property("location").unwrap().read_as(), None);
        assert!(!accounts.property("accountid").unwrap().nullable);
    }

    #[test]
    fn a_document_that_is_no_xml_is_refused() {
        assert!(parse("{\"$Version\": \"4.01\"}").is_err());
    }
}
