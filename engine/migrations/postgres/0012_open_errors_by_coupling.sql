-- A coupling's open errors by its id: the records in sync are listed a page at a time as
-- couplings without one.
create index sync_error_open_coupling on sync_error (coupling_id) where resolved_at is null;
