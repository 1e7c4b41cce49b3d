//! Browser pages of idnode, rendered without I/O: the landing page, an identifier's public
//! values as a page (as Handle.Net's proxy shows them with `?noredirect`), and QR codes of
//! resolution URLs (PNG and SVG). Chinese by default, English a click away ([`Lang`]).
//! The HTTP front end (`idnode-http`) decides when a page is asked for and serves it.

pub mod console;
mod i18n;
mod pages;
mod qr;

pub use i18n::Lang;
pub use pages::{handle_page, landing, not_found_page, HandlePage, Landing, ValueRow};
pub use qr::{qr_png, qr_svg};

/// What can go wrong making a page or a code.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The text does not fit in a QR code (over 2,953 bytes at the lowest error correction).
    #[error("too long for a QR code: {0}")]
    QrTooLong(String),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// The path under which a browser resolves `handle` on this node: `/` and the handle, with
/// every byte a path segment may not hold percent-encoded (its `/` kept, as Handle.Net's
/// proxy writes it).
pub fn handle_path(handle: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
    const SEGMENT: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'[')
        .add(b'\\')
        .add(b']')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    format!("/{}", utf8_percent_encode(handle, SEGMENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_paths_keep_the_slash_and_encode_the_rest() {
        assert_eq!(handle_path("88.118.8/GBX-1"), "/88.118.8/GBX-1");
        assert_eq!(
            handle_path("88.118.8/a b?c#d%"),
            "/88.118.8/a%20b%3Fc%23d%25"
        );
        assert_eq!(handle_path("88.118.8/零件"), "/88.118.8/%E9%9B%B6%E4%BB%B6");
    }
}
