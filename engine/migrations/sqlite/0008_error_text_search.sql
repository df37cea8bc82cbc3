-- Text search over errors: a trigram index of the columns the errors page searches, so
-- that a search finds its few errors among a hundred thousand without reading them all.
-- It covers every error (open or resolved); the search keeps the open ones.
create virtual table sync_error_text using fts5 (
    local_key, integration_key, description, message,
    content = 'sync_error', content_rowid = 'id', tokenize = 'trigram'
);
insert into sync_error_text (sync_error_text) values ('rebuild');

create trigger sync_error_text_insert after insert on sync_error begin
    insert into sync_error_text (rowid, local_key, integration_key, description, message)
    values (new.id, new.local_key, new.integration_key, new.description, new.message);
end;

create trigger sync_error_text_delete after delete on sync_error begin
    insert into sync_error_text (sync_error_text, rowid, local_key, integration_key, description, message)
    values ('delete', old.id, old.local_key, old.integration_key, old.description, old.message);
end;

-- An error failing again rewrites its text columns, mostly with the same values: only a
-- change reaches the index.
create trigger sync_error_text_update
after update of local_key, integration_key, description, message on sync_error
when old.local_key is not new.local_key or old.integration_key is not new.integration_key
    or old.description is not new.description or old.message is not new.message
begin
    insert into sync_error_text (sync_error_text, rowid, local_key, integration_key, description, message)
    values ('delete', old.id, old.local_key, old.integration_key, old.description, old.message);
    insert into sync_error_text (rowid, local_key, integration_key, description, message)
    values (new.id, new.local_key, new.integration_key, new.description, new.message);
end;
