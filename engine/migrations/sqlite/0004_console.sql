-- The console: a readable description of each error's record (searchable with the keys
-- and the message), and the error trend by time of first failure.
alter table sync_error add column description text;
create index sync_error_first_failed on sync_error (first_failed_at);
create index sync_error_changed on sync_error (changed_at);
-- The overview counts skipped couplings per mapping.
create index coupling_skipped on coupling (mapping) where skipped <> 0;
-- The errors page filtered by kind alone.
create index sync_error_open_kind on sync_error (kind, failed_at, id) where resolved_at is null;
