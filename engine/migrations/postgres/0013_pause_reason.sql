-- Who paused a mapping's schedule, when and why (a burst of errors pauses it by itself),
-- and when it was last resumed: errors found before that do not pause it again.
alter table mapping_state add column paused_by text;
alter table mapping_state add column paused_at bigint;
alter table mapping_state add column pause_reason text;
alter table mapping_state add column resumed_at bigint;
