//! Compact binary encodings: varints, value quantization, raw sample rows and columnar chunks.
//!
//! Chunk layout (one blob per server x metric x tier x chunk window):
//! `version:u8, n:varint, exp:i8, ts column, count column, avg column, min column, max column`.
//! Each column starts with a mode byte:
//! - `DELTA`: zigzag varint of each value minus the previous one (noisy values: 1-3 bytes each).
//! - `DELTA_RLE`: runs of equal deltas as `(zigzag delta, run length)` pairs. Rollup timestamps and
//!   counts are regular, so a whole column costs a few bytes (what delta-of-delta buys, simpler).
//! - `F64`: 8 bytes per value, used only when a value cannot be quantized exactly enough (huge or
//!   non-integral at the metric's scale), so any finite f64 still round-trips.
//!
//! Values are quantized to `10^-exp` (percent and load to 0.01, byte rates to 1 B/s, other metrics
//! to 0.001) — far below what a dashboard shows, and it turns noisy mantissas into small deltas.

use crate::error::{Error, Result};

const VERSION: u8 = 1;
const MODE_DELTA: u8 = 0;
const MODE_DELTA_RLE: u8 = 1;
const MODE_F64: u8 = 2;
/// Quantized magnitudes above 2^53 are not exactly representable back as f64.
const MAX_QUANT: f64 = 9_007_199_254_740_992.0;
/// Refuse absurd point counts from a corrupt blob before allocating.
const MAX_POINTS: u64 = 1 << 20;

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Cursor over an encoded byte slice; every read checks bounds so corrupt input is an error.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn byte(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(|| corrupt("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn f64(&mut self) -> Result<f64> {
        let end = self.pos.checked_add(8).ok_or_else(|| corrupt("overflow"))?;
        let bytes: [u8; 8] =
            self.buf.get(self.pos..end).and_then(|s| s.try_into().ok()).ok_or_else(|| corrupt("truncated f64"))?;
        self.pos = end;
        Ok(f64::from_le_bytes(bytes))
    }
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(what.to_owned())
}

/// Decimal exponent of a metric's quantum, chosen once when the metric name is first seen.
pub fn scale_exp_for(metric: &str) -> i8 {
    let m = metric.to_ascii_lowercase();
    let rate = m.starts_with("net_")
        || m.ends_with("_bytes")
        || m.ends_with("_bps")
        || m.ends_with("_per_sec")
        || m.contains("bytes_per")
        || m.ends_with("_rx")
        || m.ends_with("_tx");
    if rate {
        0
    } else if matches!(m.as_str(), "cpu" | "memory" | "disk" | "swap")
        || m.ends_with("percent")
        || m.ends_with("_pct")
        || m.starts_with("load")
    {
        2
    } else {
        3
    }
}

fn pow10(exp: i8) -> f64 {
    10f64.powi(i32::from(exp))
}

/// `round(v * 10^exp)` when that is exactly representable; `None` otherwise.
pub(crate) fn quantize(v: f64, exp: i8) -> Option<i64> {
    let q = (v * pow10(exp)).round();
    if q.is_finite() && q.abs() <= MAX_QUANT { Some(q as i64) } else { None }
}

pub(crate) fn dequantize(q: i64, exp: i8) -> f64 {
    q as f64 / pow10(exp)
}

/// Round a value to what storage will return (used so raw-derived rollups agree with raw reads).
pub fn quantized(v: f64, exp: i8) -> f64 {
    quantize(v, exp).map_or(v, |q| dequantize(q, exp))
}

// ---- raw sample rows -------------------------------------------------------------------------

/// A raw row holds `(metric_id << 1 | is_f64, value)` pairs; the quantum comes from the metric
/// table so it is not repeated per row.
pub(crate) fn encode_raw(values: &[(i64, i8, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 4);
    for &(id, exp, v) in values {
        let id = id.max(0) as u64;
        match quantize(v, exp) {
            Some(q) => {
                put_varint(&mut out, id << 1);
                put_varint(&mut out, zigzag(q));
            }
            None => {
                put_varint(&mut out, (id << 1) | 1);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

/// Decode a raw row; `exp_of` gives each metric's exponent (unknown metric id = corrupt).
pub(crate) fn decode_raw(buf: &[u8], exp_of: impl Fn(i64) -> Option<i8>) -> Result<Vec<(i64, f64)>> {
    let mut r = Reader::new(buf);
    let mut out = Vec::new();
    while !r.is_empty() {
        let tag = r.varint()?;
        let id = i64::try_from(tag >> 1).map_err(|_| corrupt("metric id"))?;
        let v = if tag & 1 == 1 {
            r.f64()?
        } else {
            let exp = exp_of(id).ok_or_else(|| corrupt("unknown metric id"))?;
            dequantize(unzigzag(r.varint()?), exp)
        };
        out.push((id, v));
    }
    Ok(out)
}

// ---- columnar chunks ---------------------------------------------------------------------------

/// One rolled-up point of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkPoint {
    pub ts: i64,
    /// Raw samples behind this point (weights averages when rolling up further).
    pub count: u64,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
}

fn encode_ints(out: &mut Vec<u8>, xs: &[i64]) {
    let mut delta = Vec::with_capacity(xs.len() * 2);
    let mut rle = Vec::new();
    let mut prev = 0i64;
    let mut run: Option<(i64, u64)> = None;
    for &x in xs {
        let d = x.wrapping_sub(prev);
        prev = x;
        put_varint(&mut delta, zigzag(d));
        run = match run {
            Some((rd, n)) if rd == d => Some((rd, n + 1)),
            Some((rd, n)) => {
                put_varint(&mut rle, zigzag(rd));
                put_varint(&mut rle, n);
                Some((d, 1))
            }
            None => Some((d, 1)),
        };
    }
    if let Some((rd, n)) = run {
        put_varint(&mut rle, zigzag(rd));
        put_varint(&mut rle, n);
    }
    if rle.len() < delta.len() {
        out.push(MODE_DELTA_RLE);
        out.extend_from_slice(&rle);
    } else {
        out.push(MODE_DELTA);
        out.extend_from_slice(&delta);
    }
}

fn decode_ints(r: &mut Reader<'_>, n: usize, mode: u8) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(n);
    let mut prev = 0i64;
    match mode {
        MODE_DELTA => {
            for _ in 0..n {
                prev = prev.wrapping_add(unzigzag(r.varint()?));
                out.push(prev);
            }
        }
        MODE_DELTA_RLE => {
            while out.len() < n {
                let d = unzigzag(r.varint()?);
                let run = r.varint()?;
                if run == 0 || run > (n - out.len()) as u64 {
                    return Err(corrupt("bad run length"));
                }
                for _ in 0..run {
                    prev = prev.wrapping_add(d);
                    out.push(prev);
                }
            }
        }
        _ => return Err(corrupt("bad int column mode")),
    }
    Ok(out)
}

fn encode_values(out: &mut Vec<u8>, xs: &[f64], exp: i8) {
    let q: Option<Vec<i64>> = xs.iter().map(|&v| quantize(v, exp)).collect();
    match q {
        Some(q) => encode_ints(out, &q),
        None => {
            out.push(MODE_F64);
            for v in xs {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

fn decode_values(r: &mut Reader<'_>, n: usize, exp: i8) -> Result<Vec<f64>> {
    let mode = r.byte()?;
    if mode == MODE_F64 {
        (0..n).map(|_| r.f64()).collect()
    } else {
        Ok(decode_ints(r, n, mode)?.into_iter().map(|q| dequantize(q, exp)).collect())
    }
}

/// Encode points (sorted by ts, all at or after `base_ms`) of one metric.
pub fn encode_chunk(base_ms: i64, exp: i8, points: &[ChunkPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + points.len() * 8);
    out.push(VERSION);
    put_varint(&mut out, points.len() as u64);
    out.push(exp as u8);
    let ts: Vec<i64> = points.iter().map(|p| p.ts.wrapping_sub(base_ms)).collect();
    encode_ints(&mut out, &ts);
    let counts: Vec<i64> = points.iter().map(|p| i64::try_from(p.count).unwrap_or(i64::MAX)).collect();
    encode_ints(&mut out, &counts);
    let col = |f: fn(&ChunkPoint) -> f64| points.iter().map(f).collect::<Vec<f64>>();
    encode_values(&mut out, &col(|p| p.avg), exp);
    encode_values(&mut out, &col(|p| p.min), exp);
    encode_values(&mut out, &col(|p| p.max), exp);
    out
}

/// The quantum exponent a chunk was written with (to re-encode it identically).
pub(crate) fn chunk_exp(buf: &[u8]) -> Result<i8> {
    let mut r = Reader::new(buf);
    if r.byte()? != VERSION {
        return Err(corrupt("unknown chunk version"));
    }
    r.varint()?;
    Ok(r.byte()? as i8)
}

pub fn decode_chunk(base_ms: i64, buf: &[u8]) -> Result<Vec<ChunkPoint>> {
    let mut r = Reader::new(buf);
    if r.byte()? != VERSION {
        return Err(corrupt("unknown chunk version"));
    }
    let n = r.varint()?;
    if n > MAX_POINTS {
        return Err(corrupt("chunk too large"));
    }
    let n = n as usize;
    let exp = r.byte()? as i8;
    let mode = r.byte()?;
    let ts = decode_ints(&mut r, n, mode)?;
    let mode = r.byte()?;
    let counts = decode_ints(&mut r, n, mode)?;
    let avg = decode_values(&mut r, n, exp)?;
    let min = decode_values(&mut r, n, exp)?;
    let max = decode_values(&mut r, n, exp)?;
    if !r.is_empty() {
        return Err(corrupt("trailing bytes in chunk"));
    }
    Ok((0..n)
        .map(|i| ChunkPoint {
            ts: ts[i].wrapping_add(base_ms),
            count: counts[i].max(0) as u64,
            avg: avg[i],
            min: min[i],
            max: max[i],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_within(a: f64, b: f64, exp: i8) -> bool {
        (a - b).abs() <= 0.5 / pow10(exp) + a.abs().max(b.abs()) * 1e-15
    }

    #[test]
    fn varint_and_zigzag_edges() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            put_varint(&mut out, zigzag(v));
            let mut r = Reader::new(&out);
            assert_eq!(unzigzag(r.varint().unwrap()), v);
        }
    }

    #[test]
    fn scales_for_core_metrics() {
        assert_eq!(scale_exp_for("cpu"), 2);
        assert_eq!(scale_exp_for("memory"), 2);
        assert_eq!(scale_exp_for("disk"), 2);
        assert_eq!(scale_exp_for("load1"), 2);
        assert_eq!(scale_exp_for("net_rx"), 0);
        assert_eq!(scale_exp_for("net_tx"), 0);
        assert_eq!(scale_exp_for("temperature_c"), 3);
    }

    #[test]
    fn regular_timestamps_cost_a_few_bytes() {
        let pts: Vec<ChunkPoint> =
            (0..60).map(|i| ChunkPoint { ts: 1_000 + i * 60_000, count: 12, avg: 1.0, min: 1.0, max: 1.0 }).collect();
        let blob = encode_chunk(0, 2, &pts);
        assert!(blob.len() < 40, "{} bytes", blob.len());
        assert_eq!(decode_chunk(0, &blob).unwrap(), pts);
    }

    #[test]
    fn corrupt_chunks_are_errors_not_panics() {
        let pts = [ChunkPoint { ts: 5, count: 1, avg: 1.5, min: 1.0, max: 2.0 }];
        let blob = encode_chunk(0, 2, &pts);
        for cut in 0..blob.len() {
            assert!(decode_chunk(0, &blob[..cut]).is_err());
        }
        assert!(decode_chunk(0, &[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        assert!(decode_raw(&[0x80], |_| Some(2)).is_err());
    }

    proptest! {
        #[test]
        fn chunk_round_trip_within_quantum(
            exp in 0i8..4,
            base in -1_000_000_000i64..2_000_000_000_000,
            raw in proptest::collection::vec((0i64..10_000_000, 0u64..1000, -1e9f64..1e9, -1e9f64..1e9, -1e9f64..1e9), 0..80),
        ) {
            let mut ts = base;
            let pts: Vec<ChunkPoint> = raw.iter().map(|&(dt, count, a, b, c)| {
                ts += dt;
                ChunkPoint { ts, count, avg: a, min: b, max: c }
            }).collect();
            let back = decode_chunk(base, &encode_chunk(base, exp, &pts)).unwrap();
            prop_assert_eq!(back.len(), pts.len());
            for (p, q) in pts.iter().zip(&back) {
                prop_assert_eq!(p.ts, q.ts);
                prop_assert_eq!(p.count, q.count);
                prop_assert!(same_within(p.avg, q.avg, exp), "{} vs {}", p.avg, q.avg);
                prop_assert!(same_within(p.min, q.min, exp));
                prop_assert!(same_within(p.max, q.max, exp));
            }
        }

        #[test]
        fn any_finite_value_round_trips(v in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO, exp in 0i8..4) {
            let pts = [ChunkPoint { ts: 0, count: 1, avg: v, min: v, max: v }];
            let back = decode_chunk(0, &encode_chunk(0, exp, &pts)).unwrap();
            prop_assert!(same_within(v, back[0].avg, exp), "{} vs {}", v, back[0].avg);
            let raw = decode_raw(&encode_raw(&[(7, exp, v)]), |_| Some(exp)).unwrap();
            prop_assert_eq!(raw[0].0, 7);
            prop_assert!(same_within(v, raw[0].1, exp));
        }

        #[test]
        fn quantization_error_is_at_most_half_a_quantum(v in -1e12f64..1e12, exp in 0i8..4) {
            let q = quantized(v, exp);
            prop_assert!(same_within(v, q, exp), "{} -> {}", v, q);
        }
    }
}
