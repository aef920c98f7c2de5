//! The run's growth plot: validate throughput and list p99 against the number of live
//! sessions, one line per store, written as a PNG beside the results table so that growth
//! is seen at a glance. Each store's own /healthz rate is drawn dashed beside its validate
//! line: the anchor measured in the same run, as everywhere else in the bench.

use plotters::coord::combinators::{BindKeyPoints, IntoLogRange, LogCoord, WithKeyPoints};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use std::fmt::Display;
use std::path::Path;
use std::sync::OnceLock;

/// One measured size of one store.
#[derive(Clone, Debug)]
pub struct Point {
    pub store: String,
    pub sessions: usize,
    pub validate_per_s: f64,
    pub healthz_per_s: f64,
    pub list_p99_ms: f64,
}

/// plotters' ab_glyph backend renders no text until a font is registered, and it does not
/// look for system fonts itself (that would take font-kit and fontconfig to build).
const FONT_FILE: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const FONT_PACKAGE: &str = "fonts-dejavu-core";
const FAMILY: &str = "sans-serif";

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 500;
const TITLE_H: u32 = 34;
const LEGEND_H: u32 = 34;

/// Tableau-like colours: distinct from one another and readable on white.
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Writes the plot to `path` (PNG).
pub fn write_png(path: &Path, points: &[Point]) -> Result<(), String> {
    ensure_font()?;
    let stores = by_store(points);
    if stores.is_empty() {
        return Err("plot: no point with a positive session count to draw".into());
    }
    let mut sizes: Vec<f64> = stores
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.sessions as f64))
        .collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();

    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(ctx("filling the background"))?;
    let (title, rest) = root.split_vertically(TITLE_H);
    let (panels, legend) = rest.split_vertically(HEIGHT - TITLE_H - LEGEND_H);
    title
        .draw(&Text::new(
            "sessiond bench: growth with the number of live sessions",
            (WIDTH as i32 / 2, TITLE_H as i32 / 2),
            text(20).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(ctx("drawing the title"))?;
    let halves = panels.split_evenly((1, 2));
    let [left, right] = halves.as_slice() else {
        return Err("plot: splitting the canvas did not give two panels".into());
    };

    let x_range = x_range(&sizes);
    let rate_max = stores
        .iter()
        .flat_map(|s| s.points.iter())
        .flat_map(|p| [p.validate_per_s, p.healthz_per_s])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let p99_max = stores
        .iter()
        .flat_map(|s| s.points.iter())
        .map(|p| p.list_p99_ms)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);

    // validate beside /healthz
    let mut chart = panel(
        left,
        "validate throughput (req/s)",
        &x_range,
        &sizes,
        rate_max,
    )
    .map_err(ctx("building the throughput panel"))?;
    mesh(&mut chart, "requests/s", &fmt_rate).map_err(ctx("drawing the throughput axes"))?;
    for (i, s) in stores.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let anchor = color.mix(0.55);
        let healthz: Vec<(f64, f64)> = s.series(|p| p.healthz_per_s);
        chart
            .draw_series(DashedLineSeries::new(
                healthz.clone(),
                8,
                6,
                anchor.stroke_width(2),
            ))
            .map_err(ctx("drawing a /healthz line"))?;
        chart
            .draw_series(
                healthz
                    .iter()
                    .map(|&c| Circle::new(c, 4, anchor.stroke_width(2))),
            )
            .map_err(ctx("drawing /healthz markers"))?;
        solid_line(&mut chart, &s.series(|p| p.validate_per_s), color)
            .map_err(ctx("drawing a validate line"))?;
    }

    // list p99
    let mut chart = panel(right, "list p99 latency (ms)", &x_range, &sizes, p99_max)
        .map_err(ctx("building the latency panel"))?;
    mesh(&mut chart, "p99 (ms)", &fmt_ms).map_err(ctx("drawing the latency axes"))?;
    for (i, s) in stores.iter().enumerate() {
        solid_line(
            &mut chart,
            &s.series(|p| p.list_p99_ms),
            COLORS[i % COLORS.len()],
        )
        .map_err(ctx("drawing a list p99 line"))?;
    }

    // One legend for both panels, below them, so that it can never cover a line.
    draw_legend(&legend, &stores).map_err(ctx("drawing the legend"))?;
    root.present()
        .map_err(|e| format!("plot: writing {}: {e}", path.display()))
}

/// Registers the font once per process; the outcome (also a failure) is kept, so a
/// missing file is reported by every call rather than read again.
fn ensure_font() -> Result<(), String> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let bytes = std::fs::read(FONT_FILE).map_err(|e| {
            format!(
                "plot: cannot read the font {FONT_FILE} ({e}); install the Debian package \
                 {FONT_PACKAGE}"
            )
        })?;
        // register_font wants &'static; leaked once per process, as the OnceLock ensures.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        register_font(FAMILY, FontStyle::Normal, bytes).map_err(|_| {
            format!("plot: {FONT_FILE} is not a usable TrueType font (from {FONT_PACKAGE})")
        })
    })
    .clone()
}

/// One store's points, sorted by size.
struct Store<'a> {
    name: &'a str,
    points: Vec<&'a Point>,
}

impl Store<'_> {
    /// Non-finite figures (a failed run) are left out rather than drawn at an edge.
    fn series(&self, y: impl Fn(&Point) -> f64) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .map(|p| (p.sessions as f64, y(p)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    }
}

/// Groups by store in order of first appearance, which keeps colours stable across runs
/// with the same `--store` order. A size of 0 has no place on a log axis and is skipped.
fn by_store(points: &[Point]) -> Vec<Store<'_>> {
    let mut stores: Vec<Store<'_>> = Vec::new();
    for p in points.iter().filter(|p| p.sessions > 0) {
        match stores.iter_mut().find(|s| s.name == p.store) {
            Some(s) => s.points.push(p),
            None => stores.push(Store {
                name: &p.store,
                points: vec![p],
            }),
        }
    }
    for s in &mut stores {
        s.points.sort_by_key(|p| p.sessions);
    }
    stores
}

/// Pads the sizes so that the end markers are not cut by the frame; one size alone gets
/// an octave on each side so that it still sits in the middle of a sensible axis.
fn x_range(sizes: &[f64]) -> std::ops::Range<f64> {
    let lo = sizes.first().copied().unwrap_or(1.0);
    let hi = sizes.last().copied().unwrap_or(lo);
    let pad = if hi > lo { 1.5 } else { 2.0 };
    lo / pad..hi * pad
}

/// Headroom above the highest point, and a usable axis when every figure is 0.
fn y_top(max: f64) -> f64 {
    if max > 0.0 {
        max * 1.12
    } else {
        1.0
    }
}

fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<WithKeyPoints<LogCoord<f64>>, RangedCoordf64>>;
type DrawResult =
    Result<(), DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

/// One panel: the shared log x axis with a tick at each measured size, y from 0.
fn panel<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    caption: &str,
    x_range: &std::ops::Range<f64>,
    sizes: &[f64],
    y_max: f64,
) -> Result<Chart<'a, 'b>, DrawingAreaErrorKind<<BitMapBackend<'b> as DrawingBackend>::ErrorType>> {
    ChartBuilder::on(area)
        .caption(caption, text(17))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(
            x_range.clone().log_scale().with_key_points(sizes.to_vec()),
            0.0..y_top(y_max),
        )
}

fn mesh(chart: &mut Chart<'_, '_>, y_desc: &str, y_fmt: &dyn Fn(&f64) -> String) -> DrawResult {
    chart
        .configure_mesh()
        .x_desc("live sessions (log scale)")
        .y_desc(y_desc)
        .x_label_formatter(&|v| fmt_count(*v))
        .y_label_formatter(y_fmt)
        .y_labels(8)
        .label_style(text(14))
        .axis_desc_style(text(15))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .draw()
}

fn solid_line(chart: &mut Chart<'_, '_>, data: &[(f64, f64)], color: RGBColor) -> DrawResult {
    chart.draw_series(LineSeries::new(data.iter().copied(), color.stroke_width(3)))?;
    chart.draw_series(data.iter().map(|&c| Circle::new(c, 5, color.filled())))?;
    Ok(())
}

/// Per store: its colour on a solid line with a dot (validate and list p99 alike), then
/// the dashed /healthz anchor; centred in one row.
fn draw_legend(area: &DrawingArea<BitMapBackend<'_>, Shift>, stores: &[Store<'_>]) -> DrawResult {
    const SAMPLE: i32 = 36;
    const GAP: i32 = 8;
    const SPACING: i32 = 28;
    let style = text(14).pos(Pos::new(HPos::Left, VPos::Center));
    let entries: Vec<(String, RGBColor, bool)> = stores
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let color = COLORS[i % COLORS.len()];
            [
                (s.name.to_string(), color, false),
                (format!("{} /healthz", s.name), color, true),
            ]
        })
        .collect();
    let mut widths = Vec::with_capacity(entries.len());
    for (label, _, _) in &entries {
        let (w, _) = area.estimate_text_size(label, &style)?;
        widths.push(SAMPLE + GAP + w as i32);
    }
    let total = widths.iter().sum::<i32>() + SPACING * (widths.len() as i32 - 1).max(0);
    let y = LEGEND_H as i32 / 2 - 4;
    let mut x = (WIDTH as i32 - total).max(0) / 2;
    for ((label, color, dashed), w) in entries.iter().zip(widths) {
        if *dashed {
            let anchor = color.mix(0.55);
            for dx in (0..SAMPLE).step_by(14) {
                area.draw(&PathElement::new(
                    [(x + dx, y), (x + (dx + 8).min(SAMPLE), y)],
                    anchor.stroke_width(2),
                ))?;
            }
            area.draw(&Circle::new((x + SAMPLE / 2, y), 4, anchor.stroke_width(2)))?;
        } else {
            area.draw(&PathElement::new(
                [(x, y), (x + SAMPLE, y)],
                color.stroke_width(3),
            ))?;
            area.draw(&Circle::new((x + SAMPLE / 2, y), 5, color.filled()))?;
        }
        area.draw(&Text::new(
            label.as_str(),
            (x + SAMPLE + GAP, y),
            style.clone(),
        ))?;
        x += w + SPACING;
    }
    Ok(())
}

/// 10000 → "10k", 1500000 → "1.5M": the sizes as the issue names them.
fn fmt_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn fmt_rate(v: &f64) -> String {
    if *v == 0.0 {
        "0".into()
    } else {
        fmt_count(*v)
    }
}

/// Two decimals at most, trailing zeros dropped, so that ticks of one axis read alike
/// ("2.5", "5", "7.5" rather than "5.0" beside "10").
fn fmt_ms(v: &f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.into()
    }
}

/// One decimal at most, and none when it would be ".0".
fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Maps a plotters error to a message that says what was being drawn.
fn ctx<E: Display>(what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("plot: {what}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_writes_a_png() {
        // No skip when the font is missing: scripts/test installs it, and a plot without
        // text would prove nothing.
        let mut points = Vec::new();
        for (store, base, p99) in [("sqlite", 42_000.0, 0.9), ("redis cluster", 61_000.0, 0.4)] {
            for (i, sessions) in [10_000, 100_000, 1_000_000].into_iter().enumerate() {
                let grow = 1.0 + i as f64;
                points.push(Point {
                    store: store.into(),
                    sessions,
                    validate_per_s: base / grow.powf(0.4),
                    healthz_per_s: base * 1.8,
                    list_p99_ms: p99 * grow * grow * 3.0,
                });
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("growth.png");
        write_png(&path, &points).expect("write_png");
        let bytes = std::fs::read(&path).expect("read the png");
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        assert!(bytes.len() > 10 * 1024, "only {} bytes", bytes.len());
    }
}
