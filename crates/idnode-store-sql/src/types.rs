//! The dictionary of value type names (migration 0026): packed records name a type by its
//! number here (`idnode_core::packed::pack_with`). Numbers are never reused or renamed, so
//! the cached copy is never wrong, only possibly behind another instance's additions: a
//! number it does not know makes it reload. Names are added before the batch that first
//! uses them, each in its own statement (an unused name costs a row, nothing else), and
//! the dictionary is bounded: past [`MOST`] names, or for names longer than [`LONGEST`],
//! records spell types out.

use std::sync::RwLock;

use foldhash::HashMap;

use idnode_core::packed::{pack_with, unpack_with, UNKNOWN_TYPE};
use idnode_core::{CoreError, HandleValue};
use idnode_store::{Batch, Op, Result, StoreError};
use sqlx::Pool;

use crate::sql::{Cols, Stmt};
use crate::Dialect;

/// Most names the dictionary holds.
const MOST: usize = 4_096;
/// Longest name numbered, in bytes.
const LONGEST: usize = 64;

/// The cached dictionary.
#[derive(Debug, Default)]
pub(crate) struct Types(RwLock<Dict>);

/// Looked up a dozen times per identifier written (packing, finding new names): foldhash
/// instead of SipHash, whose hashing was 4 % of a bulk load's instructions. The maps grow
/// only from the table (at most [`MOST`] names), never from what clients send.
#[derive(Debug, Default)]
struct Dict {
    ids: HashMap<String, u32>,
    names: HashMap<u32, String>,
}

impl Types {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Dict> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Packs values, numbering the types the dictionary holds.
    pub(crate) fn pack(&self, values: &[HandleValue]) -> Vec<u8> {
        let d = self.read();
        pack_with(values, |n| d.ids.get(n).copied())
    }

    /// Unpacks values with the cached dictionary.
    pub(crate) fn unpack(&self, bytes: &[u8]) -> std::result::Result<Vec<HandleValue>, CoreError> {
        let d = self.read();
        unpack_with(bytes, |i| d.names.get(&i).cloned())
    }

    /// The type names `batch` writes that the dictionary should number and does not yet.
    pub(crate) fn missing<'a>(&self, batch: &'a Batch) -> Vec<&'a str> {
        let d = self.read();
        let mut room = MOST.saturating_sub(d.ids.len());
        let mut out: Vec<&str> = Vec::new();
        for op in &batch.ops {
            let (Op::Create { values, .. } | Op::Update { values, .. }) = op else {
                continue;
            };
            for v in values {
                let n = v.type_name.as_str();
                if room > 0 && n.len() <= LONGEST && !d.ids.contains_key(n) && !out.contains(&n) {
                    out.push(n);
                    room -= 1;
                }
            }
        }
        out
    }

    /// Adds `names` to the table (each in its own statement, outside any batch), then
    /// reloads.
    pub(crate) async fn add<D: Dialect>(&self, pool: &Pool<D::DB>, names: &[&str]) -> Result<()> {
        let mut conn = pool.acquire().await.map_err(D::error)?;
        for n in names {
            Stmt::new("INSERT INTO value_types (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
                .bind(*n)
                .execute::<D::DB>(&mut conn)
                .await
                .map_err(D::error)?;
        }
        drop(conn);
        self.load::<D>(pool).await
    }

    /// Reads the whole table.
    pub(crate) async fn load<D: Dialect>(&self, pool: &Pool<D::DB>) -> Result<()> {
        let mut conn = pool.acquire().await.map_err(D::error)?;
        let rows = Stmt::new("SELECT id, name FROM value_types")
            .all::<D::DB>(&mut conn)
            .await
            .map_err(D::error)?;
        let mut d = Dict::default();
        for r in &rows {
            let c = Cols::<D::DB>(r);
            let id = crate::rows::narrow::<u32>(c.int("id")?, "id")?;
            let name = c.string("name")?;
            d.ids.insert(name.clone(), id);
            d.names.insert(id, name);
        }
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = d;
        Ok(())
    }
}

/// Whether an error is a packed record naming a type number the cache does not hold.
pub(crate) fn is_unknown_type(e: &StoreError) -> bool {
    matches!(e, StoreError::Corrupt(m) if m.contains(UNKNOWN_TYPE))
}

#[cfg(test)]
mod tests {
    use idnode_core::Identifier;

    use super::*;

    fn batch(types: &[&str]) -> Batch {
        Batch {
            actor: "t".into(),
            ops: vec![Op::Create {
                handle: Identifier::parse("88.1/x").unwrap(),
                values: types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| HandleValue::text(i as u32 + 1, t, "v"))
                    .collect(),
            }],
            idempotency: None,
            origin: String::new(),
        }
    }

    #[test]
    fn asks_for_each_short_new_name_once_and_stops_when_full() {
        let types = Types::default();
        let long = "t".repeat(LONGEST + 1);
        let b = batch(&["URL", "URL", "EMAIL", &long]);
        assert_eq!(types.missing(&b), ["URL", "EMAIL"]);
        {
            let mut d = types.0.write().unwrap();
            for i in 0..MOST as u32 - 1 {
                d.ids.insert(format!("known{i}"), i);
            }
        }
        assert_eq!(types.missing(&b), ["URL"], "room for one more");
        // Numbered names pack shorter; others stay spelled out and both read back.
        let values = &batch(&["known7", "EMAIL"]).ops[0];
        let Op::Create { values, .. } = values else {
            unreachable!()
        };
        let packed = types.pack(values);
        assert!(
            types.unpack(&packed).is_err(),
            "no names for the numbers yet"
        );
        {
            let mut d = types.0.write().unwrap();
            d.names.insert(7, "known7".into());
        }
        assert_eq!(&types.unpack(&packed).unwrap(), values);
    }
}
