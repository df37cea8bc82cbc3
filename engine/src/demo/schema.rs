//! The demo systems' tables: the ERP's customer, contact and item, the CRM's account,
//! contact and product, and the triggers that keep their modified-on columns and
//! deletion tombstones as the real applications do.

use crate::db::Backend;

/// Now in milliseconds, in each database's SQL.
pub(super) fn now_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "cast((julianday('now') - 2440587.5) * 86400000 as integer)",
        Backend::Postgres => "(extract(epoch from clock_timestamp()) * 1000)::bigint",
    }
}

/// Triggers that keep `modified` moving forward on every update (by at least one, so two
/// changes in one millisecond are still two changes) and write a tombstone on every
/// delete, the way the systems this demo stands for do.
fn change_tracking(backend: Backend, table: &str, key: &str, modified: &str) -> String {
    let now = now_ms(backend);
    match backend {
        Backend::Sqlite => format!(
            r"
create trigger {table}_touched after update on {table} for each row
when new.{modified} is old.{modified}
begin
    update {table} set {modified} = max({now}, old.{modified} + 1) where {key} = new.{key};
end;
create trigger {table}_deleted after delete on {table} for each row
begin
    insert into tombstone (table_name, record_key, deleted_at) values ('{table}', old.{key}, {now});
end;
create index {table}_{modified} on {table} ({modified}, {key});
"
        ),
        Backend::Postgres => format!(
            r"
create function {table}_touch() returns trigger language plpgsql as $$
begin
    if new.{modified} is not distinct from old.{modified} then
        new.{modified} := greatest({now}, old.{modified} + 1);
    end if;
    return new;
end $$;
create trigger {table}_touched before update on {table} for each row execute function {table}_touch();
create function {table}_tombstone() returns trigger language plpgsql as $$
begin
    insert into tombstone (table_name, record_key, deleted_at) values ('{table}', old.{key}, {now});
    return old;
end $$;
create trigger {table}_deleted after delete on {table} for each row execute function {table}_tombstone();
create index {table}_{modified} on {table} ({modified}, {key});
"
        ),
    }
}

fn tombstone_table(backend: Backend) -> String {
    let id = match backend {
        Backend::Sqlite => "integer primary key",
        Backend::Postgres => "bigserial primary key",
    };
    format!(
        r"
create table tombstone (
    id {id},
    table_name text not null,
    record_key text not null,
    deleted_at bigint not null
);
create index tombstone_deleted on tombstone (table_name, deleted_at, id);
"
    )
}

pub(super) fn erp_schema(backend: Backend) -> String {
    let now = now_ms(backend);
    let real = real_type(backend);
    format!(
        r"{}
create table customer (
    no text primary key,
    name text not null,
    address text,
    city text,
    phone text,
    email text,
    credit_limit {real} not null default 0,
    modified_at bigint not null default ({now})
);
-- Match-based coupling looks customers up by e-mail, without regard to case and spaces.
create index customer_email on customer (lower(trim(email)));
create table contact (
    no text primary key,
    company_no text,
    name text not null,
    email text,
    phone text,
    job_title text,
    modified_at bigint not null default ({now})
);
create table item (
    no text primary key,
    description text not null,
    unit_price {real} not null default 0,
    base_unit text not null default 'PCS',
    modified_at bigint not null default ({now})
);
{}{}{}",
        tombstone_table(backend),
        change_tracking(backend, "customer", "no", "modified_at"),
        change_tracking(backend, "contact", "no", "modified_at"),
        change_tracking(backend, "item", "no", "modified_at"),
    )
}

pub(super) fn crm_schema(backend: Backend) -> String {
    let now = now_ms(backend);
    let real = real_type(backend);
    format!(
        r"{}
create table account (
    accountid text primary key,
    name text not null check (length(name) <= 160),
    address1_line1 text,
    address1_city text,
    telephone1 text,
    emailaddress1 text,
    creditlimit {real},
    modifiedon bigint not null default ({now})
);
-- Match-based coupling looks accounts up by e-mail, without regard to case and spaces.
create index account_email on account (lower(trim(emailaddress1)));
create table contact (
    contactid text primary key,
    parentcustomerid text,
    fullname text not null,
    emailaddress1 text,
    telephone1 text,
    jobtitle text,
    modifiedon bigint not null default ({now})
);
create table product (
    productid text primary key,
    productnumber text unique,
    name text not null,
    price {real},
    defaultuom text,
    modifiedon bigint not null default ({now})
);
{}{}{}",
        tombstone_table(backend),
        change_tracking(backend, "account", "accountid", "modifiedon"),
        change_tracking(backend, "contact", "contactid", "modifiedon"),
        change_tracking(backend, "product", "productid", "modifiedon"),
    )
}

fn real_type(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "real",
        Backend::Postgres => "double precision",
    }
}
