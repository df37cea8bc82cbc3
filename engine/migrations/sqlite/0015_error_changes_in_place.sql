-- The errors' change stamp counts changes instead of reading the newest `changed_at`
-- (two changes within one millisecond looked like one), so `changed_at` needs no index
-- of its own. One writer at a time commits on SQLite: one row counts every change.
create table sync_error_change (
    backend integer primary key,
    changes integer not null
);
insert into sync_error_change (backend, changes) values (0, 0);
create trigger sync_error_change_insert after insert on sync_error begin
    update sync_error_change set changes = changes + 1 where backend = 0;
end;
create trigger sync_error_change_update after update on sync_error begin
    update sync_error_change set changes = changes + 1 where backend = 0;
end;
create trigger sync_error_change_delete after delete on sync_error begin
    update sync_error_change set changes = changes + 1 where backend = 0;
end;
drop index sync_error_changed;
