//! The pages: one layout, the landing page, an identifier's public values, not found.

use idnode_core::json::{format_time, render_data};
use idnode_core::{HandleValue, Ttl};
use maud::{html, Markup, DOCTYPE};

use crate::{handle_path, Lang};

/// What the landing page shows.
pub struct Landing<'a> {
    /// The node's prefix, e.g. `88.118`.
    pub node_prefix: &'a str,
    /// The page's language.
    pub lang: Lang,
}

/// One value as a page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueRow {
    /// Its index.
    pub index: u32,
    /// Its type.
    pub type_name: String,
    /// Its data as text: a string as is, anything else as its REST JSON form.
    pub data: String,
    /// The data is a web address a reader may follow (`http` or `https` only).
    pub link: bool,
    /// When it last changed (RFC 3339).
    pub timestamp: String,
    /// Its time to live, seconds (relative) or the time it expires (absolute).
    pub ttl: String,
}

impl ValueRow {
    /// The row of one value.
    pub fn of(v: &HandleValue) -> Self {
        let rendered = render_data(v);
        let data = match (rendered["format"].as_str(), &rendered["value"]) {
            (Some("string"), serde_json::Value::String(s)) => s.clone(),
            (Some(format), value) => format!("{format}: {value}"),
            _ => rendered.to_string(),
        };
        let lower = data.to_ascii_lowercase();
        Self {
            index: v.index,
            type_name: v.type_name.clone(),
            link: lower.starts_with("https://") || lower.starts_with("http://"),
            data,
            timestamp: format_time(v.timestamp),
            ttl: match v.ttl {
                Ttl::Relative(s) => s.to_string(),
                Ttl::Absolute(t) => format_time(t),
            },
        }
    }
}

/// What an identifier's page shows.
pub struct HandlePage<'a> {
    /// The identifier as stored.
    pub handle: &'a str,
    /// Its public values, by index.
    pub values: &'a [ValueRow],
    /// The record holds values only administrators may read.
    pub restricted: bool,
    /// The page's language.
    pub lang: Lang,
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;\
max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1c2330}\
header{display:flex;justify-content:space-between;align-items:baseline;border-bottom:2px solid #1f5fa8}\
header a{color:#1f5fa8;text-decoration:none}h1{font-size:1.4rem}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #c8d0dc;padding:.4rem;text-align:left;\
vertical-align:top;white-space:nowrap}th{background:#eef2f8}td.data{white-space:normal;word-break:break-all;width:100%}\
form input[type=text]{width:70%;padding:.5rem;font-size:1rem}form button{padding:.5rem 1rem;font-size:1rem}\
.note{color:#5a6474}.qr img{width:12rem;height:12rem}";

/// The frame every page shares: title, language switch, home link.
/// The `<head>` every page has: charset, viewport, title, style sheet.
pub(crate) fn head(title: &str, style: &'static str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { (maud::PreEscaped(style)) }
        }
    }
}

fn layout(lang: Lang, title: &str, switch_href: &str, body: &Markup) -> String {
    let t = lang.text();
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(title, STYLE))
            body {
                header {
                    a href={ "/?lang=" (lang.tag()) } { (t.home) " · " (t.node) }
                    a href=(switch_href) lang=(lang.other().tag()) { (t.switch) }
                }
                (body)
            }
        }
    }
    .into_string()
}

/// The landing page: what this node is, its prefix, a search box, its interfaces.
pub fn landing(page: &Landing<'_>) -> String {
    let t = page.lang.text();
    let example = format!("{}.8/GBX-2026-000123", page.node_prefix);
    let body = html! {
        h1 { (t.node) " " (page.node_prefix) }
        p { (t.intro) }
        p { (t.prefix) ": " strong { (page.node_prefix) } }
        h2 { (t.search) }
        form action="/" method="get" role="search" {
            input type="hidden" name="lang" value=(page.lang.tag());
            input type="text" name="handle" required placeholder=(example)
                aria-label=(t.search);
            " "
            button type="submit" { (t.resolve) }
        }
        p.note { (t.search_hint) " " code { (example) } }
        h2 { (t.apis) }
        ul {
            li { (t.api_rest) ": " code { "GET /api/handles/{handle}" } }
            li { a href="/api/v1/openapi.json" { (t.api_manage) } }
            li { (t.api_epcis) ": " code { "/epcis" } }
            li { (t.api_handle) }
            li { (t.api_dns) }
        }
    };
    let switch = format!("/?lang={}", page.lang.other().tag());
    layout(page.lang, t.node, &switch, &body)
}

/// An identifier's public values, its QR code and its JSON form.
pub fn handle_page(page: &HandlePage<'_>) -> String {
    let t = page.lang.text();
    let path = handle_path(page.handle);
    let body = html! {
        h1 { (t.values_of) " " code { (page.handle) } }
        table {
            thead { tr { th { (t.index) } th { (t.kind) } th { (t.data) } th { (t.timestamp) } th { (t.ttl) } } }
            tbody {
                @for v in page.values {
                    tr {
                        td { (v.index) }
                        td { (v.type_name) }
                        td.data {
                            @if v.link { a href=(v.data) rel="nofollow noopener" { (v.data) } }
                            @else { (v.data) }
                        }
                        td { (v.timestamp) }
                        td { (v.ttl) }
                    }
                }
            }
        }
        @if page.restricted { p.note { (t.restricted) } }
        p { a href={ "/api/handles" (path) } { (t.as_json) } }
        div.qr {
            h2 { (t.qr) }
            img src={ (path) "?qr=svg" } alt=(t.qr);
            p { a href={ (path) "?qr=png" } download { (t.qr_png) } }
        }
    };
    let switch = format!("{path}?noredirect&lang={}", page.lang.other().tag());
    layout(page.lang, page.handle, &switch, &body)
}

/// The page of an identifier this node does not hold (served with 404).
pub fn not_found_page(handle: &str, lang: Lang) -> String {
    let t = lang.text();
    let body = html! {
        h1 { (t.not_found) }
        p { code { (handle) } }
        p { a href={ "/?lang=" (lang.tag()) } { (t.home) } }
    };
    let switch = format!(
        "{}?noredirect&lang={}",
        handle_path(handle),
        lang.other().tag()
    );
    layout(lang, t.not_found, &switch, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(type_name: &str, data: &str) -> ValueRow {
        ValueRow::of(&HandleValue::text(1, type_name, data))
    }

    #[test]
    fn values_are_escaped_and_only_web_addresses_are_links() {
        let values = [
            row("URL", "https://example.cn/p?a=1&b=2"),
            row("DESC", "<script>alert(1)</script>"),
            row("URL", "javascript:alert(1)"),
        ];
        let html = handle_page(&HandlePage {
            handle: "88.118.8/GBX-1",
            values: &values,
            restricted: true,
            lang: Lang::Zh,
        });
        assert!(html.contains("href=\"https://example.cn/p?a=1&amp;b=2\""));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("href=\"javascript:"));
        assert!(html.contains("部分值仅对管理员可见"));
        assert!(html.contains("src=\"/88.118.8/GBX-1?qr=svg\""));
        assert!(html.contains("href=\"/api/handles/88.118.8/GBX-1\""));
    }

    #[test]
    fn binary_and_structured_values_show_their_rest_form() {
        let admin = ValueRow::of(&HandleValue::bytes(2, "BLOB", vec![0, 159, 146, 150]));
        assert_eq!(admin.data, "base64: \"AJ+Slg==\"");
        assert!(!admin.link);
    }

    #[test]
    fn the_landing_page_has_the_prefix_a_search_box_and_the_other_language() {
        let zh = landing(&Landing {
            node_prefix: "88.118",
            lang: Lang::Zh,
        });
        assert!(zh.contains("<html lang=\"zh\">"));
        assert!(zh.contains("name=\"handle\""));
        assert!(zh.contains("88.118.8/GBX-2026-000123"));
        assert!(zh.contains("href=\"/?lang=en\""));
        let en = landing(&Landing {
            node_prefix: "88.118",
            lang: Lang::En,
        });
        assert!(en.contains("Resolve an identifier"));
    }
}
