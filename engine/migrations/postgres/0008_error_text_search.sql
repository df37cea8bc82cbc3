-- Text search over open errors: trigram indexes on the expressions the errors page
-- searches (`lower(coalesce(column, ''))`), so that a search finds its few errors among
-- a hundred thousand without reading them all. pg_trgm ships with PostgreSQL and may be
-- created by a database's owner; where it cannot be, searches read the open errors as
-- before.
do $$
begin
    create extension if not exists pg_trgm;
exception when others then
    raise notice 'pg_trgm is not available (%); error searches will scan', sqlerrm;
end
$$;

do $$
declare
    col text;
begin
    if exists (select 1 from pg_extension where extname = 'pg_trgm') then
        foreach col in array array['local_key', 'integration_key', 'description', 'message'] loop
            execute format(
                'create index sync_error_text_%s on sync_error using gin '
                '(lower(coalesce(%I, %L)) gin_trgm_ops) where resolved_at is null',
                col, col, '');
        end loop;
    end if;
end
$$;
