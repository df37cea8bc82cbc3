//! The job queue: workers claim jobs with leases, in dependency order; a job whose worker
//! died is taken over; a stalled worker's late commit is refused; schedules back off;
//! queued jobs can be cancelled; several engines share one store. On SQLite and PostgreSQL.

use crate::on_both_stores;
use crate::support::world::World;
use crate::support::{StoreKind, drain};
use engine::model::{JobKind, JobState, Side};
use engine::store::job;
use engine::sync::FaultPoint;
use engine::{Engine, Systems, Targets};
use std::time::Duration;

on_both_stores!(
    workers_run_a_mapping_only_after_the_mappings_it_depends_on,
    the_schedule_queues_due_mappings_and_backs_off_while_idle,
    a_job_whose_worker_died_is_taken_over_and_finished,
    a_stalled_workers_late_commit_is_refused,
    a_queued_job_can_be_cancelled,
    two_engines_on_one_store_run_each_job_once,
    retries_queued_for_a_busy_mapping_join_one_job_per_actor,
);

const CUSTOMERS: u64 = 20;

/// A world with every mapping paused, so the schedule stays out of the way.
async fn quiet(kind: StoreKind) -> World {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    for name in ["CUSTOMER", "CONTACT", "ITEM-PRODUCT"] {
        w.engine
            .set_mapping_paused("alice", name, true)
            .await
            .unwrap();
    }
    w
}

async fn workers_run_a_mapping_only_after_the_mappings_it_depends_on(kind: StoreKind) {
    let w = quiet(kind).await;
    w.engine
        .enqueue("CONTACT", JobKind::Synchronization, "alice", None)
        .await
        .unwrap();
    w.engine
        .enqueue("CUSTOMER", JobKind::Synchronization, "alice", None)
        .await
        .unwrap();
    let ran = drain(&w.engine).await;
    let order: Vec<&str> = ran.iter().map(|j| j.mapping.as_str()).collect();
    assert_eq!(
        order,
        ["CUSTOMER", "CONTACT"],
        "CONTACT waits for CUSTOMER though queued first"
    );
    assert_eq!(
        ran[1].counters.deferred, 0,
        "no contact waited for its account"
    );
    assert_eq!(
        ran[1].counters.inserted,
        World::count(&w.erp, "select count(*) from contact").await as u64
    );
    assert!(
        ran.iter()
            .all(|j| j.state == JobState::Succeeded && j.actor == "alice")
    );
}

async fn the_schedule_queues_due_mappings_and_backs_off_while_idle(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| {
        c.replace("interval = \"5m\"", "interval = \"30s\"")
    })
    .await;
    let first = drain(&w.engine).await;
    let order: Vec<&str> = first.iter().map(|j| j.mapping.as_str()).collect();
    assert_eq!(
        order,
        ["CUSTOMER", "ITEM-PRODUCT", "CONTACT"],
        "every mapping, dependencies first"
    );
    assert!(first.iter().all(|j| j.actor == "schedule"));
    let customer = w.engine.mapping("CUSTOMER").await.unwrap();
    let finished = first[0].finished_at.unwrap();
    assert_eq!(
        customer.next_run_at,
        Some(finished + 30_000),
        "found work: the interval"
    );
    assert!(drain(&w.engine).await.is_empty(), "nothing due yet");

    // Make it due: a run that finds nothing backs off to twice the interval.
    w.engine
        .store()
        .set_schedule("CUSTOMER", 0, 0)
        .await
        .unwrap();
    let idle = drain(&w.engine).await;
    assert_eq!(idle.len(), 1);
    assert_eq!(idle[0].counters, Default::default());
    let customer = w.engine.mapping("CUSTOMER").await.unwrap();
    assert_eq!(
        customer.next_run_at,
        Some(idle[0].finished_at.unwrap() + 60_000)
    );

    // Paused: not queued however due.
    w.engine
        .set_mapping_paused("alice", "CUSTOMER", true)
        .await
        .unwrap();
    w.engine
        .store()
        .set_schedule("CUSTOMER", 0, 0)
        .await
        .unwrap();
    assert!(drain(&w.engine).await.is_empty());
}

async fn a_job_whose_worker_died_is_taken_over_and_finished(kind: StoreKind) {
    let w = quiet(kind).await;
    let id = w
        .engine
        .enqueue("CUSTOMER", JobKind::Synchronization, "alice", None)
        .await
        .unwrap();
    // A worker claims it with a short lease, writes to the CRM, and dies before committing.
    w.engine.set_lease(Duration::from_millis(300));
    let mut conn = w.engine.store().conn().await.unwrap();
    let claimed = job::claim(&mut conn, id, "dying-worker", 300)
        .await
        .unwrap()
        .expect("claimed");
    drop(conn);
    w.engine.inject_fault(FaultPoint::AfterWriteOther);
    let died = w.engine.execute(claimed).await.unwrap();
    assert_eq!(died.state, JobState::Failed);
    // What a killed process leaves: the job running, its lease running out.
    sqlx::query(
        "update job set state = 'running', finished_at = null, lease_expires_at = $2 where id = $1",
    )
    .bind(id)
    .bind(engine::store::now_millis() + 300)
    .execute(&mut *w.engine.store().conn().await.unwrap())
    .await
    .unwrap();
    w.erp("update customer set phone = '+1 555 0042' where no = 'C000004'")
        .await;
    assert!(
        drain(&w.engine).await.is_empty(),
        "not before the lease runs out"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = drain(&w.engine).await;
    assert_eq!(taken.len(), 1);
    assert_eq!(
        (taken[0].id, taken[0].state),
        (id, JobState::Succeeded),
        "{:?}",
        taken[0].message
    );
    let customers = World::count(&w.erp, "select count(*) from customer").await;
    assert_eq!(
        w.couplings("CUSTOMER").await,
        customers,
        "every customer coupled once"
    );
    assert_eq!(
        World::count(&w.crm, "select count(*) from account").await,
        customers,
        "no duplicate"
    );
    assert_eq!(
        w.account_value("C000004", "telephone1").await.as_deref(),
        Some("+1 555 0042")
    );
}

async fn a_stalled_workers_late_commit_is_refused(kind: StoreKind) {
    let w = quiet(kind).await;
    let id = w
        .engine
        .enqueue("CUSTOMER", JobKind::Synchronization, "alice", None)
        .await
        .unwrap();
    let mut conn = w.engine.store().conn().await.unwrap();
    let stalled = job::claim(&mut conn, id, "stalled-worker", 100)
        .await
        .unwrap()
        .expect("claimed");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let fresh = job::claim(&mut conn, id, "fresh-worker", 60_000)
        .await
        .unwrap()
        .expect("taken over");
    assert!(fresh.fence > stalled.fence);
    drop(conn);
    // The stalled worker wakes up and runs: its first batch must not commit.
    let late = w.engine.execute(stalled).await.unwrap();
    assert_eq!(
        late.state,
        JobState::Running,
        "the job is the fresh worker's: {:?}",
        late.message
    );
    assert_eq!(
        w.couplings("CUSTOMER").await,
        0,
        "nothing of the stalled batch was committed"
    );
    let done = w.engine.execute(fresh).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.counters.coupled, 20);
    assert_eq!(
        World::count(&w.crm, "select count(*) from account").await,
        20,
        "no duplicate"
    );
}

async fn a_queued_job_can_be_cancelled(kind: StoreKind) {
    let w = quiet(kind).await;
    let id = w
        .engine
        .enqueue("CUSTOMER", JobKind::FullSynchronization, "alice", None)
        .await
        .unwrap();
    let cancelled = w.engine.cancel_job("alice", id).await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(drain(&w.engine).await.is_empty());
    assert_eq!(w.couplings("CUSTOMER").await, 0);
}

async fn two_engines_on_one_store_run_each_job_once(kind: StoreKind) {
    let w = quiet(kind).await;
    let config = w.engine.config().clone();
    let url = store_url(&w);
    let other = Engine::open_with(
        config.clone(),
        &url,
        Systems::connect(&config).await.unwrap(),
    )
    .await
    .unwrap();
    for name in ["CUSTOMER", "ITEM-PRODUCT", "CONTACT"] {
        w.engine
            .enqueue(name, JobKind::Synchronization, "alice", None)
            .await
            .unwrap();
    }
    let (a, b) = tokio::join!(drain(&w.engine), drain(&other));
    let mut ids: Vec<i64> = a.iter().chain(&b).map(|j| j.id).collect();
    ids.sort();
    assert_eq!(ids.len(), 3, "each job ran once: {a:?} {b:?}");
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let customers = World::count(&w.erp, "select count(*) from customer").await;
    assert_eq!(
        World::count(&w.crm, "select count(*) from account").await,
        customers
    );
}

async fn retries_queued_for_a_busy_mapping_join_one_job_per_actor(kind: StoreKind) {
    let w = quiet(kind).await;
    let keys: Vec<String> = ["C000001", "C000002", "C000003"].map(String::from).into();
    let retry = |actor: &'static str, keys: &[String]| {
        let targets = Targets {
            local: keys.to_vec(),
            integration: Vec::new(),
        };
        let engine = w.engine.clone();
        async move {
            engine
                .enqueue("CUSTOMER", JobKind::Targeted, actor, Some(&targets))
                .await
                .unwrap()
        }
    };
    let first = retry("alice", &keys[..2]).await;
    let again = retry("alice", &keys[1..]).await;
    let other = retry("bob", &keys[..1]).await;
    assert_eq!(again, first, "alice's second retry joined her queued job");
    assert_ne!(other, first, "bob's retry is his own job");

    let ran = drain(&w.engine).await;
    assert_eq!(
        ran.iter().map(|j| j.id).collect::<Vec<_>>(),
        [first, other],
        "two jobs ran"
    );
    assert_eq!(
        ran[0].done, 3,
        "alice's job took all three records: {:?}",
        ran[0]
    );
    for key in &keys {
        assert!(
            w.coupled("CUSTOMER", Side::Local, key).await.is_some(),
            "{key} is coupled"
        );
    }
}

fn store_url(w: &World) -> String {
    let text = std::fs::read_to_string(w.dir.join("coupler.toml")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("url = "))
        .expect("the store URL");
    line.trim_start_matches("url = ")
        .trim_matches('"')
        .to_string()
}
