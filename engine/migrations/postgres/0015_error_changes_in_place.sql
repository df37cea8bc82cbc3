-- Acting on many errors at once (Retry All's un-skip, an action taking errors at the
-- version seen) changes only columns no index holds, so PostgreSQL can update each row
-- in place (a HOT update) instead of writing a new entry into every one of sync_error's
-- indexes. For that the errors' change stamp no longer reads an index on `changed_at`,
-- and each page keeps room for every row on it to be updated once.
--
-- The stamp: every connection counts the statements that changed sync_error in a row
-- of its own (so no two transactions wait on the same row), and the stamp is their sum.
-- A connection's count becomes visible when its transaction commits, so the stamp moves
-- exactly when a change can be seen, whichever transaction commits first.
create table sync_error_change (
    backend integer primary key,
    changes bigint not null
);
create function sync_error_change_count() returns trigger language plpgsql as $$
begin
    insert into sync_error_change (backend, changes) values (pg_backend_pid(), 1)
    on conflict (backend) do update set changes = sync_error_change.changes + 1;
    return null;
end
$$;
create trigger sync_error_change_count after insert or update or delete on sync_error
    for each statement execute function sync_error_change_count();
drop index sync_error_changed;
alter table sync_error set (fillfactor = 50);
