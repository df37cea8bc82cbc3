//! A [`World`]: the demo's two systems and a store, all on SQLite or all on PostgreSQL,
//! with the engine over them — the arrangement every synchronization scenario starts from.

use super::{StoreKind, fresh_database, temp_dir};
use engine::config::Config;
use engine::model::{JobState, JobSummary, Side, SyncErrorSummary};
use engine::store::coupling;
use engine::store::sync_error::ErrorFilter;
use engine::{Engine, Systems};
use sqlx::{AnyPool, Row};
use std::path::PathBuf;

/// Two systems, a store and the engine.
pub struct World {
    /// The test's folder.
    pub dir: PathBuf,
    /// The engine.
    pub engine: Engine,
    /// The ERP's database.
    pub erp: AnyPool,
    /// The CRM's database.
    pub crm: AnyPool,
}

impl World {
    /// The demo with `customers` customers on `kind`; `edit` may change the
    /// configuration's text first (a policy, a field).
    pub async fn new(
        kind: StoreKind,
        customers: u64,
        edit: impl FnOnce(String) -> String,
    ) -> World {
        let dir = temp_dir(match kind {
            StoreKind::Sqlite => "world-sqlite",
            StoreKind::Postgres => "world-postgres",
        });
        let erp_url = fresh_database(kind, &dir, "erp").await;
        let crm_url = fresh_database(kind, &dir, "crm").await;
        let store_url = fresh_database(kind, &dir, "store").await;
        engine::demo::create_systems(&erp_url, &crm_url, customers)
            .await
            .expect("create the demo systems");
        let path = dir.join("coupler.toml");
        std::fs::write(
            &path,
            edit(engine::demo::config(&erp_url, &crm_url, &store_url)),
        )
        .unwrap();
        let config = Config::load(&path).expect("the configuration loads");
        let systems = Systems::connect(&config)
            .await
            .expect("the systems are reachable");
        let engine = Engine::open_with(config, &store_url, systems)
            .await
            .expect("open the store");
        sqlx::any::install_default_drivers();
        World {
            dir,
            engine,
            erp: AnyPool::connect(&erp_url).await.unwrap(),
            crm: AnyPool::connect(&crm_url).await.unwrap(),
        }
    }

    /// Two systems of the test's own tables (`erp_ddl`, `crm_ddl`) on `kind`, a store,
    /// and a configuration of them with `mappings` appended; `edit` may change the
    /// configuration's text first (a system's setting). Fails as `Systems::connect` does.
    pub async fn with_tables(
        kind: StoreKind,
        erp_ddl: &str,
        crm_ddl: &str,
        mappings: &str,
        edit: impl FnOnce(String) -> String,
    ) -> Result<World, engine::EngineError> {
        let dir = temp_dir(match kind {
            StoreKind::Sqlite => "tables-sqlite",
            StoreKind::Postgres => "tables-postgres",
        });
        let erp_url = fresh_database(kind, &dir, "erp").await;
        let crm_url = fresh_database(kind, &dir, "crm").await;
        let store_url = fresh_database(kind, &dir, "store").await;
        sqlx::any::install_default_drivers();
        let (erp, crm) = (
            AnyPool::connect(&erp_url).await.unwrap(),
            AnyPool::connect(&crm_url).await.unwrap(),
        );
        sqlx::raw_sql(erp_ddl)
            .execute(&erp)
            .await
            .expect("the ERP's tables");
        sqlx::raw_sql(crm_ddl)
            .execute(&crm)
            .await
            .expect("the CRM's tables");
        let path = dir.join("coupler.toml");
        let text = format!(
            "[store]\nurl = \"{store_url}\"\n\n[systems.erp]\nurl = \"{erp_url}\"\n\n\
             [systems.crm]\nurl = \"{crm_url}\"\n\n{mappings}"
        );
        std::fs::write(&path, edit(text)).unwrap();
        let config = Config::load(&path).expect("the configuration loads");
        let systems = Systems::connect(&config).await?;
        let engine = Engine::open_with(config, &store_url, systems)
            .await
            .expect("open the store");
        Ok(World {
            dir,
            engine,
            erp,
            crm,
        })
    }

    /// Synchronizes one mapping; it must succeed as a job.
    pub async fn sync(&self, mapping: &str) -> JobSummary {
        let job = self.run(mapping).await;
        assert_eq!(
            job.state,
            JobState::Succeeded,
            "{mapping}: {:?}",
            job.message
        );
        job
    }

    /// Synchronizes one mapping, whatever becomes of the job.
    pub async fn run(&self, mapping: &str) -> JobSummary {
        let mut jobs = self
            .engine
            .synchronize(Some(mapping), false, "test")
            .await
            .expect("synchronize");
        jobs.remove(0)
    }

    /// A full synchronization of one mapping.
    pub async fn sync_full(&self, mapping: &str) -> JobSummary {
        let mut jobs = self
            .engine
            .synchronize(Some(mapping), true, "test")
            .await
            .expect("synchronize");
        let job = jobs.remove(0);
        assert_eq!(
            job.state,
            JobState::Succeeded,
            "{mapping}: {:?}",
            job.message
        );
        job
    }

    /// Runs a statement in the ERP, as a person's change.
    pub async fn erp(&self, sql: &str) {
        sqlx::query(sql)
            .execute(&self.erp)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs a statement in the CRM, as a person's change.
    pub async fn crm(&self, sql: &str) {
        sqlx::query(sql)
            .execute(&self.crm)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The first column of the first row of `sql` in `pool`, as text (`None` for no row or NULL).
    pub async fn text(pool: &AnyPool, sql: &str) -> Option<String> {
        let row = sqlx::query(sql)
            .fetch_optional(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))?;
        let value: Option<String> = row.try_get(0).unwrap_or_else(|e| panic!("{sql}: {e}"));
        value
    }

    /// A count from `sql` in `pool`.
    pub async fn count(pool: &AnyPool, sql: &str) -> i64 {
        sqlx::query(sql)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .try_get(0)
            .unwrap()
    }

    /// The integration key coupled to local `key` of `mapping`.
    pub async fn coupled(&self, mapping: &str, side: Side, key: &str) -> Option<String> {
        let mut conn = self.engine.store().conn().await.unwrap();
        let found = coupling::by_keys(&mut conn, mapping, side, &[key.to_string()])
            .await
            .unwrap();
        found.first().map(|c| c.key(side.other()).to_string())
    }

    /// The account coupled to ERP customer `no`.
    pub async fn account_of(&self, no: &str) -> String {
        self.coupled("CUSTOMER", Side::Local, no)
            .await
            .unwrap_or_else(|| panic!("customer {no} is not coupled"))
    }

    /// Removes the coupling of CUSTOMER's local record `no` as `by` would in the console:
    /// both records stay, left uncoupled.
    pub async fn uncouple_customer(&self, by: &str, no: &str) {
        let targets = engine::Targets {
            local: vec![no.to_string()],
            integration: Vec::new(),
        };
        self.engine
            .remove_couplings(by, "CUSTOMER", engine::UncouplingScope::Keys(targets), true)
            .await
            .unwrap();
    }

    /// Makes CUSTOMER's next scheduled run due at `at` (ms since 1970), as if nothing
    /// had run the schedule since.
    pub async fn schedule_customer_due(&self, at: i64) {
        let mut conn = self.engine.store().conn().await.unwrap();
        sqlx::query(
            "insert into mapping_state (name, paused, updated_at, next_run_at) values ('CUSTOMER', 0, $1, $1) \
             on conflict (name) do update set next_run_at = excluded.next_run_at",
        )
        .bind(at)
        .execute(&mut *conn)
        .await
        .unwrap();
    }

    /// How many couplings `mapping` has.
    pub async fn couplings(&self, mapping: &str) -> i64 {
        let mut conn = self.engine.store().conn().await.unwrap();
        coupling::count(&mut conn, mapping).await.unwrap()
    }

    /// The open sync errors of `mapping`.
    pub async fn errors(&self, mapping: &str) -> Vec<SyncErrorSummary> {
        let filter = ErrorFilter {
            mapping: Some(mapping.to_string()),
            ..ErrorFilter::default()
        };
        self.engine.sync_errors(&filter, None, 1000).await.unwrap()
    }
}

impl World {
    /// The open errors of `mapping` of `kind`.
    pub async fn errors_of(
        &self,
        mapping: &str,
        kind: engine::model::SyncErrorKind,
    ) -> Vec<SyncErrorSummary> {
        self.errors(mapping)
            .await
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }

    /// References to `errors` as they are: what a person sees before acting.
    pub fn seen(errors: &[SyncErrorSummary]) -> Vec<engine::model::ErrorRef> {
        errors
            .iter()
            .map(|e| engine::model::ErrorRef {
                id: e.id,
                version: e.version,
            })
            .collect()
    }

    /// A value of the account coupled to customer `no`.
    pub async fn account_value(&self, no: &str, column: &str) -> Option<String> {
        let account = self.account_of(no).await;
        World::text(
            &self.crm,
            &format!("select {column} from account where accountid = '{account}'"),
        )
        .await
    }

    /// A value of customer `no`.
    pub async fn customer_value(&self, no: &str, column: &str) -> Option<String> {
        World::text(
            &self.erp,
            &format!("select {column} from customer where no = '{no}'"),
        )
        .await
    }
}
