//! Test helpers: a seeded PRNG (xorshift64* with Box-Muller) and builders for synthetic fleets, so
//! every test series is deterministic without a `rand` dependency.

use std::collections::BTreeMap;

use crate::input::{Input, Point, ServerSeries, Specs};
use crate::metric::Metric;

/// 2024-01-01T00:00:00Z: test series start here.
pub const T0: i64 = 1_704_067_200;
pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 86_400;

/// xorshift64*: tiny, fast and plenty random for synthetic noise.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Mix the seed so small seeds (1, 2, 3) do not start in nearby states; never zero.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03 | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn gauss(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// `n` points every `step` seconds from [`T0`], valued by `f(index, ts)`.
pub fn series(n: usize, step: i64, mut f: impl FnMut(usize, i64) -> f64) -> Vec<Point> {
    (0..n).map(|i| T0 + i as i64 * step).enumerate().map(|(i, ts)| Point::new(ts, f(i, ts))).collect()
}

/// Gaussian noise around `mean` with standard deviation `sd`.
pub fn noise(seed: u64, n: usize, step: i64, mean: f64, sd: f64) -> Vec<Point> {
    let mut rng = Rng::new(seed);
    series(n, step, |_, _| mean + sd * rng.gauss())
}

/// A server with the given specs and series.
pub fn server(id: &str, specs: Specs, metrics: Vec<(Metric, Vec<Point>)>) -> ServerSeries {
    ServerSeries {
        id: id.to_string(),
        name: id.to_string(),
        server_type: "web".to_string(),
        specs,
        metrics: metrics.into_iter().collect::<BTreeMap<_, _>>(),
    }
}

/// A mid-sized server: 4 cores, 16 GB, 200 GB.
pub fn specs4() -> Specs {
    Specs { cpu_cores: 4, memory_gb: 16.0, disk_gb: 200.0 }
}

/// An input whose `now` is one step after the last point of its longest series.
pub fn input(servers: Vec<ServerSeries>) -> Input {
    let now =
        servers.iter().flat_map(|s| s.metrics.values().flatten()).map(|p| p.ts).max().map_or(T0, |ts| ts + MINUTE);
    Input { servers, now }
}

/// Whether `s` contains a Hangul syllable or jamo.
pub fn has_hangul(s: &str) -> bool {
    s.chars().any(|c| matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}'))
}
