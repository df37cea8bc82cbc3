-- Console accounts and their sessions. A session is stored by the SHA-256 of its
-- token, so reading the store does not let anyone sign in.
create table account (
    name text primary key,
    password_hash text not null,
    role text not null,
    created_at integer not null,
    last_signed_in integer
);
create table console_session (
    token_hash text primary key,
    account text not null,
    created_at integer not null,
    seen_at integer not null
);
create index console_session_account on console_session (account);
-- The audit page filtered by who acted.
create index audit_entry_actor on audit_entry (actor, id);
