-- Every process's live events: a statement that changes what the console shows tells
-- every listening process (LISTEN coupler_change) when its transaction commits.
create function coupler_change_notice() returns trigger language plpgsql as $$
begin
    perform pg_notify('coupler_change', tg_table_name);
    return null;
end
$$;
create trigger log_entry_notice after insert or update or delete on log_entry
    for each statement execute function coupler_change_notice();
create trigger sync_error_notice after insert or update or delete on sync_error
    for each statement execute function coupler_change_notice();
create trigger job_notice after insert or update or delete on job
    for each statement execute function coupler_change_notice();
create trigger mapping_state_notice after insert or update or delete on mapping_state
    for each statement execute function coupler_change_notice();
create trigger audit_entry_notice after insert or update or delete on audit_entry
    for each statement execute function coupler_change_notice();
