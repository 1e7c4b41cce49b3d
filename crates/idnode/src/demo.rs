//! Demo data for `idnode serve --demo` on an empty database.

use idnode_core::HandleValue;

use crate::{cli_operator, Services};

/// Node prefix used by the demo.
pub(crate) const DEMO_NODE_PREFIX: &str = "88.118";
/// Identifiers created per demo enterprise.
const PER_ENTERPRISE: usize = 1_000;

/// Creates two enterprises with identifiers and returns lines describing the credentials.
pub(crate) async fn seed(s: &Services) -> anyhow::Result<Vec<String>> {
    let op = cli_operator();
    let mut lines = Vec::new();
    for (name, prefix, code, product) in [
        (
            "Chongqing Gearbox Co.",
            "88.118.8",
            "GBX",
            "gearbox housing",
        ),
        (
            "Chongqing Valve Works",
            "88.118.9",
            "VLV",
            "ball valve DN50",
        ),
    ] {
        let (e, c) = s
            .registry
            .create_enterprise(&op, name, prefix, Default::default())
            .await?;
        lines.push(format!(
            "enterprise {} '{}' prefix {prefix}: identity {} secret {}",
            e.id, e.name, c.identity, c.secret
        ));
        let items = (1..=PER_ENTERPRISE)
            .map(|i| {
                let handle = format!("{prefix}/{code}-2026-{i:06}");
                let values = vec![
                    HandleValue::text(1, "URL", &format!("https://trace.example.com/{handle}")),
                    HandleValue::text(2, "productName", product),
                    HandleValue::text(3, "batchNo", &format!("{code}-B{:03}", i / 100)),
                    HandleValue::text(4, "productionDate", "2026-11-01"),
                ];
                (handle, values)
            })
            .collect();
        s.registry.upsert(&op, items).await?;
    }
    Ok(lines)
}
