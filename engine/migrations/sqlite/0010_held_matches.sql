-- A record held by an ambiguous match is read again every run and never skipped, so that
-- an edit which makes its match unique couples it. Earlier versions skipped it after two
-- runs: those errors are read again.
update sync_error
set skipped = 0, attempts = 1, version = version + 1
where resolved_at is null
  and coupling_id is null
  and kind = 'failed'
  and skipped = 1
  and message like '%; couple one by hand';
