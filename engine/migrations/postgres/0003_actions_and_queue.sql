-- Remediation actions (idempotent by action id, audited) and the job queue (leases with
-- fencing tokens, schedules with back-off, settings changed at run time).

-- Who last changed an error and when: what a stale action is told.
alter table sync_error add column changed_by text;
alter table sync_error add column changed_at bigint;

-- One row per action id: the same id again answers the stored answer and does nothing.
create table action_run (
    action_id text primary key,
    actor text not null,
    action text not null,
    started_at bigint not null,
    answer text
);

create table audit_entry (
    id bigserial primary key,
    at bigint not null,
    actor text not null,
    action text not null,
    selection text not null,
    outcome text not null,
    action_id text
);
create index audit_entry_at on audit_entry (at, id);

-- Settings changed in the console, overriding coupler.toml; and the schedule.
alter table mapping_state add column update_conflict text;
alter table mapping_state add column deletion_conflict text;
alter table mapping_state add column interval_ms bigint;
alter table mapping_state add column next_run_at bigint;
alter table mapping_state add column idle_runs bigint not null default 0;

-- The queue: a queued job is claimed by a worker with a lease; every claim raises the
-- fencing token, and a batch commits only while its token is still the job's.
alter table job add column targets text;
alter table job add column lease_owner text;
alter table job add column lease_expires_at bigint;
alter table job add column fence bigint not null default 0;
alter table job add column cancel_requested bigint not null default 0;
alter table job add column planned_records bigint;
create index job_queue on job (state, id);
-- At most one job per mapping runs at a time, across every process sharing the store,
-- and scheduled or requested synchronizations of a mapping coalesce while queued.
create unique index job_running_mapping on job (mapping) where state = 'running';
create unique index job_queued_synchronization on job (mapping) where state = 'queued' and kind = 'synchronization';
