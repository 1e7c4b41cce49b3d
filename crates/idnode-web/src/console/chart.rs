//! Charts drawn on the server as SVG: lines over time and bars per label.

use maud::{html, Markup};

/// Colours of successive series.
const COLOURS: [&str; 6] = [
    "#1f5fa8", "#d9822b", "#2e9e5b", "#b8336a", "#6b5ca5", "#7a7a7a",
];
const W: f64 = 360.0;
const H: f64 = 140.0;
const PAD: f64 = 28.0;

/// One named series of a line chart.
pub struct Series {
    /// Its name (the legend).
    pub name: String,
    /// Its values, oldest first, evenly spaced.
    pub points: Vec<f64>,
}

fn scale(max: f64) -> f64 {
    if max > 0.0 && max.is_finite() {
        max
    } else {
        1.0
    }
}

fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A line chart of `series` titled `title` (`unit` after the top value).
pub fn lines(title: &str, unit: &str, series: &[Series]) -> Markup {
    let n = series.iter().map(|s| s.points.len()).max().unwrap_or(0);
    let max = scale(
        series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .fold(0.0, f64::max),
    );
    let x = |i: usize| PAD + (W - PAD - 4.0) * i as f64 / (n.max(2) - 1) as f64;
    let y = |v: f64| H - 16.0 - (H - 26.0) * (v / max).clamp(0.0, 1.0);
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(title) {
                line x1=(PAD) y1=(y(0.0)) x2=(W - 4.0) y2=(y(0.0)) stroke="#aab" {}
                text x="2" y="14" font-size="10" fill="#556" { (short(max)) " " (unit) }
                text x="2" y=(y(0.0)) font-size="10" fill="#556" { "0" }
                @for (k, s) in series.iter().enumerate() {
                    @let pts: Vec<String> = s.points.iter().enumerate()
                        .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect();
                    polyline points=(pts.join(" ")) fill="none" stroke=(COLOURS[k % COLOURS.len()]) stroke-width="1.6" {}
                    text x=(PAD + 70.0 * k as f64) y=(H - 2.0) font-size="10" fill=(COLOURS[k % COLOURS.len()]) { (s.name) }
                }
            }
        }
    }
}

/// A bar chart: one bar per (label, value).
pub fn bars(title: &str, bars: &[(String, f64)]) -> Markup {
    let max = scale(bars.iter().map(|b| b.1).fold(0.0, f64::max));
    let n = bars.len().max(1) as f64;
    let slot = (W - PAD) / n;
    // Labels that fit: every `step`th bar's (about seven in all).
    let step = bars.len().div_ceil(7).max(1);
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(title) {
                @for (i, (label, v)) in bars.iter().enumerate() {
                    @let h = (H - 30.0) * (v / max).clamp(0.0, 1.0);
                    @let x0 = PAD + slot * i as f64;
                    rect x=(x0 + 1.0) y=(H - 16.0 - h) width=((slot - 2.0).max(1.0)) height=(h) fill=(COLOURS[0]) {
                        title { (label) ": " (v) }
                    }
                    @if *v > 0.0 { text x=(x0 + 1.0) y=(H - 18.0 - h) font-size="9" fill="#223" { (short(*v)) } }
                    @if i % step == 0 { text x=(x0 + 1.0) y=(H - 4.0) font-size="8" fill="#556" { (label) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_scale_to_their_largest_value_and_escape_names() {
        let svg = lines(
            "r/s",
            "/s",
            &[Series {
                name: "<http>".into(),
                points: vec![0.0, 5.0, 10.0],
            }],
        )
        .into_string();
        assert!(svg.contains("10 /s"));
        assert!(svg.contains("&lt;http&gt;"));
        assert!(svg.contains("polyline points=\"28.0,124.0 "));
    }

    #[test]
    fn fourteen_bars_label_every_second_one() {
        let days: Vec<(String, f64)> = (1..=14).map(|d| (format!("12-{d:02}"), 1.0)).collect();
        let svg = bars("days", &days).into_string();
        assert!(svg.contains(">12-01<") && svg.contains(">12-13<"));
        assert!(!svg.contains(">12-02<") && !svg.contains(">12-14<"));
        assert_eq!(svg.matches("<rect").count(), 14);
    }

    #[test]
    fn empty_and_zero_charts_draw_without_dividing_by_zero() {
        let svg = bars("none", &[("a".into(), 0.0)]).into_string();
        assert!(!svg.contains("NaN"));
        let svg = lines("none", "", &[]).into_string();
        assert!(!svg.contains("NaN"));
    }
}
