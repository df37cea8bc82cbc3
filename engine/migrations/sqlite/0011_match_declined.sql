-- Records a person chose to create anew on the other side (Create New) rather than couple
-- by match: match-based coupling leaves them out, as records to match and as candidates.
create table match_declined (
    mapping text not null,
    side text not null,
    record_key text not null,
    declined_by text not null,
    declined_at integer not null,
    primary key (mapping, side, record_key)
);
