//! The demo's data: customers, contacts and items generated the same every time, the
//! CRM's accounts entered by hand, and the benchmark's ways of filling, aging and
//! editing them.

use super::schema::{crm_schema, erp_schema, now_ms};
use super::{DemoError, DemoSummary, open};
use crate::db::{Backend, Sql};
use sqlx::{Executor, Row};

/// Creates the CRM's tables in an empty database and inserts `rows` accounts as fast as
/// the driver allows — a thousand rows a statement, fifty thousand a transaction — into
/// `account`, with its indexes and triggers, keyed as the engine keys the accounts it
/// creates: the ceiling for writing the CRM. Answers how long the inserts took
/// (generating the rows beforehand is not counted).
pub async fn fill_accounts(crm_url: &str, rows: u64) -> Result<std::time::Duration, DemoError> {
    let crm = open(crm_url).await?;
    let backend = crate::db::backend_of(crm_url).unwrap_or(Backend::Sqlite);
    crm.execute(crm_schema(backend).as_str()).await?;
    let mut rng = Rng(0x0a11_ce55);
    let mut took = std::time::Duration::ZERO;
    // A transaction's rows are made before its clock starts, and only they are held.
    let mut next = 1;
    while next <= rows {
        let last = (next + 49_999).min(rows);
        let transaction: Vec<Account> = (next..=last)
            .map(|n| {
                let company = company_name(&mut rng, n);
                Account {
                    // The keys the engine gives the records it creates.
                    id: crate::sync::new_key(),
                    name: company.chars().take(160).collect(),
                    street: format!("{} {}", rng.below(200) + 1, pick(&mut rng, STREETS)),
                    city: pick(&mut rng, CITIES).to_string(),
                    phone: phone(&mut rng),
                    email: format!("info@{}-{n}.example", slug(&company)),
                    credit_limit: (rng.below(50) * 1000) as f64,
                }
            })
            .collect();
        next = last + 1;
        let started = std::time::Instant::now();
        let mut tx = crm.begin().await?;
        for statement in transaction.chunks(1000) {
            let mut sql = Sql::new(
                "insert into account (accountid, name, address1_line1, address1_city, telephone1, \
                 emailaddress1, creditlimit) ",
            );
            sql.values(statement, |b, a| {
                b.bind(a.id.clone())
                    .bind(a.name.clone())
                    .bind(a.street.clone())
                    .bind(a.city.clone())
                    .bind(a.phone.clone())
                    .bind(a.email.clone())
                    .bind(a.credit_limit);
            });
            sql.execute(&mut tx).await?;
        }
        tx.commit().await?;
        took += started.elapsed();
    }
    crm.close().await;
    Ok(took)
}

/// Spreads the customers' modified-on values a second apart, ending now, as records
/// made over days are (a demo made in one go has them all in the same few seconds).
pub async fn age_customers(erp_url: &str) -> Result<(), DemoError> {
    let erp = open(erp_url).await?;
    let backend = crate::db::backend_of(erp_url).unwrap_or(Backend::Sqlite);
    let count: i64 = sqlx::query("select count(*) from customer")
        .fetch_one(&erp)
        .await?
        .try_get(0)?;
    let number = match backend {
        Backend::Sqlite => "cast(substr(no, 2) as integer)",
        Backend::Postgres => "cast(substr(no, 2) as bigint)",
    };
    erp.execute(
        format!(
            "update customer set modified_at = {} - ({count} - {number}) * 1000",
            now_ms(backend)
        )
        .as_str(),
    )
    .await?;
    erp.close().await;
    Ok(())
}

/// Changes the phone of `changed` customers spread evenly over the first `of`.
pub async fn touch_customers(erp_url: &str, changed: u64, of: u64) -> Result<(), DemoError> {
    let erp = open(erp_url).await?;
    let step = (of / changed.max(1)).max(1);
    let keys: Vec<String> = (0..changed)
        .map(|i| format!("C{:06}", 1 + i * step))
        .collect();
    let mut tx = erp.begin().await?;
    for chunk in keys.chunks(500) {
        let mut sql = Sql::new("update customer set phone = '+1 555 0100' where no in ");
        sql.list(chunk, |b, key| {
            b.bind(key.clone());
        });
        sql.execute(&mut tx).await?;
    }
    tx.commit().await?;
    erp.close().await;
    Ok(())
}

/// Makes the first `count` customers' names too long for the CRM, as if pasted from a
/// letterhead: each fails to synchronize.
pub async fn lengthen_names(erp_url: &str, count: u64) -> Result<(), DemoError> {
    let erp = open(erp_url).await?;
    let backend = crate::db::backend_of(erp_url).unwrap_or(Backend::Sqlite);
    let number = match backend {
        Backend::Sqlite => "cast(substr(no, 2) as integer)",
        Backend::Postgres => "cast(substr(no, 2) as bigint)",
    };
    erp.execute(
        format!(
            "update customer set name = name || ', trading as ' || name || ', registered office \
             and principal place of business at the Industrial Estate, North Wing, Building \
             Seven, Harbour Road, Rotterdam' where {number} <= {count}"
        )
        .as_str(),
    )
    .await?;
    erp.close().await;
    Ok(())
}

struct Account {
    id: String,
    name: String,
    street: String,
    city: String,
    phone: String,
    email: String,
    credit_limit: f64,
}

pub(super) async fn fill(
    erp_url: &str,
    crm_url: &str,
    customers: u64,
    with_contacts: bool,
) -> Result<DemoSummary, DemoError> {
    let erp = open(erp_url).await?;
    let crm = open(crm_url).await?;
    let erp_backend = crate::db::backend_of(erp_url).unwrap_or(Backend::Sqlite);
    let crm_backend = crate::db::backend_of(crm_url).unwrap_or(Backend::Sqlite);
    erp.execute(erp_schema(erp_backend).as_str()).await?;
    crm.execute(crm_schema(crm_backend).as_str()).await?;

    let mut rng = Rng(0x5eed_c0de);
    let items = 40.min(customers.max(10));
    let mut summary = DemoSummary {
        customers,
        items,
        ..DemoSummary::default()
    };
    let mut customer_rows = Vec::new();
    let mut contact_rows = Vec::new();
    let mut account_rows = Vec::new();
    // One system's transaction at a time: the CRM's, open while the ERP's customers are
    // written, would idle past PostgreSQL's idle-in-transaction limit on a big demo.
    let mut erp_tx = erp.begin().await?;
    for n in 1..=customers {
        let company = company_name(&mut rng, n);
        // The number keeps e-mail addresses unique: match-based coupling relies on them.
        let email = format!("info@{}-{n}.example", slug(&company));
        let city = pick(&mut rng, CITIES);
        let no = format!("C{n:06}");
        customer_rows.push(Customer {
            no: no.clone(),
            name: company.clone(),
            address: format!("{} {}", rng.below(200) + 1, pick(&mut rng, STREETS)),
            city: city.to_string(),
            phone: phone(&mut rng),
            email: email.clone(),
            credit_limit: (rng.below(50) * 1000) as f64,
        });
        for c in 0..1 + rng.below(3) {
            if !with_contacts {
                break;
            }
            let first = pick(&mut rng, FIRST_NAMES);
            let last = pick(&mut rng, LAST_NAMES);
            contact_rows.push([
                format!("CT{n:06}{c}"),
                no.clone(),
                format!("{first} {last}"),
                format!(
                    "{}.{}@{}.example",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    slug(&company)
                ),
                phone(&mut rng),
                pick(&mut rng, JOB_TITLES).to_string(),
            ]);
        }
        // One customer in ten already has an account in the CRM, entered by hand there:
        // match-based coupling must couple these instead of creating duplicates.
        if n % 10 == 3 && company.chars().count() <= 160 {
            account_rows.push([
                rng.guid(),
                company.clone(),
                city.to_string(),
                phone(&mut rng),
                email.clone(),
            ]);
        }
        if customer_rows.len() >= 400 {
            insert_customers(&mut erp_tx, &customer_rows).await?;
            customer_rows.clear();
        }
        if contact_rows.len() >= 400 {
            summary.contacts += contact_rows.len() as u64;
            insert_rows(
                &mut erp_tx,
                "contact",
                &["no", "company_no", "name", "email", "phone", "job_title"],
                &contact_rows,
            )
            .await?;
            contact_rows.clear();
        }
    }
    insert_customers(&mut erp_tx, &customer_rows).await?;
    summary.contacts += contact_rows.len() as u64;
    insert_rows(
        &mut erp_tx,
        "contact",
        &["no", "company_no", "name", "email", "phone", "job_title"],
        &contact_rows,
    )
    .await?;
    for n in 1..=items {
        let (name, unit) = ITEMS[(n as usize - 1) % ITEMS.len()];
        let description = if n as usize > ITEMS.len() {
            format!("{name}, series {}", n as usize / ITEMS.len() + 1)
        } else {
            name.to_string()
        };
        sqlx::query(
            "insert into item (no, description, unit_price, base_unit) values ($1, $2, $3, $4)",
        )
        .bind(format!("I{n:04}"))
        .bind(description)
        .bind((rng.below(40_000) as f64) / 100.0 + 1.0)
        .bind(unit)
        .execute(&mut *erp_tx)
        .await?;
    }
    erp_tx.commit().await?;
    let mut crm_tx = crm.begin().await?;
    summary.accounts = account_rows.len() as u64;
    for chunk in account_rows.chunks(400) {
        insert_rows(
            &mut crm_tx,
            "account",
            &[
                "accountid",
                "name",
                "address1_city",
                "telephone1",
                "emailaddress1",
            ],
            chunk,
        )
        .await?;
    }
    crm_tx.commit().await?;
    // Statistics, as a database in use has them: without them PostgreSQL reads a whole
    // table for each few hundred records that match-based coupling looks up by e-mail.
    erp.execute("analyze").await?;
    crm.execute("analyze").await?;
    erp.close().await;
    crm.close().await;
    Ok(summary)
}

struct Customer {
    no: String,
    name: String,
    address: String,
    city: String,
    phone: String,
    email: String,
    credit_limit: f64,
}

async fn insert_customers(
    conn: &mut sqlx::AnyConnection,
    rows: &[Customer],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql =
        Sql::new("insert into customer (no, name, address, city, phone, email, credit_limit) ");
    sql.values(rows, |b, c| {
        b.bind(c.no.clone())
            .bind(c.name.clone())
            .bind(c.address.clone())
            .bind(c.city.clone())
            .bind(c.phone.clone())
            .bind(c.email.clone())
            .bind(c.credit_limit);
    });
    sql.execute(&mut *conn).await?;
    Ok(())
}

async fn insert_rows<const N: usize>(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str; N],
    rows: &[[String; N]],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(format!("insert into {table} ({}) ", columns.join(", ")));
    sql.values(rows, |b, row| {
        for value in row {
            b.bind(value.clone());
        }
    });
    sql.execute(&mut *conn).await?;
    Ok(())
}

/// A small deterministic generator (SplitMix64): the same demo every time.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(super) fn guid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

pub(super) fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list[rng.below(list.len() as u64) as usize]
}

pub(super) fn phone(rng: &mut Rng) -> String {
    format!(
        "+1 {:03} {:03} {:04}",
        200 + rng.below(800),
        rng.below(1000),
        rng.below(10_000)
    )
}

pub(super) fn company_name(rng: &mut Rng, n: u64) -> String {
    let name = format!(
        "{} {} {}",
        pick(rng, LAST_NAMES),
        pick(rng, TRADES),
        pick(rng, SUFFIXES)
    );
    // About one customer in a hundred carries its full legal name, longer than the
    // CRM's 160 characters: those records really fail to synchronize.
    if n % 100 == 42 {
        format!(
            "{name}, trading as {name} Holdings and Subsidiaries, registered office and principal place of business at the Industrial Estate, North Wing, Building Seven"
        )
    } else {
        name
    }
}

pub(super) fn slug(name: &str) -> String {
    name.split(',')
        .next()
        .unwrap_or(name)
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' | '-' => Some('-'),
            _ => None,
        })
        .collect()
}

const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Nils", "Olivia", "Pablo", "Queenie", "Rafael", "Sofia", "Tomas", "Uma",
    "Victor", "Wen", "Yusuf", "Zoe",
];
const LAST_NAMES: &[&str] = &[
    "Adler",
    "Berg",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Urban",
    "Vasquez",
    "Weber",
    "Young",
    "Zimmermann",
];
const TRADES: &[&str] = &[
    "Bikes",
    "Furniture",
    "Logistics",
    "Electronics",
    "Textiles",
    "Catering",
    "Tools",
    "Outdoor",
    "Office Supply",
    "Hardware",
    "Garden",
    "Lighting",
];
const SUFFIXES: &[&str] = &["Ltd", "Inc", "GmbH", "& Co", "Group", "Trading", "Partners"];
pub(super) const CITIES: &[&str] = &[
    "Atlanta",
    "Berlin",
    "Chicago",
    "Copenhagen",
    "Dublin",
    "Lyon",
    "Madrid",
    "Oslo",
    "Rotterdam",
    "Seattle",
    "Toronto",
    "Vienna",
];
pub(super) const STREETS: &[&str] = &[
    "Main Street",
    "Harbour Road",
    "Market Square",
    "Station Avenue",
    "Mill Lane",
    "Park Drive",
    "Bridge Street",
    "Church Road",
];
const JOB_TITLES: &[&str] = &[
    "Purchasing Manager",
    "Accountant",
    "Owner",
    "Sales Director",
    "Office Manager",
    "Logistics Coordinator",
];
const ITEMS: &[(&str, &str)] = &[
    ("Bicycle Frame, Aluminium", "PCS"),
    ("Chain Lubricant 250 ml", "PCS"),
    ("Office Chair, Ergonomic", "PCS"),
    ("Desk Lamp LED", "PCS"),
    ("Copy Paper A4, 500 sheets", "BOX"),
    ("Garden Hose 25 m", "PCS"),
    ("Steel Wire", "M"),
    ("Coffee Beans, Arabica", "KG"),
    ("Work Gloves, Size L", "BOX"),
    ("Cable Ties 200 mm", "BOX"),
];

/// Adds `per_record` log entries to each of `records` records of `mapping` in the store
/// (their local keys `OLD-0`, `OLD-1`, …), all older than `age`: history for the
/// benchmark to prune. Answers how many it added.
pub async fn add_old_log_entries(
    store: &crate::store::Store,
    mapping: &str,
    records: u64,
    per_record: u64,
    age: std::time::Duration,
) -> Result<u64, crate::store::StoreError> {
    let rows = records * per_record;
    let at = crate::store::now_millis() - age.as_millis() as i64 - rows as i64;
    let mut conn = store.conn().await?;
    sqlx::query(
        "with recursive n(i) as (select cast(0 as bigint) union all \
                                 select i + 1 from n where i + 1 < $1) \
         insert into log_entry (mapping, at, local_key, direction, action, result, actor) \
         select $2, $3 + i, 'OLD-' || cast(i % $4 as text), 'to_integration', 'modified', 'ok', \
                'bench' from n",
    )
    .bind(rows as i64)
    .bind(mapping)
    .bind(at)
    .bind(records as i64)
    .execute(&mut *conn)
    .await?;
    Ok(rows)
}
