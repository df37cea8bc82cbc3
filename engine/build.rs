//! The store's migrations are embedded by `sqlx::migrate!`: a new or changed migration
//! rebuilds the engine.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
