//! [`Systems`]: the connectors of the systems a configuration names, and every mapping
//! compiled against its tables, checked once and shared by every run.

use crate::config::{Config, Mapping, System};
use crate::connector::ConnectorError;
use crate::connector::{Connector, ODataConnector, SqlConnector};
use crate::error::EngineError;
use crate::model::Side;
use crate::sync::plan::Compiled;
use std::collections::HashMap;
use std::sync::Arc;

/// The systems a configuration names, connected, with every mapping checked against its
/// tables. Building it only reads the systems.
#[derive(Debug, Default)]
pub struct Systems {
    connectors: HashMap<String, Arc<dyn Connector>>,
    compiled: HashMap<String, Arc<Compiled>>,
}

impl Systems {
    /// Connects every system `config` names and checks every mapping's tables and columns.
    pub async fn connect(config: &Config) -> Result<Systems, EngineError> {
        let mut systems = Systems::default();
        for mapping in &config.mappings {
            systems.compile(config, mapping).await?;
        }
        Ok(systems)
    }

    pub(crate) async fn compile(
        &mut self,
        config: &Config,
        mapping: &Mapping,
    ) -> Result<Arc<Compiled>, EngineError> {
        if let Some(compiled) = self.compiled.get(&mapping.name) {
            return Ok(compiled.clone());
        }
        let fail = |source| EngineError::System {
            mapping: mapping.name.clone(),
            source,
        };
        let tombstones = [Side::Local, Side::Integration].map(|side| {
            config.systems[&mapping.table(side).system]
                .tombstones
                .clone()
        });
        let mut compiled = Compiled::new(mapping.clone(), tombstones);
        for side in [Side::Local, Side::Integration] {
            let system = &mapping.table(side).system;
            let connector = match self.connectors.get(system) {
                Some(connector) => connector.clone(),
                None => {
                    let connector = open_connector(&config.systems[system])
                        .await
                        .map_err(fail)?;
                    self.connectors.insert(system.clone(), connector.clone());
                    connector
                }
            };
            let spec = compiled.spec_mut(side);
            spec.time_zone = config.systems[system].time_zone.clone();
            connector.check(spec).await.map_err(fail)?;
        }
        let compiled = Arc::new(compiled);
        self.compiled.insert(mapping.name.clone(), compiled.clone());
        Ok(compiled)
    }

    pub(crate) fn connector(&self, system: &str) -> Arc<dyn Connector> {
        self.connectors[system].clone()
    }

    /// What the connector of `system` has sent it so far; nothing before it is opened.
    pub fn traffic(&self, system: &str) -> crate::connector::Traffic {
        self.connectors
            .get(system)
            .map(|c| c.traffic())
            .unwrap_or_default()
    }
}

/// Connects to `system`.
pub(crate) async fn open_connector(system: &System) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(if system.kind.is_odata() {
        Arc::new(ODataConnector::open(system).await?)
    } else {
        Arc::new(SqlConnector::open(&system.name, &system.url).await?)
    })
}
