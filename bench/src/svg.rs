//! A hand-written SVG line chart (no dependency): hit ratio against cache size, one line per
//! policy.

use std::fmt::Write;

/// One line of the chart.
pub struct Series {
    pub label: String,
    /// (x, y) points; y in percent.
    pub points: Vec<(f64, f64)>,
    /// Draw dashed (for a line expected to lie on top of another, e.g. a cross-check).
    pub dashed: bool,
}

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders a chart. x is drawn on a log scale when every x is positive and they span a factor of
/// 4 or more, else linearly; ticks are placed at the x values present. y runs from 0 to the next
/// multiple of 10 above the largest value.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (w, h) = (760.0_f64, 440.0_f64);
    let (ml, mr, mt, mb) = (64.0, 170.0, 48.0, 56.0);
    let (pw, ph) = (w - ml - mr, h - mt - mb);

    let mut xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let ymax_data = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    let ymax = ((ymax_data / 10.0).ceil() * 10.0).clamp(10.0, 100.0);
    let (xmin, xmax) = match (xs.first(), xs.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0.0, 1.0),
    };
    let log = xmin > 0.0 && xmax / xmin >= 4.0;
    let tx = |x: f64| -> f64 {
        let (a, b, v) = if log {
            (xmin.ln(), xmax.ln(), x.ln())
        } else {
            (xmin.min(0.0), xmax, x)
        };
        if b > a {
            ml + (v - a) / (b - a) * pw
        } else {
            ml + pw / 2.0
        }
    };
    let ty = |y: f64| -> f64 { mt + ph - y / ymax * ph };

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        ml + pw / 2.0,
        esc(title)
    );
    // Horizontal grid and y ticks.
    let mut y = 0.0;
    while y <= ymax + 1e-9 {
        let py = ty(y);
        let _ = writeln!(
            s,
            r##"<line x1="{ml}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{y}</text>"##,
            ml + pw,
            ml - 6.0,
            py + 4.0
        );
        y += if ymax > 50.0 { 10.0 } else { 5.0 };
    }
    // x ticks at the data's x values.
    for &x in &xs {
        let px = tx(x);
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{mt}" x2="{px:.1}" y2="{:.1}" stroke="#eee"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            mt + ph,
            mt + ph + 18.0,
            fmt_num(x)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}{}</text>"#,
        ml + pw / 2.0,
        h - 14.0,
        esc(x_label),
        if log { " (log scale)" } else { "" }
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        mt + ph / 2.0,
        esc(y_label)
    );
    // Solid lines first, dashed ones on top so that a line lying on another stays visible.
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|&i| series[i].dashed);
    for i in order {
        let ser = &series[i];
        let color = COLORS[i % COLORS.len()];
        let dash = if ser.dashed || i >= COLORS.len() {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        };
        let pts: Vec<String> = ser
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", tx(x), ty(y)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{}"/>"#,
            pts.join(" ")
        );
        for &(x, y) in &ser.points {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"><title>{}: {} -> {y:.2}%</title></circle>"#,
                tx(x),
                ty(y),
                esc(&ser.label),
                fmt_num(x)
            );
        }
        let ly = mt + 10.0 + 20.0 * i as f64;
        let lx = ml + pw + 14.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            esc(&ser.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn fmt_num(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_well_formed_svg() {
        let s = line_chart(
            "t <&>",
            "size (%)",
            "hit ratio (%)",
            &[
                Series {
                    label: "a".into(),
                    points: vec![(1.0, 10.0), (5.0, 20.0), (25.0, 55.5)],
                    dashed: false,
                },
                Series {
                    label: "b".into(),
                    points: vec![(1.0, 0.0), (25.0, 99.0)],
                    dashed: true,
                },
            ],
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        assert!(s.contains("t &lt;&amp;&gt;"));
        assert_eq!(s.matches("<polyline").count(), 2);
        assert!(!s.contains("NaN"));
    }
}
