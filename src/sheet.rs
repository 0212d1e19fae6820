//! Pictures for people: labelled contact sheets and loss curves, drawn with a small
//! public-domain bitmap font (font8x8) so no font file is needed.

use image::{Rgb, RgbImage};

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
const GREY: Rgb<u8> = Rgb([200, 200, 200]);

/// Draw `text` with its top-left corner at (x, y), each font pixel `scale` pixels wide.
pub fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, color: Rgb<u8>) {
    let mut cx = x;
    for ch in text.chars() {
        let glyph = font8x8::legacy::BASIC_LEGACY.get(ch as usize).copied().unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    for dy in 0..scale as i64 {
                        for dx in 0..scale as i64 {
                            put(img, cx + col * scale as i64 + dx, y + row as i64 * scale as i64 + dy, color);
                        }
                    }
                }
            }
        }
        cx += 8 * scale as i64;
    }
}

pub fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * 8 * scale
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// One picture with a caption (possibly several lines).
pub struct Cell {
    pub image: RgbImage,
    pub caption: Vec<String>,
}

/// A grid of captioned pictures under a title. Rows may have different lengths.
pub fn grid(title: &str, rows: &[Vec<Cell>]) -> RgbImage {
    let pad = 8u32;
    let scale = 1u32;
    let line_h = 10 * scale;
    let ncols = rows.iter().map(|r| r.len()).max().unwrap_or(1);
    // Each column as wide as its widest picture or caption.
    let col_w: Vec<u32> = (0..ncols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.image.width().max(cell.caption.iter().map(|t| text_width(t, scale)).max().unwrap_or(0)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let row_h: Vec<u32> = rows
        .iter()
        .map(|r| r.iter().map(|c| c.image.height() + c.caption.len() as u32 * line_h + 4).max().unwrap_or(0))
        .collect();
    let title_h = 2 * 10 + pad;
    let width = (pad + col_w.iter().map(|w| w + pad).sum::<u32>()).max(text_width(title, 2) + 2 * pad);
    let height = title_h + pad + row_h.iter().map(|h| h + pad).sum::<u32>();
    let mut img = RgbImage::from_pixel(width, height, WHITE);
    draw_text(&mut img, pad as i64, pad as i64, title, 2, BLACK);
    let mut y0 = title_h + pad;
    for (r, row) in rows.iter().enumerate() {
        let mut x0 = pad;
        for (c, cell) in row.iter().enumerate() {
            image::imageops::overlay(&mut img, &cell.image, x0 as i64, y0 as i64);
            for (k, line) in cell.caption.iter().enumerate() {
                let y = y0 + cell.image.height() + 3 + k as u32 * line_h;
                draw_text(&mut img, x0 as i64, y as i64, line, scale, BLACK);
            }
            x0 += col_w[c] + pad;
        }
        y0 += row_h[r] + pad;
    }
    img
}

/// A named series of (x, y) points for [`plot_log`].
pub struct Series {
    pub name: String,
    pub color: Rgb<u8>,
    pub points: Vec<(f64, f64)>,
}

pub const PALETTE: [Rgb<u8>; 6] =
    [Rgb([31, 119, 180]), Rgb([214, 39, 40]), Rgb([44, 160, 44]), Rgb([148, 103, 189]), Rgb([255, 127, 14]), Rgb([23, 190, 207])];

/// One loss column of [`loss_curves`]: its name, its value, and whether it is drawn only when some
/// value is positive (a loss that is switched off).
pub type LossColumn<T> = (&'static str, fn(&T) -> f64, bool);

/// Log-scale loss curves (640×400) of `rows` against `x`, one series per column; a column keeps
/// its palette colour whether or not the columns before it are drawn.
pub fn loss_curves<T>(title: &str, xlabel: &str, rows: &[T], x: fn(&T) -> f64, columns: &[LossColumn<T>]) -> RgbImage {
    let series: Vec<Series> = columns
        .iter()
        .enumerate()
        .filter(|(_, (_, f, optional))| !optional || rows.iter().any(|r| f(r) > 0.0))
        .map(|(k, (name, f, _))| Series {
            name: (*name).into(),
            color: PALETTE[k % PALETTE.len()],
            points: rows.iter().map(|r| (x(r), f(r))).collect(),
        })
        .collect();
    plot_log(title, xlabel, &series, 640, 400)
}

/// Line chart with a log10 y axis (non-positive values are skipped).
pub fn plot_log(title: &str, xlabel: &str, series: &[Series], width: u32, height: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, WHITE);
    let (left, right, top, bottom) = (70i64, 20i64, 30i64, 40i64);
    let pw = width as i64 - left - right;
    let ph = height as i64 - top - bottom;
    draw_text(&mut img, left, 8, title, 1, BLACK);
    let pts: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.iter().copied()).filter(|p| p.1 > 0.0 && p.1.is_finite()).collect();
    if pts.is_empty() || pw < 10 || ph < 10 {
        draw_text(&mut img, left, top + 10, "no data", 1, BLACK);
        return img;
    }
    let xmin = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let mut xmax = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    if xmax <= xmin {
        xmax = xmin + 1.0;
    }
    let ymin = pts.iter().map(|p| p.1.log10()).fold(f64::INFINITY, f64::min).floor();
    let mut ymax = pts.iter().map(|p| p.1.log10()).fold(f64::NEG_INFINITY, f64::max).ceil();
    if ymax <= ymin {
        ymax = ymin + 1.0;
    }
    let tx = |x: f64| left + ((x - xmin) / (xmax - xmin) * pw as f64).round() as i64;
    let ty = |y: f64| top + ph - ((y.log10() - ymin) / (ymax - ymin) * ph as f64).round() as i64;
    // Grid lines at each decade.
    let mut d = ymin as i64;
    while d <= ymax as i64 {
        let y = ty(10f64.powi(d as i32));
        line(&mut img, left, y, left + pw, y, GREY);
        draw_text(&mut img, 4, y - 4, &format!("1e{d}"), 1, BLACK);
        d += 1;
    }
    line(&mut img, left, top, left, top + ph, BLACK);
    line(&mut img, left, top + ph, left + pw, top + ph, BLACK);
    draw_text(&mut img, left, top + ph + 6, &format!("{xmin:.0}"), 1, BLACK);
    let xm = format!("{xmax:.0}");
    draw_text(&mut img, left + pw - text_width(&xm, 1) as i64, top + ph + 6, &xm, 1, BLACK);
    draw_text(&mut img, left + pw / 2 - text_width(xlabel, 1) as i64 / 2, top + ph + 20, xlabel, 1, BLACK);
    for (k, s) in series.iter().enumerate() {
        let mut prev: Option<(i64, i64)> = None;
        for &(x, y) in &s.points {
            if !(y > 0.0 && y.is_finite()) {
                prev = None;
                continue;
            }
            let p = (tx(x), ty(y));
            if let Some(q) = prev {
                line(&mut img, q.0, q.1, p.0, p.1, s.color);
            } else {
                put(&mut img, p.0, p.1, s.color);
            }
            prev = Some(p);
        }
        let ly = top + 6 + 12 * k as i64;
        let lx = left + pw - 150;
        line(&mut img, lx, ly + 3, lx + 16, ly + 3, s.color);
        draw_text(&mut img, lx + 20, ly, &s.name, 1, BLACK);
    }
    img
}

fn line(img: &mut RgbImage, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb<u8>) {
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let (mut x, mut y, mut err) = (x0, y0, dx + dy);
    loop {
        put(img, x, y, c);
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// Absolute per-pixel difference, amplified so small differences are visible.
pub fn diff_image(a: &RgbImage, b: &RgbImage, gain: f32) -> RgbImage {
    RgbImage::from_fn(a.width(), a.height(), |x, y| {
        let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
        let mut out = [0u8; 3];
        for c in 0..3 {
            let d = (p[c] as f32 - q[c] as f32).abs() * gain;
            out[c] = d.min(255.0) as u8;
        }
        Rgb(out)
    })
}
