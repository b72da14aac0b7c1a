//! Counter-based pseudo-randomness: every random-looking number is a hash of its coordinates.
//!
//! There is deliberately no RNG object anywhere in the crate. A stateful generator would make a
//! value depend on how many values were drawn before it, so "what was web-01's CPU last Tuesday at
//! 14:03" could only be answered by replaying from some origin. Hashing (seed, server, metric,
//! time bucket) answers it directly, for any moment, in constant time.

/// Length of one jitter bucket. Hashed points sit on these boundaries and values in between are
/// interpolated, so a chart sampled every second drifts instead of flickering like white noise.
pub const JITTER_PERIOD_MS: i64 = 10_000;

/// The splitmix64 finaliser: a cheap bijective mixer with good avalanche, the usual choice for
/// turning counters into uniformly distributed bits.
pub const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a sequence of coordinates into one value. Each part goes through the mixer before being
/// combined so that (a, b) and (b, a) — or adjacent buckets — land far apart.
pub fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x6A09_E667_F3BC_C908, |acc, &p| splitmix64(acc ^ splitmix64(p)))
}

/// FNV-1a over a string. Servers are keyed by id rather than by position in the fleet, so
/// reordering or extending the fleet never changes an existing server's numbers.
pub const fn str_key(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01B3);
        i += 1;
    }
    h
}

/// Maps a hash to [0, 1) using its top 53 bits, exactly representable in an f64.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Maps a hash to [-1, 1).
fn signed_unit(h: u64) -> f64 {
    unit(h) * 2.0 - 1.0
}

/// Smooth value noise in [-1, 1]: hashed points every `period_ms`, joined with a smoothstep so
/// the curve has no kinks at bucket boundaries. Because smoothstep stays within its endpoints,
/// the output never leaves the range of the two hashed points, which keeps jitter bounds exact.
pub fn smooth(key: u64, at_ms: i64, period_ms: i64) -> f64 {
    let period = period_ms.max(1);
    let bucket = at_ms.div_euclid(period);
    let frac = at_ms.rem_euclid(period) as f64 / period as f64;
    // Casting the (possibly negative) bucket to u64 is a reinterpretation, which is all a hash
    // input needs; times before 1970 therefore work like any other.
    let a = signed_unit(hash(&[key, bucket as u64]));
    let b = signed_unit(hash(&[key, bucket.wrapping_add(1) as u64]));
    let t = frac * frac * (3.0 - 2.0 * frac);
    a + (b - a) * t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_a_known_function() {
        // Reference value of splitmix64 seeded with 0 (first output), as published with the algorithm.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn smooth_is_bounded_and_continuous() {
        let key = hash(&[1, 2, 3]);
        let mut prev = smooth(key, -50_000, JITTER_PERIOD_MS);
        for t in (-50_000..50_000).step_by(100) {
            let v = smooth(key, t, JITTER_PERIOD_MS);
            assert!((-1.0..=1.0).contains(&v), "{v} out of range at {t}");
            // 100 ms is 1% of a bucket; a smoothstep's slope is at most 1.5x the point gap (<= 2).
            assert!((v - prev).abs() <= 0.031, "jump {prev} -> {v} at {t}");
            prev = v;
        }
    }

    #[test]
    fn smooth_hits_hashed_points_on_bucket_boundaries() {
        let key = 42;
        assert_eq!(smooth(key, 20_000, 10_000), signed_unit(hash(&[key, 2])));
        assert_eq!(smooth(key, -10_000, 10_000), signed_unit(hash(&[key, (-1i64) as u64])));
    }

    #[test]
    fn unit_is_half_open() {
        assert_eq!(unit(0), 0.0);
        assert!(unit(u64::MAX) < 1.0);
    }

    #[test]
    fn str_key_distinguishes_servers() {
        assert_ne!(str_key("web-01"), str_key("web-02"));
        assert_eq!(str_key(""), 0xCBF2_9CE4_8422_2325);
    }
}
