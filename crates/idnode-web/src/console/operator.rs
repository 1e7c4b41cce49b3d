//! The operator's pages: the dashboard, the enterprises, the audit log.

use maud::{html, Markup};

use super::chart::{bars, lines, Series};
use super::{csrf_field, page, table, Frame};

/// One figure on the dashboard.
pub struct Tile {
    /// What it counts.
    pub label: String,
    /// The figure, formatted.
    pub value: String,
}

/// What the dashboard shows.
pub struct Dashboard {
    /// Figures.
    pub tiles: Vec<Tile>,
    /// Lines over the recent past: (title, unit, series).
    pub lines: Vec<(String, String, Vec<Series>)>,
    /// Bars: (title, bars).
    pub bars: Vec<(String, Vec<(String, f64)>)>,
    /// Tables: (title, heads, rows).
    pub tables: Vec<(String, Vec<String>, Vec<Vec<String>>)>,
}

/// The operator's dashboard.
pub fn dashboard(frame: &Frame<'_>, d: &Dashboard) -> String {
    let body = html! {
        div.tiles {
            @for t in &d.tiles {
                div.tile { div.v { (t.value) } div.l { (t.label) } }
            }
        }
        div.charts {
            @for (title, unit, series) in &d.lines { (lines(title, unit, series)) }
            @for (title, b) in &d.bars { (bars(title, b)) }
        }
        @for (title, heads, rows) in &d.tables {
            h2 { (title) }
            @let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
            @let rows: Vec<Vec<Markup>> = rows.iter()
                .map(|r| r.iter().map(|c| html! { (c) }).collect()).collect();
            (table(&heads, &rows))
        }
    };
    page(frame, frame.lang.pick("仪表盘", "Dashboard"), &body)
}

/// One enterprise in the list.
pub struct EnterpriseRow {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    /// Its prefixes with their review state.
    pub prefixes: Vec<(String, String)>,
    /// When it was onboarded (RFC 3339).
    pub created: String,
    /// Identifiers held, and the allowance (`held / quota`).
    pub identifiers: String,
}

/// The enterprises: the list, suspend/activate buttons, the onboarding form, and the
/// credentials of one just onboarded (shown once).
pub fn enterprises(
    frame: &Frame<'_>,
    rows: &[EnterpriseRow],
    onboarded: Option<(&str, &str)>,
) -> String {
    let l = frame.lang;
    let body = html! {
        @if let Some((identity, secret)) = onboarded {
            div.flash role="status" {
                p { (l.pick("企业已接入。请把下面的身份和密钥交给企业；密钥只显示这一次。",
                    "The enterprise is onboarded. Give it the identity and secret below; the secret is shown only this once.")) }
                p { (l.pick("身份", "Identity")) ": " span.secret #identity { (identity) } }
                p { (l.pick("密钥", "Secret")) ": " span.secret #secret { (secret) } }
            }
        }
        h2 { (l.pick("接入企业", "Onboard an enterprise")) }
        form method="post" action="/console/enterprises" {
            (csrf_field(frame))
            label { (l.pick("企业名称", "Name")) " " input type="text" name="name" required maxlength="200"; }
            " "
            label { (l.pick("前缀", "Prefix")) " " input type="text" name="prefix" required
                placeholder={ (frame.node_prefix) ".8" }; }
            " "
            button type="submit" { (l.pick("接入", "Onboard")) }
        }
        h2 { (l.pick("企业列表", "Enterprises")) }
        @let heads = [l.pick("编号", "Id"), l.pick("名称", "Name"), l.pick("状态", "Status"),
            l.pick("前缀（审核）", "Prefixes (review)"), l.pick("标识 / 配额", "Identifiers / quota"),
            l.pick("接入时间", "Onboarded"), ""];
        @let body_rows: Vec<Vec<Markup>> = rows.iter().map(|e| {
            let active = e.status == "active";
            vec![
                html! { (e.id) },
                html! { (e.name) },
                html! { (if active { l.pick("正常", "active") } else { l.pick("已暂停", "suspended") }) },
                html! { @for (p, r) in &e.prefixes { a href={ "/console/prefixes/" (p) } { (p) } " (" (r) ") " } },
                html! { (e.identifiers) },
                html! { (e.created) },
                html! {
                    form.inline method="post" action={ "/console/enterprises/" (e.id) "/status" } {
                        (csrf_field(frame))
                        @if active {
                            input type="hidden" name="status" value="suspended";
                            button type="submit" { (l.pick("暂停", "Suspend")) }
                        } @else {
                            input type="hidden" name="status" value="active";
                            button type="submit" { (l.pick("启用", "Activate")) }
                        }
                    }
                },
            ]
        }).collect();
        (table(&heads, &body_rows))
    };
    page(frame, l.pick("企业", "Enterprises"), &body)
}

/// One audit log entry as shown.
pub struct AuditRow {
    /// Its sequence number.
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: String,
    /// From where.
    pub origin: String,
    /// What: `action subject` per operation.
    pub what: String,
    /// Its chain hash, hex.
    pub hash: String,
}

/// A page of the audit log, newest first; `older` links to the next page.
pub fn audit(frame: &Frame<'_>, rows: &[AuditRow], algorithm: &str, older: Option<i64>) -> String {
    let l = frame.lang;
    let body = html! {
        p.muted { (l.pick("每个写操作和管理操作都记入日志，并以哈希链相连（算法：",
            "Every write and administrative action is logged, hash-chained (algorithm: ")) (algorithm)
            (l.pick("）。用 idnode audit verify 校验整条链。", "). Check the whole chain with idnode audit verify.")) }
        @let heads = [l.pick("序号", "Seq"), l.pick("时间", "When"), l.pick("操作者", "Who"),
            l.pick("来源", "From"), l.pick("内容", "What"), l.pick("链哈希", "Chain hash")];
        @let body_rows: Vec<Vec<Markup>> = rows.iter().map(|r| vec![
            html! { (r.seq) }, html! { (r.at) }, html! { (r.actor) }, html! { (r.origin) },
            html! { (r.what) }, html! { code { (r.hash.get(..16).unwrap_or(&r.hash)) "…" } },
        ]).collect();
        (table(&heads, &body_rows))
        @if let Some(before) = older {
            p { a href={ "/console/audit?before=" (before) } { (l.pick("更早的记录", "Older entries")) } }
        }
    };
    page(frame, l.pick("审计日志", "Audit log"), &body)
}

/// The statistics page: per day and prefix (rows of text: day, prefix, created, updated,
/// deleted, resolutions, by outcome, distinct clients), with a CSV download.
pub fn stats(frame: &Frame<'_>, rows: &[Vec<String>]) -> String {
    let l = frame.lang;
    let heads = [
        l.pick("日期", "Day"),
        l.pick("前缀", "Prefix"),
        l.pick("注册", "Created"),
        l.pick("更新", "Updated"),
        l.pick("删除", "Deleted"),
        l.pick("解析", "Resolutions"),
        l.pick("按前端和结果", "By front end and outcome"),
        l.pick("独立客户端", "Distinct clients"),
    ];
    let cells: Vec<Vec<Markup>> = rows
        .iter()
        .map(|r| r.iter().map(|c| html! { (c) }).collect())
        .collect();
    let body = html! {
        p.muted { (l.pick("近 30 天，按日期和前缀；独立客户端为 HyperLogLog 估计（约 ±2.3%）。",
            "The last 30 days by day and prefix; distinct clients are a HyperLogLog estimate (about ±2.3 %).")) }
        p { a href="/console/stats.csv" download { (l.pick("下载 CSV", "Download CSV")) } }
        (table(&heads, &cells))
    };
    page(frame, l.pick("统计", "Statistics"), &body)
}
