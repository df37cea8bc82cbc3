-- Alerts: whether each rule holds for each mapping now (a rule fires only when that
-- changes), every firing, and each firing's deliveries with their attempts.
create table alert_state (
    rule text not null,
    mapping text not null,
    holding bigint not null,
    changed_at bigint not null,
    primary key (rule, mapping)
);
create table alert_firing (
    id bigserial primary key,
    rule text not null,
    mapping text not null,
    condition text not null,
    state text not null,
    message text not null,
    figures text not null,
    link text not null,
    at bigint not null
);
create index alert_firing_at on alert_firing (at, id);
create table alert_delivery (
    id bigserial primary key,
    firing_id bigint not null references alert_firing (id) on delete cascade,
    channel text not null,
    destination text not null,
    status text not null,
    attempts bigint not null default 0,
    next_at bigint not null,
    last_at bigint,
    sent_at bigint,
    last_error text
);
create index alert_delivery_due on alert_delivery (status, next_at);
create index alert_delivery_firing on alert_delivery (firing_id);
