//! `coupler demo simulate`: people editing both demo systems between two runs.

use super::data::{CITIES, Rng, STREETS, company_name, phone, pick, slug};
use super::{DemoError, open};
use sqlx::Row;
use std::path::Path;

/// What `simulate` did to the two systems.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Simulation {
    /// One line per edit, in plain words.
    pub edits: Vec<String>,
}

/// Edits both demo systems the way people do between two runs: creates, edits and
/// deletes on each side, one coupled pair edited in the same field on both sides (a
/// conflict) and one in different fields (a merge). `seed` picks the records.
pub async fn simulate(erp_url: &str, crm_url: &str, seed: u64) -> Result<Simulation, DemoError> {
    let erp = open(erp_url).await?;
    let crm = open(crm_url).await?;
    let mut rng = Rng(seed);
    let mut done = Simulation::default();

    // New customers in the ERP and new accounts in the CRM.
    let next: i64 = sqlx::query("select count(*) from customer")
        .fetch_one(&erp)
        .await?
        .try_get(0)?;
    for n in 0..3 {
        let number = next + 1_000_000 + n + (seed % 1000) as i64 * 10;
        let company = company_name(&mut rng, number as u64 + 1);
        let no = format!("C{number:07}");
        sqlx::query(
            "insert into customer (no, name, city, phone, email) values ($1, $2, $3, $4, $5)",
        )
        .bind(&no)
        .bind(&company)
        .bind(pick(&mut rng, CITIES))
        .bind(phone(&mut rng))
        .bind(format!("sales{number}@{}.example", slug(&company)))
        .execute(&erp)
        .await?;
        done.edits
            .push(format!("erp: created customer {no} {company:?}"));
    }
    if seed == 1 {
        // Someone pasted markup into a name: too long for the CRM, and never run as HTML.
        let no = format!("C{:07}", next + 2_000_000);
        let name = format!(
            "<script>alert(\"pasted\")</script> {}",
            "Pasted Name Holdings ".repeat(7).trim_end()
        );
        sqlx::query("insert into customer (no, name, city) values ($1, $2, $3)")
            .bind(&no)
            .bind(&name)
            .bind(pick(&mut rng, CITIES))
            .execute(&erp)
            .await?;
        done.edits
            .push(format!("erp: created customer {no} {name:?}"));
    }
    for _ in 0..2 {
        let company = company_name(&mut rng, 1);
        let id = rng.guid();
        sqlx::query("insert into account (accountid, name, address1_city, emailaddress1) values ($1, $2, $3, $4)")
            .bind(&id)
            .bind(&company)
            .bind(pick(&mut rng, CITIES))
            .bind(format!("hello-{}@{}.example", &id[..8], slug(&company)))
            .execute(&crm)
            .await?;
        done.edits
            .push(format!("crm: created account {id} {company:?}"));
    }

    // Edits on each side.
    let customers: Vec<String> =
        sqlx::query("select no from customer where length(name) <= 160 order by no")
            .fetch_all(&erp)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
    let accounts: Vec<(String, String)> = sqlx::query(
        "select accountid, coalesce(emailaddress1, '') from account order by accountid",
    )
    .fetch_all(&crm)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    if customers.len() < 10 || accounts.len() < 4 {
        return Ok(done);
    }
    for _ in 0..4 {
        let no = &customers[rng.below(customers.len() as u64) as usize];
        let new_phone = phone(&mut rng);
        sqlx::query("update customer set phone = $1 where no = $2")
            .bind(&new_phone)
            .bind(no)
            .execute(&erp)
            .await?;
        done.edits
            .push(format!("erp: customer {no} phone → {new_phone}"));
    }
    for _ in 0..2 {
        let (id, _) = &accounts[rng.below(accounts.len() as u64) as usize];
        let street = format!("{} {}", rng.below(200) + 1, pick(&mut rng, STREETS));
        sqlx::query("update account set address1_line1 = $1 where accountid = $2")
            .bind(&street)
            .bind(id)
            .execute(&crm)
            .await?;
        done.edits
            .push(format!("crm: account {id} address → {street}"));
    }

    // Coupled pairs (same e-mail on both sides): one edited in the same field on both
    // sides, one in different fields.
    let emails: std::collections::HashMap<String, String> =
        sqlx::query("select email, no from customer where email is not null")
            .fetch_all(&erp)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let pairs: Vec<(&String, &String)> = accounts
        .iter()
        .filter_map(|(id, email)| emails.get(email).map(|no| (no, id)))
        .collect();
    let mut edited: Vec<String> = Vec::new();
    if pairs.len() >= 2 {
        let start = rng.below(pairs.len() as u64 - 1) as usize;
        for (no, id) in &pairs[start..start + 2] {
            edited.push(no.to_string());
            edited.push(id.to_string());
        }
        let (no, id) = pairs[start];
        // Cities no record has yet, so both sides really change.
        let (erp_city, crm_city) = ("Lisbon", "Reykjavik");
        sqlx::query("update customer set city = $1 where no = $2")
            .bind(erp_city)
            .bind(no)
            .execute(&erp)
            .await?;
        sqlx::query("update account set address1_city = $1 where accountid = $2")
            .bind(crm_city)
            .bind(id)
            .execute(&crm)
            .await?;
        done.edits.push(format!(
            "both: customer {no} city → {erp_city} in the erp, {crm_city} in the crm (a conflict)"
        ));
        let (no, id) = pairs[start + 1];
        let new_phone = phone(&mut rng);
        sqlx::query("update customer set phone = $1 where no = $2")
            .bind(&new_phone)
            .bind(no)
            .execute(&erp)
            .await?;
        sqlx::query("update account set address1_line1 = 'Dock 4' where accountid = $1")
            .bind(id)
            .execute(&crm)
            .await?;
        done.edits.push(format!("both: customer {no} phone → {new_phone} in the erp, address → Dock 4 in the crm (a merge)"));
    }

    // Deletions on each side, of records the edits above left alone.
    let untouched = |key: &&String| !edited.iter().any(|e| e == *key);
    let customers: Vec<&String> = customers.iter().filter(untouched).collect();
    let accounts: Vec<&(String, String)> =
        accounts.iter().filter(|(id, _)| untouched(&id)).collect();
    let no = customers[rng.below(customers.len() as u64) as usize];
    sqlx::query("delete from contact where company_no = $1")
        .bind(no)
        .execute(&erp)
        .await?;
    sqlx::query("delete from customer where no = $1")
        .bind(no)
        .execute(&erp)
        .await?;
    done.edits
        .push(format!("erp: deleted customer {no} and its contacts"));
    let (id, _) = accounts[rng.below(accounts.len() as u64) as usize];
    sqlx::query("delete from account where accountid = $1")
        .bind(id)
        .execute(&crm)
        .await?;
    done.edits.push(format!("crm: deleted account {id}"));
    erp.close().await;
    crm.close().await;
    Ok(done)
}

/// [`simulate`] on the SQLite demo in `dir`.
pub async fn simulate_dir(dir: &Path, seed: u64) -> Result<Simulation, DemoError> {
    let (erp, crm) = (dir.join("erp.db"), dir.join("crm.db"));
    if !erp.exists() || !crm.exists() {
        return Err(DemoError::Missing(dir.to_path_buf()));
    }
    simulate(
        &format!("sqlite://{}", erp.display()),
        &format!("sqlite://{}", crm.display()),
        seed,
    )
    .await
}
