-- When a mapping's scheduled scan for deleted records (its deletion_scan setting) is due
-- next: systems without tombstones have their deletions found by it.
alter table mapping_state add column next_scan_at integer;
