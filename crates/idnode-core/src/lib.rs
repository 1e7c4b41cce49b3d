//! The idnode domain model: identifiers (handles), handle values, permissions and the
//! binary encodings of the structured value types. No I/O happens here.

mod admin;
mod data_in;
mod error;
pub mod gs1;
pub mod hash_id;
pub mod hll;
mod identifier;
pub mod import;
pub mod json;
pub mod packed;
mod profile;
mod rc;
mod render;
mod site;
mod value;
pub mod wire;

pub use admin::{AdminPerms, AdminRef, VList, ValueRef};
pub use error::CoreError;
pub use identifier::{
    is_under, normalize_prefix, Identifier, MAX_HANDLE_CHARS, MAX_PREFIX_CHARS, NA_PREFIX,
};
pub use profile::{Contact, EnterpriseProfile, LegalPerson, MAX_PROFILE_IMAGE, MAX_PROFILE_TEXT};
pub use rc::ResponseCode;
pub use site::{address_bytes, address_to_string, SiteInfo, SiteInterface, SiteServer};
pub use value::{
    validate_record, validate_record_shape, HandleValue, Permissions, Ttl, DEFAULT_TTL,
    MAX_DATA_BYTES, MAX_INDEX, MAX_TYPE_CHARS, MAX_VALUES,
};

/// Index conventionally holding `HS_ADMIN`.
pub const ADMIN_INDEX: u32 = 100;
/// Index conventionally holding an admin key (`HS_SECKEY` / `HS_PUBKEY`).
pub const KEY_INDEX: u32 = 300;

/// Whether two byte strings are equal, in time that depends on their length only (for
/// secrets, proofs and tokens).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
