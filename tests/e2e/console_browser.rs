//! The web console in a real browser: Debian's Chromium driven by the npm package
//! `playwright-core` (installed under target/ on first use) through `js/console.js`. The
//! operator signs in and onboards an enterprise, the enterprise signs in, registers and edits
//! an identifier, imports a CSV with one bad line (shown, nothing written), the operator sees
//! the dashboard's numbers move; the landing page's search and a QR code are checked.
//! Screenshots of every page are written to `target/tmp/console-screenshots/`.

use std::path::Path;

use serde_json::{json, Value};

use crate::common::{node_with, Backend};

/// The Chromium the test drives (`IDNODE_CHROMIUM` overrides Debian's).
fn chromium() -> String {
    let path = std::env::var("IDNODE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: install Debian's chromium (apt-get install chromium fonts-wqy-zenhei)"
    );
    path
}

fn number(tiles: &Value, label: &str) -> u64 {
    tiles[label]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("tile {label} in {tiles}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_a_browser() {
    let n = node_with(Backend::Sqlite, |c| c.reports.stats_flush_secs = 1).await;
    let record = json!({"values": [{"index": 1, "type": "URL", "data": "https://gearbox.example.cn/landing"}]});
    assert_eq!(
        n.put("/api/handles/88.118.8/LANDING-1", Some(&n.a), &record)
            .await
            .0,
        201
    );
    // A gearbox made of two parts, for the trace page.
    let doc = json!({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-12-05T00:00:00Z",
        "epcisBody": {"eventList": [{"type": "AggregationEvent", "eventTime": "2026-12-05T08:00:00+08:00",
            "eventTimeZoneOffset": "+08:00", "parentID": "hdl:88.118.8/GBX-TRACE",
            "childEPCs": ["hdl:88.118.8/GEAR-1", "hdl:88.118.8/SHAFT-1"],
            "action": "ADD", "bizStep": "assembling"}]}});
    assert_eq!(n.post("/epcis/capture", Some(&n.a), &doc).await.0, 202);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let browser = chromium();
    let seen = crate::common::node_script(
        ("playwright-core", "playwright-core@1.65.2", &[]),
        "console.js",
        &[
            n.base.as_ref(),
            n.operator.identity.as_ref(),
            n.operator.secret.as_ref(),
            browser.as_ref(),
            shots.as_os_str(),
        ],
    )
    .await;
    let text = |k: &str| {
        seen[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {seen}"))
            .to_owned()
    };

    // Landing page, its search, the QR code (read back by an independent decoder).
    assert!(text("landingTitle").contains("88.118"), "{seen}");
    assert!(
        text("searchUrl").contains("/88.118.8/LANDING-1?noredirect"),
        "{seen}"
    );
    assert!(text("searchTitle").contains("88.118.8/LANDING-1"), "{seen}");
    assert_eq!(text("qrType"), "image/png");
    let png = std::fs::read(shots.join("qr.png")).unwrap();
    assert_eq!(
        crate::browser::decode_png(&png),
        format!("{}/88.118.8/LANDING-1", n.base)
    );

    // Onboarded, signed in as the enterprise, registered and edited.
    assert_eq!(text("onboarded"), "300:0.NA/88.118.20");
    assert!(text("enterpriseHome").contains("88.118.20"), "{seen}");
    assert!(text("savedFlash").contains("已保存"), "{seen}");
    assert!(
        text("detail").contains("https://gearbox.example.cn/p/000123-v2"),
        "{seen}"
    );
    let (status, rec) = n.get("/api/handles/88.118.20/GBX-2026-000123", None).await;
    assert_eq!(status, 200);
    let values = rec["values"].as_array().unwrap();
    assert!(
        values
            .iter()
            .any(|v| v["data"]["value"] == "https://gearbox.example.cn/p/000123-v2"),
        "{rec}"
    );
    assert!(
        values
            .iter()
            .any(|v| v["type"] == "productName" && v["data"]["value"] == "齿轮箱 GBX"),
        "{rec}"
    );

    // The import named its bad line and wrote nothing.
    let outcome = text("importOutcome");
    assert!(
        outcome.contains("1 处错误") && outcome.contains("88.118.20/IMP-2"),
        "{outcome}"
    );
    assert!(
        outcome.contains("index must be a positive integer"),
        "{outcome}"
    );
    assert_eq!(seen["imp1Status"], 404);
    for h in ["IMP-1", "IMP-3"] {
        assert_eq!(
            n.get(&format!("/api/handles/88.118.20/{h}"), None).await.0,
            404
        );
    }

    // The dashboard moved: the enterprise's handle and the identifier, the registrations,
    // the browser's resolutions.
    let (before, after) = (&seen["before"], &seen["after"]);
    assert_eq!(
        number(after, "标识总数"),
        number(before, "标识总数") + 2,
        "{before} {after}"
    );
    assert!(
        number(after, "注册（5 分钟）") > number(before, "注册（5 分钟）"),
        "{before} {after}"
    );
    assert!(text("resolutionTable").contains("http"), "{seen}");
    assert!(text("audit").contains("enterprise.create"), "{seen}");
    assert_eq!(text("english"), "Dashboard");
    assert_eq!(text("templatesTitle"), "元数据模板 88.118.20");
    assert!(
        text("valueSearch").contains("88.118.20/GBX-2026-000123"),
        "{seen}"
    );
    // The rotated secret differs, ended the session, and signs in.
    assert_eq!(seen["rotatedDiffers"], true);
    assert!(text("afterRotation").ends_with("/console/login"), "{seen}");
    // The trace graph: the gearbox and its two parts.
    assert_eq!(seen["traceNodes"], 3, "{seen}");
    let graph = text("traceText");
    assert!(
        graph.contains("gear-1") && graph.contains("shaft-1"),
        "{graph}"
    );
    // The enterprise's statistics: its prefix and its registration today; the dashboard's
    // registrations per day and most resolved prefixes.
    let stats = text("enterpriseStats");
    assert!(
        stats.contains("88.118.20") && !stats.contains("88.118.8"),
        "{stats}"
    );
    let dash = text("dashboardText");
    assert!(
        dash.contains("每日注册量") && dash.contains("解析最多的前缀"),
        "{dash}"
    );
    let count = std::fs::read_dir(&shots).unwrap().count();
    assert!(count >= 18, "{count} files in {}", shots.display());
    n.node.stop().await.unwrap();
}
