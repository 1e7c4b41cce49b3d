//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds
//! `migrations/sqlite` at compile time, and cargo does not watch that directory by itself.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
}
