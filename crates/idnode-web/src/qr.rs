//! QR codes of resolution URLs, for printing on products: SVG (scalable) and PNG
//! (grey-scale, 8 pixels a module), both with the standard's four-module quiet zone.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use crate::WebError;

/// Pixels per module of a PNG code.
const SCALE: usize = 8;
/// Modules of light border on each side (ISO/IEC 18004).
const QUIET: usize = 4;

/// Medium error correction (15 %): survives wear on a printed label, keeps codes small.
fn code(text: &str) -> Result<QrCode, WebError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| WebError::QrTooLong(e.to_string()))
}

/// The QR code of `text` as an SVG document.
pub fn qr_svg(text: &str) -> Result<String, WebError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(256, 256)
        .build())
}

/// The QR code of `text` as a PNG image.
pub fn qr_png(text: &str) -> Result<Vec<u8>, WebError> {
    let code = code(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (x0, y0) = ((i % modules + QUIET) * SCALE, (i / modules + QUIET) * SCALE);
        for row in pixels.chunks_exact_mut(side).skip(y0).take(SCALE) {
            row[x0..x0 + SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).map_err(|e| WebError::Png(e.to_string()))?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| WebError::Png(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| WebError::Png(e.to_string()))?;
    writer.finish().map_err(|e| WebError::Png(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_codes_decode_to_their_modules() {
        let url = "https://id.example.cn/88.118.8/GBX-2026-000123";
        let bytes = qr_png(url).unwrap();
        let decoder = png::Decoder::new(bytes.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let code = code(url).unwrap();
        let modules = code.width();
        assert_eq!(info.width as usize, (modules + 2 * QUIET) * SCALE);
        // Every module's centre pixel has the module's colour; the quiet zone is light.
        let side = info.width as usize;
        for (i, c) in code.to_colors().iter().enumerate() {
            let x = (i % modules + QUIET) * SCALE + SCALE / 2;
            let y = (i / modules + QUIET) * SCALE + SCALE / 2;
            assert_eq!(buf[y * side + x] == 0, *c == Color::Dark, "module {i}");
        }
        assert!(buf[..side * QUIET * SCALE].iter().all(|p| *p == 255));
        // An independent decoder reads the URL back.
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| buf[y * side + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        assert_eq!(grids[0].decode().unwrap().1, url);
    }

    #[test]
    fn svg_codes_are_svg_and_overlong_text_is_refused() {
        let svg = qr_svg("https://id.example.cn/88.118.8/X").unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        assert!(matches!(
            qr_png(&"x".repeat(5000)),
            Err(WebError::QrTooLong(_))
        ));
    }
}
