-- Couplings, jobs, sync errors, the per-record log, watermarks and deferred records.

create table coupling (
    id integer primary key,
    mapping text not null,
    local_key text not null,
    integration_key text not null,
    -- Each record's modified-on value as of the last synchronization (after the engine's
    -- own write), which is how the engine tells its own writes from people's changes.
    local_modified integer,
    integration_modified integer,
    -- JSON {"local": {column: value}, "integration": {column: value}} at the last success.
    base text,
    last_to_integration text,
    last_from_integration text,
    skipped integer not null default 0,
    -- The side being created while a create is in flight ('local' or 'integration').
    pending text,
    failure text,
    failures integer not null default 0,
    version integer not null default 1,
    synced_at integer,
    created_at integer not null
);
create unique index coupling_local on coupling (mapping, local_key);
create unique index coupling_integration on coupling (mapping, integration_key);
create index coupling_retry on coupling (mapping) where failures > 0 and skipped = 0;
create index coupling_pending on coupling (mapping) where pending is not null;

create table watermark (
    mapping text not null,
    side text not null,
    kind text not null,
    modified integer not null,
    record_key text not null,
    primary key (mapping, side, kind)
);

create table job (
    id integer primary key,
    mapping text not null,
    kind text not null,
    state text not null,
    actor text not null,
    created_at integer not null,
    started_at integer,
    finished_at integer,
    inserted integer not null default 0,
    modified integer not null default 0,
    deleted integer not null default 0,
    unchanged integer not null default 0,
    skipped integer not null default 0,
    failed integer not null default 0,
    coupled integer not null default 0,
    uncoupled integer not null default 0,
    deferred integer not null default 0,
    done integer not null default 0,
    planned integer,
    message text
);
create index job_mapping on job (mapping, id);
create index job_created on job (created_at, id);

create table sync_error (
    id integer primary key,
    mapping text not null,
    coupling_id integer,
    kind text not null,
    side text not null,
    local_key text,
    integration_key text,
    message text not null,
    fields text,
    job_id integer,
    first_failed_at integer not null,
    failed_at integer not null,
    attempts integer not null default 1,
    skipped integer not null default 0,
    version integer not null default 1,
    resolved_at integer,
    resolved_by text
);
create index sync_error_open on sync_error (failed_at, id) where resolved_at is null;
create index sync_error_open_mapping on sync_error (mapping, kind, failed_at, id) where resolved_at is null;
create unique index sync_error_open_local on sync_error (mapping, local_key)
    where resolved_at is null and local_key is not null;
create unique index sync_error_open_integration on sync_error (mapping, integration_key)
    where resolved_at is null and integration_key is not null;

create table log_entry (
    id integer primary key,
    mapping text not null,
    job_id integer,
    at integer not null,
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
    since integer not null,
    primary key (mapping, side, record_key)
);

-- Records left uncoupled (Remove Coupling, or a deletion policy) as they were then:
-- read again unchanged, they are not created anew on the other side.
create table uncoupled_record (
    mapping text not null,
    side text not null,
    record_key text not null,
    modified integer not null,
    primary key (mapping, side, record_key)
);
