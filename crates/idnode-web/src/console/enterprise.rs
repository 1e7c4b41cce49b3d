//! The pages of an enterprise's data (the operator sees every enterprise's): prefixes,
//! identifiers, one identifier with its history and its edit form, a new identifier,
//! imports.

use maud::{html, Markup};

use super::{csrf_field, page, table, Frame};
use crate::{handle_path, ValueRow};

/// One prefix in the list.
pub struct PrefixRow {
    /// The prefix.
    pub prefix: String,
    /// Its enterprise's name (the operator's view).
    pub enterprise: String,
    /// `active`, `suspended`…
    pub status: String,
    /// Its review at the top-level node.
    pub review: String,
}

/// The prefixes the signed-in party may manage.
pub fn prefixes(frame: &Frame<'_>, rows: &[PrefixRow]) -> String {
    let l = frame.lang;
    let heads = [
        l.pick("前缀", "Prefix"),
        l.pick("企业", "Enterprise"),
        l.pick("状态", "Status"),
        l.pick("顶级节点审核", "Top-level review"),
    ];
    let body_rows: Vec<Vec<Markup>> = rows
        .iter()
        .map(|p| {
            vec![
                html! { a href={ "/console/prefixes/" (p.prefix) } { (p.prefix) } },
                html! { (p.enterprise) },
                html! { (p.status) },
                html! { (p.review) },
            ]
        })
        .collect();
    let body = table(&heads, &body_rows);
    page(
        frame,
        l.pick("前缀与标识", "Prefixes and identifiers"),
        &body,
    )
}

/// One page of a prefix's identifiers.
pub struct IdentifierList<'a> {
    /// The prefix.
    pub prefix: &'a str,
    /// Identifiers under it.
    pub total: u64,
    /// This page's identifiers.
    pub handles: &'a [String],
    /// The page number (from 0).
    pub page: u64,
    /// There is a next page.
    pub more: bool,
    /// A search by value: the text, identifiers looked at, whether that was all of them.
    pub search: Option<(&'a str, u64, bool)>,
}

/// A prefix's identifiers: search, list, new, export.
pub fn identifiers(frame: &Frame<'_>, list: &IdentifierList<'_>) -> String {
    let l = frame.lang;
    let p = list.prefix;
    let body = html! {
        form method="get" action={ "/console/prefixes/" (p) } role="search" {
            label { (l.pick("按后缀查找", "Find by suffix")) " " code { (p) "/" }
                input type="text" name="suffix" required; }
            " " button type="submit" { (l.pick("查找", "Find")) }
        }
        form method="get" action={ "/console/prefixes/" (p) } role="search" {
            label { (l.pick("按值查找", "Find by value")) " "
                input type="text" name="value" required value=(list.search.map_or("", |s| s.0)); }
            " " button type="submit" { (l.pick("查找", "Find")) }
        }
        @if let Some((text, scanned, complete)) = list.search {
            p.muted #search-note { (l.pick("含有 ", "Identifiers with a value containing ")) code { (text) }
                (l.pick(" 的标识：", ": ")) (list.handles.len())
                @if !complete { (l.pick("（只查看了前 ", " (only the first ")) (scanned)
                    (l.pick(" 个标识；请缩小范围）", " identifiers were looked at: narrow the search)")) } }
        }
        p {
            a href={ "/console/new?prefix=" (p) } { (l.pick("注册新标识", "Register an identifier")) }
            " · " a href={ "/console/import?prefix=" (p) } { (l.pick("导入 CSV/JSONL", "Import CSV/JSONL")) }
            " · " a href={ "/console/export?prefix=" (p) } download { (l.pick("导出 JSONL", "Export JSONL")) }
        }
        @if list.search.is_none() {
            p.muted { (l.pick("共 ", "")) strong #total { (list.total) } (l.pick(" 个标识", " identifiers")) }
        }
        ul {
            @for h in list.handles {
                li { a href={ "/console/identifiers" (handle_path(h)) } { (h) } }
            }
        }
        p {
            @if list.page > 0 { a href={ "/console/prefixes/" (p) "?page=" (list.page - 1) } { "← " (l.pick("上一页", "Previous")) } " " }
            @if list.more { a href={ "/console/prefixes/" (p) "?page=" (list.page + 1) } { (l.pick("下一页", "Next")) " →" } }
        }
    };
    page(frame, &format!("{} {p}", l.pick("前缀", "Prefix")), &body)
}

/// One value of an identifier as the console shows it.
pub struct ValueLine {
    /// The value.
    pub row: ValueRow,
    /// The template item it belongs to.
    pub item: Option<String>,
    /// A text value the form edits (others are kept as they are).
    pub editable: bool,
}

/// One change in an identifier's history.
pub struct HistoryLine {
    /// When (RFC 3339).
    pub at: String,
    /// `create`, `update`, `delete`.
    pub action: String,
    /// Who.
    pub actor: String,
    /// Its values after the change, as REST JSON.
    pub values: String,
}

/// An identifier: its values (with template item names), the edit form, delete, history.
pub fn identifier(
    frame: &Frame<'_>,
    handle: &str,
    template: Option<&str>,
    values: &[ValueLine],
    history: &[HistoryLine],
) -> String {
    let l = frame.lang;
    let path = handle_path(handle);
    let body = html! {
        p {
            a href={ (path) "?noredirect" } { (l.pick("公开页面", "Public page")) }
            " · " a href={ (path) "?qr=png" } { (l.pick("二维码", "QR code")) }
            @if let Some(t) = template { " · " (l.pick("模板版本 ", "Template version ")) code { (t) } }
        }
        h2 { (l.pick("值", "Values")) }
        @let heads = [l.pick("索引", "Index"), l.pick("类型", "Type"), l.pick("模板项", "Template item"), l.pick("数据", "Data"), l.pick("时间戳", "Timestamp")];
        @let rows: Vec<Vec<Markup>> = values.iter().map(|v| vec![
            html! { (v.row.index) }, html! { (v.row.type_name) },
            html! { (v.item.as_deref().unwrap_or("")) }, html! { (v.row.data) }, html! { (v.row.timestamp) },
        ]).collect();
        (table(&heads, &rows))
        h2 { (l.pick("修改", "Edit")) }
        p.muted { (l.pick("修改文本值，或在空行中添加新值；类型留空的行被删除。管理员值和密钥保持不变。",
            "Change text values or add new ones in the blank rows; a row whose type is cleared is removed. Admin values and keys are kept.")) }
        form method="post" action={ "/console/identifiers" (path) } {
            (csrf_field(frame))
            input type="hidden" name="action" value="save";
            (value_rows(frame, values.iter().filter(|v| v.editable).map(|v| &v.row)))
            button type="submit" { (l.pick("保存", "Save")) }
        }
        form method="post" action={ "/console/identifiers" (path) } {
            (csrf_field(frame))
            input type="hidden" name="action" value="delete";
            p { label { input type="checkbox" name="confirm" value="yes" required;
                (l.pick(" 确认删除该标识", " I want to delete this identifier")) } " "
                button type="submit" { (l.pick("删除", "Delete")) } }
        }
        h2 { (l.pick("历史", "History")) }
        @let heads = [l.pick("时间", "When"), l.pick("操作", "Change"), l.pick("操作者", "Who"), l.pick("之后的值", "Values after")];
        @let rows: Vec<Vec<Markup>> = history.iter().map(|h| vec![
            html! { (h.at) }, html! { (h.action) }, html! { (h.actor) }, html! { code { (h.values) } },
        ]).collect();
        (table(&heads, &rows))
    };
    page(frame, handle, &body)
}

/// Editable rows (index, type, text) for `rows` and three blank ones.
fn value_rows<'a>(frame: &Frame<'_>, rows: impl Iterator<Item = &'a ValueRow>) -> Markup {
    let l = frame.lang;
    html! {
        table {
            thead { tr { th { (l.pick("索引", "Index")) } th { (l.pick("类型", "Type")) } th { (l.pick("数据", "Data")) } } }
            tbody {
                @for r in rows {
                    tr {
                        td { input type="number" name="index" value=(r.index) min="1" max="4294967295" size="6"; }
                        td { input type="text" name="type" value=(r.type_name) size="12"; }
                        td { input type="text" name="data" value=(r.data) size="60"; }
                    }
                }
                @for _ in 0..3 {
                    tr {
                        td { input type="number" name="index" min="1" max="4294967295" size="6"; }
                        td { input type="text" name="type" size="12"; }
                        td { input type="text" name="data" size="60"; }
                    }
                }
            }
        }
    }
}

/// The form of a new identifier under `prefix` (`error`: why the last attempt failed).
pub fn new_identifier(
    frame: &Frame<'_>,
    prefix: &str,
    suffix: &str,
    error: Option<&str>,
) -> String {
    let l = frame.lang;
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form method="post" action="/console/new" {
            (csrf_field(frame))
            input type="hidden" name="prefix" value=(prefix);
            p { label { (l.pick("标识", "Identifier")) " " code { (prefix) "/" }
                input type="text" name="suffix" value=(suffix) required size="40"; } }
            (value_rows(frame, std::iter::empty()))
            button type="submit" { (l.pick("注册", "Register")) }
        }
    };
    page(frame, l.pick("注册新标识", "Register an identifier"), &body)
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportOutcome {
    /// Identifiers created, updated, already as imported.
    pub written: Option<(usize, usize, usize)>,
    /// (line, handle, what is wrong) of every faulty line: nothing was written.
    pub faults: Vec<(usize, String, String)>,
}

/// An import under way: lines checked of all, then writing (the page reloads itself).
pub fn import_progress(frame: &Frame<'_>, lines: usize, checked: usize, writing: bool) -> String {
    let l = frame.lang;
    let body = html! {
        p #progress role="status" {
            @if writing { (l.pick("全部 ", "All ")) (lines) (l.pick(" 行已检查，正在一个事务中写入……", " lines checked; writing them in one transaction…")) }
            @else { (l.pick("正在检查：", "Checking: ")) (checked) " / " (lines) (l.pick(" 行", " lines")) }
        }
        progress max=(lines.max(1)) value=(if writing { lines } else { checked }) {}
        p.muted { (l.pick("本页每秒刷新一次。", "This page reloads every second.")) }
    };
    page(frame, l.pick("导入标识", "Import identifiers"), &body)
}

/// The import form and, after an upload, its outcome.
pub fn import(frame: &Frame<'_>, prefix: &str, outcome: Option<&ImportOutcome>) -> String {
    let l = frame.lang;
    let body = html! {
        @if let Some(o) = outcome {
            @if let Some((c, u, s)) = o.written {
                p.flash role="status" #outcome { (l.pick("导入完成：新建 ", "Imported: created ")) (c)
                    (l.pick("，更新 ", ", updated ")) (u) (l.pick("，未变 ", ", unchanged ")) (s) }
            } @else {
                div.error role="alert" #outcome {
                    p { (o.faults.len()) (l.pick(" 处错误，未写入任何数据。", " fault(s): nothing was written.")) }
                    @let heads = [l.pick("行", "Line"), l.pick("标识", "Identifier"), l.pick("错误", "Fault")];
                    @let rows: Vec<Vec<Markup>> = o.faults.iter().map(|(n, h, m)| vec![
                        html! { (n) }, html! { (h) }, html! { (m) },
                    ]).collect();
                    (table(&heads, &rows))
                }
            }
        }
        p.muted { (l.pick(
            "CSV：表头 handle,index,type,data（可选 format、permissions、ttl），每行一个值；JSONL：每行一个 {\"handle\":…,\"values\":[…]}。整份文件在一个事务中写入：有一行出错则全部不写。",
            "CSV: a header handle,index,type,data (optional format, permissions, ttl), one value per row; JSONL: one {\"handle\":…,\"values\":[…]} per line. The whole file is written in one transaction: one faulty line and nothing is written.")) }
        form method="post" action={ "/console/import?prefix=" (prefix) } enctype="multipart/form-data" {
            (csrf_field(frame))
            p { input type="file" name="file" accept=".csv,.jsonl,.json,text/csv" required; }
            button type="submit" { (l.pick("导入", "Import")) }
        }
    };
    page(frame, l.pick("导入标识", "Import identifiers"), &body)
}

/// The credentials page: the identity signed in, and a new secret just made (shown once).
pub fn credentials(frame: &Frame<'_>, new_secret: Option<&str>) -> String {
    let l = frame.lang;
    let body = html! {
        p { (l.pick("身份", "Identity")) ": " code #identity { (frame.who) } }
        @if let Some(secret) = new_secret {
            div.flash role="status" {
                p { (l.pick("新密钥已生效，旧密钥及其所有会话和令牌已失效。请妥善保存；它只显示这一次。",
                    "The new secret is in force; the old one, its sessions and its tokens no longer work. Keep it safe: it is shown only this once.")) }
                p { span.secret #secret { (secret) } }
                p { a href="/console/login" { (l.pick("用新密钥登录", "Sign in with the new secret")) } }
            }
        } @else {
            h2 { (l.pick("更换密钥", "Rotate the secret")) }
            p.muted { (l.pick("生成新的随机密钥；旧密钥、用它签发的令牌和控制台会话（包括当前会话）立即失效。",
                "Makes a new random secret; the old one, the tokens and console sessions issued under it (this one included) stop working at once.")) }
            form method="post" action="/console/credentials" {
                (csrf_field(frame))
                label { input type="checkbox" name="confirm" value="yes" required;
                    (l.pick(" 确认更换", " I want a new secret")) }
                " " button type="submit" { (l.pick("更换密钥", "Rotate")) }
            }
            h2 { (l.pick("上传公钥", "Upload a public key")) }
            p.muted { (l.pick(
                "上传 CNRI hdl-keygen 生成的公钥文件（Handle 二进制格式），或 PEM 格式的 PUBLIC KEY（RSA 2048 位以上、P-256 或 SM2）。公钥存为身份标识的 HS_PUBKEY 值，之后可用对应私钥通过 Handle 协议、REST 会话或本控制台登录。",
                "Upload the public key file CNRI's hdl-keygen writes (Handle binary form), or a PEM PUBLIC KEY (RSA of 2048 bits or more, P-256 or SM2). It is stored as an HS_PUBKEY value of the identity handle; the private key then signs in over the Handle protocol, a REST session or this console.")) }
            form method="post" action="/console/credentials/key" enctype="multipart/form-data" {
                (csrf_field(frame))
                input type="file" name="file" required;
                " " button type="submit" { (l.pick("上传", "Upload")) }
            }
        }
    };
    page(frame, l.pick("凭据", "Credentials"), &body)
}

/// The page after a public key was added: the identity it signs in as.
pub fn key_added(frame: &Frame<'_>, identity: &str) -> String {
    let l = frame.lang;
    let body = html! {
        p.flash role="status" { (l.pick("公钥已添加。用对应私钥登录的身份：", "The public key is added. Its private key signs in as: "))
            code #key-identity { (identity) } }
        p { a href="/console/credentials" { (l.pick("返回凭据", "Back to credentials")) } }
    };
    page(frame, l.pick("凭据", "Credentials"), &body)
}

/// A trace graph as the page draws it.
pub struct TraceView {
    /// Identifiers reached, the root first: (key, depth).
    pub nodes: Vec<(String, u32)>,
    /// (from node, to node, kind, events behind it).
    pub edges: Vec<(usize, usize, String, usize)>,
    /// A limit cut the trace short.
    pub truncated: bool,
}

/// The trace page: a form (identifier, direction) and the graph as SVG, nodes in columns
/// by their distance from the root.
pub fn trace(frame: &Frame<'_>, asked: &str, forward: bool, graph: Option<&TraceView>) -> String {
    let l = frame.lang;
    let body = html! {
        form method="get" action="/console/trace" {
            label { (l.pick("标识或 EPC", "Identifier or EPC")) " "
                input type="text" name="epc" value=(asked) required size="50"
                    placeholder="hdl:88.118.8/GBX-2026-000123"; }
            " "
            select name="direction" {
                option value="back" selected[!forward] { (l.pick("向前追溯（原料）", "Trace back (inputs)")) }
                option value="forward" selected[forward] { (l.pick("向后追踪（去向）", "Trace forward (where it went)")) }
            }
            " " button type="submit" { (l.pick("追溯", "Trace")) }
        }
        @if let Some(g) = graph {
            @if g.nodes.len() <= 1 {
                p.muted #trace-empty { (l.pick("没有可见的关联事件。", "No visible events link it to anything.")) }
            } @else {
                (draw(g))
                @if g.truncated { p.muted { (l.pick("已达到深度或节点上限，图不完整。", "A depth or node limit cut the trace short.")) } }
            }
        }
    };
    page(frame, l.pick("追溯", "Traceability"), &body)
}

/// The graph as SVG: one column per depth, edges coloured by kind.
fn draw(g: &TraceView) -> Markup {
    const COL: f64 = 260.0;
    const ROW: f64 = 44.0;
    let mut rows: Vec<usize> = Vec::new();
    let pos: Vec<(f64, f64)> = g
        .nodes
        .iter()
        .map(|(_, d)| {
            let d = *d as usize;
            if rows.len() <= d {
                rows.resize(d + 1, 0);
            }
            rows[d] += 1;
            (10.0 + COL * d as f64, 10.0 + ROW * (rows[d] - 1) as f64)
        })
        .collect();
    let width = 10.0 + COL * rows.len() as f64;
    let height = 20.0 + ROW * rows.iter().copied().max().unwrap_or(1) as f64;
    let colour = |kind: &str| match kind {
        "aggregation" => "#1f5fa8",
        "transformation" => "#d9822b",
        _ => "#2e9e5b",
    };
    let short = |id: &str| {
        let s: String = id
            .chars()
            .rev()
            .take(34)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if s.len() < id.len() {
            format!("…{s}")
        } else {
            s
        }
    };
    html! {
        svg #trace-graph xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } role="img" {
            @for (a, b, kind, n) in &g.edges {
                @if let (Some(p), Some(q)) = (pos.get(*a), pos.get(*b)) {
                    line x1=(p.0 + 220.0) y1=(p.1 + 14.0) x2=(q.0) y2=(q.1 + 14.0) stroke=(colour(kind)) stroke-width="1.5" {
                        title { (kind) " (" (n) ")" }
                    }
                }
            }
            @for (i, (id, _)) in g.nodes.iter().enumerate() {
                @let (x, y) = pos[i];
                g {
                    rect x=(x) y=(y) width="220" height="28" rx="4" fill=(if i == 0 { "#fff7d6" } else { "#fff" }) stroke="#8a94a6" {}
                    text x=(x + 6.0) y=(y + 18.0) font-size="11" { title { (id) } (short(id)) }
                }
            }
        }
        p.muted {
            span style="color:#1f5fa8" { "━ aggregation " }
            span style="color:#d9822b" { "━ transformation " }
            span style="color:#2e9e5b" { "━ association" }
        }
    }
}

/// One template version as the templates page shows it.
pub struct TemplateRow {
    /// Its version.
    pub version: String,
    /// Its description.
    pub description: String,
    /// Its items: name and value type.
    pub items: Vec<(String, String)>,
    /// Identifiers naming it now.
    pub identifiers: i64,
    /// Writes checked against it.
    pub writes: i64,
}

/// The templates of `prefix` and their adoption; `prefixes` to choose another.
pub fn templates(
    frame: &Frame<'_>,
    prefix: &str,
    prefixes: &[String],
    required: bool,
    rows: &[TemplateRow],
) -> String {
    let l = frame.lang;
    let heads = [
        l.pick("版本", "Version"),
        l.pick("说明", "Description"),
        l.pick("模板项（值类型）", "Items (value type)"),
        l.pick("使用它的标识", "Identifiers using it"),
        l.pick("按它校验的写入", "Writes checked"),
    ];
    let cells: Vec<Vec<Markup>> = rows
        .iter()
        .map(|t| {
            vec![
                html! { code { (t.version) } },
                html! { (t.description) },
                html! { @for (name, kind) in &t.items { (name) " (" (kind) ") " br; } },
                html! { (t.identifiers) },
                html! { (t.writes) },
            ]
        })
        .collect();
    let body = html! {
        form method="get" action="/console/templates" {
            label { (l.pick("前缀", "Prefix")) " "
                select name="prefix" {
                    @for p in prefixes { option value=(p) selected[p == prefix] { (p) } }
                }
            }
            " " button type="submit" { (l.pick("查看", "Show")) }
        }
        p.muted {
            @if required { (l.pick("该前缀下的每个标识都必须声明模板版本（值 1001）。", "Every identifier under this prefix must name a template version (value 1001).")) }
            @else { (l.pick("该前缀下的标识可以不使用模板。", "Identifiers under this prefix need not use a template.")) }
            " " (l.pick("模板通过管理接口 /api/v1/templates、SNMS 接口或 idnode template define 定义。",
                "Templates are defined through /api/v1/templates, the SNMS API or idnode template define."))
        }
        (table(&heads, &cells))
    };
    page(
        frame,
        &format!("{} {prefix}", l.pick("元数据模板", "Metadata templates")),
        &body,
    )
}
