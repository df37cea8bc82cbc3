-- Couplings, jobs, sync errors, the per-record log, watermarks and deferred records.

create table coupling (
    id bigserial primary key,
    mapping text not null,
    local_key text not null,
    integration_key text not null,
    -- Each record's modified-on value as of the last synchronization (after the engine's
    -- own write), which is how the engine tells its own writes from people's changes.
    local_modified bigint,
    integration_modified bigint,
    -- JSON {"local": {column: value}, "integration": {column: value}} at the last success.
    base text,
    last_to_integration text,
    last_from_integration text,
    skipped bigint not null default 0,
    -- The side being created while a create is in flight ('local' or 'integration').
    pending text,
    failure text,
    failures bigint not null default 0,
    version bigint not null default 1,
    synced_at bigint,
    created_at bigint not null
);
create unique index coupling_local on coupling (mapping, local_key);
create unique index coupling_integration on coupling (mapping, integration_key);
create index coupling_retry on coupling (mapping) where failures > 0 and skipped = 0;
create index coupling_pending on coupling (mapping) where pending is not null;

create table watermark (
    mapping text not null,
    side text not null,
    kind text not null,
    modified bigint not null,
    record_key text not null,
    primary key (mapping, side, kind)
);

create table job (
    id bigserial primary key,
    mapping text not null,
    kind text not null,
    state text not null,
    actor text not null,
    created_at bigint not null,
    started_at bigint,
    finished_at bigint,
    inserted bigint not null default 0,
    modified bigint not null default 0,
    deleted bigint not null default 0,
    unchanged bigint not null default 0,
    skipped bigint not null default 0,
    failed bigint not null default 0,
    coupled bigint not null default 0,
    uncoupled bigint not null default 0,
    deferred bigint not null default 0,
    done bigint not null default 0,
    planned bigint,
    message text
);
create index job_mapping on job (mapping, id);
create index job_created on job (created_at, id);

create table sync_error (
    id bigserial primary key,
    mapping text not null,
    coupling_id bigint,
    kind text not null,
    side text not null,
    local_key text,
    integration_key text,
    message text not null,
    fields text,
    job_id bigint,
    first_failed_at bigint not null,
    failed_at bigint not null,
    attempts bigint not null default 1,
    skipped bigint not null default 0,
    version bigint not null default 1,
    resolved_at bigint,
    resolved_by text
);
create index sync_error_open on sync_error (failed_at, id) where resolved_at is null;
create index sync_error_open_mapping on sync_error (mapping, kind, failed_at, id) where resolved_at is null;
create unique index sync_error_open_local on sync_error (mapping, local_key)
    where resolved_at is null and local_key is not null;
create unique index sync_error_open_integration on sync_error (mapping, integration_key)
    where resolved_at is null and integration_key is not null;

create table log_entry (
    id bigserial primary key,
    mapping text not null,
    job_id bigint,
    at bigint not null,
    local_key text,
    integration_key text,
    direction text,
    action text not null,
    result text not null,
    changes text,
    message text,
    actor text not null
);
create index log_entry_local on log_entry (mapping, local_key, id);
create index log_entry_integration on log_entry (mapping, integration_key, id);

create table deferral (
    mapping text not null,
    side text not null,
    record_key text not null,
    reason text not null,
    since bigint not null,
    primary key (mapping, side, record_key)
);

-- Records left uncoupled (Remove Coupling, or a deletion policy) as they were then:
-- read again unchanged, they are not created anew on the other side.
create table uncoupled_record (
    mapping text not null,
    side text not null,
    record_key text not null,
    modified bigint not null,
    primary key (mapping, side, record_key)
);
