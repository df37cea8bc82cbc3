-- Text search over errors: the words the errors page searches (both keys, the record's
-- description and the message, lower-cased, with a separator no one types), kept per
-- error in a table of their own, with a trigram index, so that a search finds its few
-- errors among a hundred thousand without reading them all. The words are written when
-- they change, not when an error fails again (an update of `sync_error` writes every
-- index of the table, and four trigram indexes there made failing again 6× slower).
create table sync_error_search (
    error_id bigint primary key references sync_error (id) on delete cascade,
    words text not null
);

create function sync_error_search_keep() returns trigger language plpgsql as $$
begin
    insert into sync_error_search (error_id, words)
    values (new.id, lower(concat_ws(chr(31), new.local_key, new.integration_key,
                                    new.description, new.message)))
    on conflict (error_id) do update set words = excluded.words;
    return null;
end
$$;

create trigger sync_error_search_insert after insert on sync_error
for each row execute function sync_error_search_keep();

create trigger sync_error_search_update
after update of local_key, integration_key, description, message on sync_error
for each row
when (old.local_key is distinct from new.local_key
      or old.integration_key is distinct from new.integration_key
      or old.description is distinct from new.description
      or old.message is distinct from new.message)
execute function sync_error_search_keep();

insert into sync_error_search (error_id, words)
select id, lower(concat_ws(chr(31), local_key, integration_key, description, message))
from sync_error;

-- pg_trgm ships with PostgreSQL and may be created by a database's owner; where it
-- cannot be, searches read the words of every error instead.
do $$
begin
    create extension if not exists pg_trgm;
exception when others then
    raise notice 'pg_trgm is not available (%); error searches will scan', sqlerrm;
end
$$;

do $$
begin
    if exists (select 1 from pg_extension where extname = 'pg_trgm') then
        create index sync_error_search_words on sync_error_search
        using gin (lower(coalesce(words, '')) gin_trgm_ops);
    end if;
end
$$;
