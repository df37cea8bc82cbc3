-- A coupling's failures in a narrow table of their own, a row only while the coupling
-- is failing or skipped: letting a record back into scheduled synchronization (Retry)
-- deletes that row instead of rewriting the wide coupling row with its base snapshot
-- and an entry in each of its indexes.
create table coupling_failure (
    coupling_id integer primary key,
    mapping text not null,
    failure text,
    failures integer not null default 0,
    skipped integer not null default 0
);
insert into coupling_failure (coupling_id, mapping, failure, failures, skipped)
select id, mapping, failure, failures, skipped from coupling
where skipped <> 0 or failures <> 0 or failure is not null;
create index coupling_failure_skipped on coupling_failure (mapping) where skipped <> 0;
create index coupling_failure_retry on coupling_failure (mapping) where failures > 0 and skipped = 0;
drop index coupling_skipped;
drop index coupling_retry;
alter table coupling drop column skipped;
alter table coupling drop column failure;
alter table coupling drop column failures;
