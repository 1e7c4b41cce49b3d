//! The web console's pages: one frame (navigation, who is signed in, the language switch,
//! the sign-out form), the sign-in page, and the pages of the operator
//! ([`operator`]) and of enterprises ([`enterprise`]). Every form that changes something
//! carries the session's CSRF token; the HTTP front end checks it.

pub mod chart;
pub mod enterprise;
pub mod operator;

use maud::{html, Markup, DOCTYPE};

use crate::pages::head;

use crate::Lang;

/// What every console page shows around its body.
pub struct Frame<'a> {
    /// The page's language.
    pub lang: Lang,
    /// The identity signed in (`300:0.NA/88.118.8`).
    pub who: &'a str,
    /// The operator is signed in (an enterprise otherwise).
    pub operator: bool,
    /// The session's CSRF token, put into every form.
    pub csrf: &'a str,
    /// The page's path (the language switch links to it).
    pub path: &'a str,
    /// The node's prefix.
    pub node_prefix: &'a str,
    /// A message shown at the top (the outcome of the last action).
    pub flash: Option<&'a str>,
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Zen Hei','Microsoft YaHei',sans-serif;\
margin:0;color:#1c2330;background:#f5f7fa}\
nav{display:flex;gap:1.2rem;align-items:center;background:#1f3f68;color:#fff;padding:.6rem 1.2rem;flex-wrap:wrap}\
nav a{color:#fff;text-decoration:none}nav .who{margin-left:auto;font-size:.85rem;opacity:.85}\
nav form{display:inline}nav button{background:none;border:1px solid #fff;color:#fff;padding:.2rem .6rem;cursor:pointer}\
main{max-width:72rem;margin:1.5rem auto;padding:0 1rem}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #d3dae4;padding:.35rem .5rem;\
text-align:left;vertical-align:top}th{background:#eaf0f7}td.wrap{word-break:break-all}\
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.8rem}\
.tile{background:#fff;border:1px solid #d3dae4;padding:.7rem}.tile .v{font-size:1.5rem;font-weight:600}\
.tile .l{color:#5a6474;font-size:.85rem}.flash{background:#fff7d6;border:1px solid #e6c200;padding:.6rem}\
.error{background:#fde8e8;border:1px solid #d33;padding:.6rem}.secret{font-family:monospace;background:#fff;padding:.4rem;border:1px dashed #888}\
form.inline{display:inline}input,select,textarea{font:inherit;padding:.3rem}button{font:inherit;padding:.3rem .8rem;cursor:pointer}\
.charts{margin-top:.8rem;display:grid;grid-template-columns:repeat(auto-fill,minmax(22rem,1fr));gap:.8rem}\
.chart{background:#fff;border:1px solid #d3dae4;padding:.5rem;margin:0}.muted{color:#5a6474}";

/// A hidden CSRF field, for the forms of a page.
pub fn csrf_field(frame: &Frame<'_>) -> Markup {
    html! { input type="hidden" name="csrf" value=(frame.csrf); }
}

/// A page: the frame around `body`.
pub fn page(frame: &Frame<'_>, title: &str, body: &Markup) -> String {
    let l = frame.lang;
    let switch = format!("{}?lang={}", frame.path, l.other().tag());
    html! {
        (DOCTYPE)
        html lang=(l.tag()) {
            (head(&format!("{title} · idnode {}", frame.node_prefix), STYLE))
            body {
                nav {
                    strong { "idnode " (frame.node_prefix) }
                    @if frame.operator {
                        a href="/console" { (l.pick("仪表盘", "Dashboard")) }
                        a href="/console/enterprises" { (l.pick("企业", "Enterprises")) }
                        a href="/console/prefixes" { (l.pick("前缀与标识", "Prefixes")) }
                        a href="/console/audit" { (l.pick("审计日志", "Audit log")) }
                    } @else {
                        a href="/console" { (l.pick("概览", "Overview")) }
                        a href="/console/prefixes" { (l.pick("前缀与标识", "Prefixes")) }
                    }
                    a href="/console/stats" { (l.pick("统计", "Statistics")) }
                    a href="/console/templates" { (l.pick("模板", "Templates")) }
                    a href="/console/trace" { (l.pick("追溯", "Trace")) }
                    a href="/console/credentials" { (l.pick("凭据", "Credentials")) }
                    a href="/console/import" { (l.pick("导入", "Import")) }
                    a href="/" { (l.pick("标识解析", "Resolve")) }
                    a href=(switch) lang=(l.other().tag()) { (l.pick("English", "中文")) }
                    span.who { (frame.who) }
                    form method="post" action="/console/logout" {
                        (csrf_field(frame))
                        button type="submit" { (l.pick("退出", "Sign out")) }
                    }
                }
                main {
                    @if let Some(f) = frame.flash { p.flash role="status" { (f) } }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
    .into_string()
}

/// The page of a refused action: its reason.
pub fn refusal(frame: &Frame<'_>, reason: &str) -> String {
    let title = frame.lang.pick("操作未完成", "Not done");
    page(frame, title, &html! { p.error role="alert" { (reason) } })
}

/// The sign-in page (`error`: why the last attempt failed).
pub fn sign_in(lang: Lang, node_prefix: &str, identity: &str, error: Option<&str>) -> String {
    let l = lang;
    let title = l.pick("登录管理控制台", "Sign in to the console");
    let switch = format!("/console/login?lang={}", l.other().tag());
    html! {
        (DOCTYPE)
        html lang=(l.tag()) {
            (head(&format!("{title} · idnode {node_prefix}"), STYLE))
            body {
                nav {
                    strong { "idnode " (node_prefix) }
                    a href="/" { (l.pick("首页", "Home")) }
                    a href=(switch) lang=(l.other().tag()) { (l.pick("English", "中文")) }
                }
                main {
                    h1 { (title) }
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    form method="post" action="/console/login" {
                        p {
                            label { (l.pick("身份（索引:标识）", "Identity (index:handle)")) br;
                                input type="text" name="identity" value=(identity) required size="40"
                                    placeholder={ "300:0.NA/" (node_prefix) } autocomplete="username"; }
                        }
                        p {
                            label { (l.pick("密钥", "Secret")) br;
                                input type="password" name="secret" required size="40"
                                    autocomplete="current-password"; }
                        }
                        button type="submit" { (l.pick("登录", "Sign in")) }
                    }
                    h2 { (l.pick("使用私钥登录", "Sign in with a private key")) }
                    p.muted { (l.pick(
                        "先用私钥认证一个 Handle.Net REST 会话（POST /api/sessions，再以 HS_PUBKEY 签名 PUT /api/sessions/this；CNRI 的工具和 pyhandle 都这样做），然后在此填入其 sessionId。",
                        "First authenticate a Handle.Net REST session with the private key (POST /api/sessions, then PUT /api/sessions/this with an HS_PUBKEY signature, as CNRI's tools and pyhandle do), then give its sessionId here.")) }
                    form method="post" action="/console/login" {
                        p { label { "sessionId" br;
                            input type="text" name="session_id" required size="40" autocomplete="off"; } }
                        button type="submit" { (l.pick("登录", "Sign in")) }
                    }
                    p.muted { (l.pick(
                        "运营方与企业使用各自的标识身份和密钥登录；会话在一段时间后过期，并且只在登录的地址上有效。",
                        "The operator and enterprises sign in with their identifier identity and secret; a session expires and holds only from the address that signed in.")) }
                }
            }
        }
    }
    .into_string()
}

/// A table of rows of text cells under `heads`.
pub fn table(heads: &[&str], rows: &[Vec<Markup>]) -> Markup {
    html! {
        table {
            thead { tr { @for h in heads { th { (h) } } } }
            tbody { @for r in rows { tr { @for c in r { td.wrap { (c) } } } } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame<'static> {
        Frame {
            lang: Lang::Zh,
            who: "300:0.NA/88.118.8",
            operator: false,
            csrf: "tok<en>",
            path: "/console",
            node_prefix: "88.118",
            flash: Some("<b>saved</b>"),
        }
    }

    #[test]
    fn every_page_carries_the_csrf_token_escaped_in_its_sign_out_form() {
        let html = page(&frame(), "概览", &html! { p { "x" } });
        assert!(html.contains("name=\"csrf\" value=\"tok&lt;en&gt;\""));
        assert!(html.contains("&lt;b&gt;saved&lt;/b&gt;"));
        assert!(html.contains("href=\"/console?lang=en\""));
        assert!(
            !html.contains("/console/enterprises"),
            "enterprises see no operator links"
        );
    }

    #[test]
    fn the_sign_in_page_names_its_fault() {
        let html = sign_in(
            Lang::En,
            "88.118",
            "300:0.NA/x",
            Some("authentication failed"),
        );
        assert!(html.contains("role=\"alert\""));
        assert!(html.contains("value=\"300:0.NA/x\""));
        assert!(html.contains("type=\"password\""));
    }
}
