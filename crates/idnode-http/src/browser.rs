//! What a browser gets: the landing page at `/` (a `?handle=` search goes on to that
//! identifier's page), an identifier's public values as a page (`/{handle}?noredirect`, or
//! any `text/html` request for an identifier without a URL value, as Handle.Net's proxy
//! does), and its QR code (`?qr`, `?qr=png`, `?qr=svg`). Pages come from `idnode-web`;
//! `?lang=en` switches them to English.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use idnode_resolver::Entry;
use idnode_web::{HandlePage, Landing, Lang, ValueRow};

use crate::AppState;

/// The browser-facing parameters of a request's query string.
#[derive(Default)]
pub(crate) struct Asks {
    /// `noredirect`: the values page instead of the redirect.
    pub(crate) noredirect: bool,
    /// `qr` / `qr=png` / `qr=svg`: the QR code (PNG unless `svg`).
    pub(crate) qr: Option<QrFormat>,
    /// `lang=en|zh`.
    pub(crate) lang: Lang,
    /// `handle=…` (the landing page's search box), percent-decoded.
    pub(crate) handle: Option<String>,
}

/// A QR code's image format.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum QrFormat {
    Png,
    Svg,
}

impl Asks {
    pub(crate) fn of(uri: &Uri) -> Self {
        let mut asks = Self::default();
        let query = uri.query().unwrap_or_default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "noredirect" => asks.noredirect = true,
                "qr" => {
                    asks.qr = Some(if value.eq_ignore_ascii_case("svg") {
                        QrFormat::Svg
                    } else {
                        QrFormat::Png
                    })
                }
                "lang" => asks.lang = Lang::from_param(Some(&value)),
                "handle" => asks.handle = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        asks
    }

    /// Whether the answer is a page: `noredirect` was asked for, or the request accepts
    /// `text/html` (browsers do).
    pub(crate) fn page(&self, headers: &HeaderMap) -> bool {
        self.noredirect
            || headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/html"))
    }
}

fn html(status: StatusCode, page: String) -> Response {
    let mut r = (status, page).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// `GET /`: the landing page, or the identifier a search asked for.
pub(crate) async fn landing(State(s): State<AppState>, uri: Uri) -> Response {
    let asks = Asks::of(&uri);
    if let Some(handle) = asks.handle.filter(|h| !h.is_empty()) {
        let to = format!(
            "{}?noredirect&lang={}",
            idnode_web::handle_path(&handle),
            asks.lang.tag()
        );
        return Redirect::to(&to).into_response();
    }
    let page = idnode_web::landing(&Landing {
        node_prefix: s.0.registry.node_prefix(),
        lang: asks.lang,
    });
    html(StatusCode::OK, page)
}

/// The values page of `entry`.
pub(crate) fn values_page(entry: &Entry, lang: Lang) -> Response {
    let rows: Vec<ValueRow> = entry.values().iter().map(ValueRow::of).collect();
    html(
        StatusCode::OK,
        idnode_web::handle_page(&HandlePage {
            handle: &entry.handle,
            values: &rows,
            restricted: entry.restricted,
            lang,
        }),
    )
}

/// The page of an identifier this node does not hold.
pub(crate) fn not_found_page(handle: &str, lang: Lang) -> Response {
    html(
        StatusCode::NOT_FOUND,
        idnode_web::not_found_page(handle, lang),
    )
}

/// The QR code of the URL at which `entry` resolves through this node: the scheme the
/// request came in by (`X-Forwarded-Proto: https` behind a TLS proxy), its `Host`, the
/// identifier's path.
pub(crate) fn qr(entry: &Entry, headers: &HeaderMap, format: QrFormat) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', '@', ' ']))
        .unwrap_or("localhost");
    let scheme = if crate::over_tls(headers) {
        "https"
    } else {
        "http"
    };
    let url = format!(
        "{scheme}://{host}{}",
        idnode_web::handle_path(&entry.handle)
    );
    let made = match format {
        QrFormat::Svg => idnode_web::qr_svg(&url).map(|s| ("image/svg+xml", s.into_bytes())),
        QrFormat::Png => idnode_web::qr_png(&url).map(|p| ("image/png", p)),
    };
    match made {
        Ok((kind, bytes)) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            r
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}
