//! What a person with a browser gets: the landing page and its search, an identifier's
//! public values as a page, its QR code (read back by an independent decoder), and pages
//! for identifiers that are missing or have no URL.

use reqwest::redirect::Policy;
use serde_json::json;

use crate::common::TestNode;
use crate::on_both;

const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn page(n: &TestNode, path: &str, accept: &str) -> (u16, String, String, String) {
    let resp = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{path}", n.base))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    let header = |h: &str| {
        resp.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (kind, location) = (header("content-type"), header("location"));
    (
        resp.status().as_u16(),
        kind,
        location,
        resp.text().await.unwrap(),
    )
}

pub(crate) fn decode_png(bytes: &[u8]) -> String {
    let mut reader = png::Decoder::new(bytes).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

async fn browser_pages(n: &TestNode) {
    // The landing page, in Chinese, then in English; its search goes to the values page.
    let (s, kind, _, body) = page(n, "/", HTML).await;
    assert_eq!((s, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(
        body.contains("工业互联网标识解析二级节点") && body.contains("88.118"),
        "{body}"
    );
    let (_, _, _, body) = page(n, "/?lang=en", HTML).await;
    assert!(body.contains("Resolve an identifier"));
    let (s, _, to, _) = page(n, "/?handle=88.118.8%2Fweb-1&lang=en", HTML).await;
    assert_eq!(
        (s, to.as_str()),
        (303, "/88.118.8/web-1?noredirect&lang=en")
    );

    let record = json!({"values": [
        {"index": 1, "type": "URL", "data": "https://example.cn/web-1?a=1&b=2"},
        {"index": 2, "type": "DESC", "data": "<b>gear</b> 齿轮"},
        {"index": 3, "type": "COST", "data": "41.20 CNY", "permissions": "1100"}
    ]});
    assert_eq!(
        n.put("/api/handles/88.118.8/web-1", Some(&n.a), &record)
            .await
            .0,
        201
    );
    let plain = json!({"values": [{"index": 2, "type": "DESC", "data": "no URL"}]});
    assert_eq!(
        n.put("/api/handles/88.118.8/web-2", Some(&n.a), &plain)
            .await
            .0,
        201
    );

    // A browser following a printed link is redirected; ?noredirect shows the values.
    let (s, _, to, _) = page(n, "/88.118.8/web-1", HTML).await;
    assert_eq!((s, to.as_str()), (302, "https://example.cn/web-1?a=1&b=2"));
    let (s, kind, _, body) = page(n, "/88.118.8/web-1?noredirect", HTML).await;
    assert_eq!((s, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(body.contains("&lt;b&gt;gear&lt;/b&gt; 齿轮"), "{body}");
    assert!(body.contains("href=\"https://example.cn/web-1?a=1&amp;b=2\""));
    assert!(
        body.contains("HS_ADMIN"),
        "public like every proxy shows it: {body}"
    );
    assert!(!body.contains("41.20"), "public values only: {body}");
    assert!(body.contains("部分值仅对管理员可见"));
    // Without a URL a browser gets the page, an API client the Handle.Net answer.
    let (s, _, _, body) = page(n, "/88.118.8/web-2", HTML).await;
    assert!(s == 200 && body.contains("no URL"), "{s} {body}");
    let (s, _, _, body) = page(n, "/88.118.8/web-2", "application/json").await;
    assert!(
        s == 404 && body.contains("\"responseCode\":200"),
        "{s} {body}"
    );
    let (s, kind, _, body) = page(n, "/88.118.8/absent?noredirect&lang=en", HTML).await;
    assert_eq!((s, kind.as_str()), (404, "text/html; charset=utf-8"));
    assert!(body.contains("Identifier not found"));

    // The QR code holds the URL the identifier resolves at through this node.
    let resp = n
        .client
        .get(format!("{}/88.118.8/web-1?qr=png", n.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "image/png");
    let text = decode_png(&resp.bytes().await.unwrap());
    assert_eq!(text, format!("{}/88.118.8/web-1", n.base));
    let (s, kind, _, body) = page(n, "/88.118.8/web-1?qr=svg", "*/*").await;
    assert_eq!((s, kind.as_str()), (200, "image/svg+xml"));
    assert!(body.starts_with("<?xml") && body.contains("<svg"));
    let (s, _, _, _) = page(n, "/88.118.8/absent?qr=png", "*/*").await;
    assert_eq!(s, 404);
}
on_both!(browser_landing_values_page_and_qr_code, browser_pages);
