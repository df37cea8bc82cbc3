-- Runtime state of each integration table mapping, keyed by the mapping's name in coupler.toml.
create table mapping_state (
    name text primary key,
    paused integer not null default 0,
    updated_at integer not null
);
