//! The statistics the analyses share: robust location and scale, quantiles, correlation, trend
//! lines and the normal quantile used to set thresholds. Inputs are finite (see `Series`); every
//! function answers `None` instead of dividing by zero.

/// The consistency constant that makes the MAD estimate a normal distribution's standard deviation.
pub(crate) const MAD_SCALE: f64 = 1.4826;
/// The same for the mean absolute deviation, the fallback when the MAD is zero.
const MEAN_AD_SCALE: f64 = 1.2533;

/// Whether a spread (variance) is float dust rather than variation: a standard deviation below
/// 1e-10 of the values' size. Relative, so byte rates near 1e9 that vary by a few units still count.
fn negligible(variance: f64, mean: f64) -> bool {
    variance.sqrt() <= 1e-10 * (1.0 + mean.abs())
}

/// The mean, or `None` for no values.
pub(crate) fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// A sorted copy.
pub(crate) fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The `q` quantile (0..=1) of sorted values, interpolating linearly between ranks.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let (lo, frac) = (pos.floor() as usize, pos.fract());
    let hi = (lo + 1).min(last);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// The `q` quantile (0..=1) of unsorted values, by selection rather than sorting: linear time,
/// which matters because the anomaly test takes four medians per series.
pub(crate) fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    let last = xs.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let (lo, frac) = (pos.floor() as usize, pos.fract());
    let mut v = xs.to_vec();
    let (_, at, above) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let low = *at;
    match above.iter().copied().min_by(f64::total_cmp) {
        Some(high) if frac > 0.0 => Some(low + (high - low) * frac),
        _ => Some(low),
    }
}

/// The median.
pub(crate) fn median(xs: &[f64]) -> Option<f64> {
    quantile(xs, 0.5)
}

/// A robust centre and spread: what "usual" means for a series that may contain the very outliers
/// being looked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Robust {
    /// The median.
    pub center: f64,
    /// The spread, in standard-deviation units for normal data; never below the floor given.
    pub scale: f64,
}

impl Robust {
    /// How many spreads `x` lies from the centre, signed.
    pub fn z(&self, x: f64) -> f64 {
        (x - self.center) / self.scale
    }
}

/// Median and 1.4826·MAD. When more than half the values are equal the MAD is zero, so the mean
/// absolute deviation (scaled to match) stands in, and `floor` keeps a still series from turning
/// every wobble into an outlier. `floor` must be positive.
pub(crate) fn robust(xs: &[f64], floor: f64) -> Option<Robust> {
    let center = median(xs)?;
    let deviations: Vec<f64> = xs.iter().map(|x| (x - center).abs()).collect();
    let mad = median(&deviations)? * MAD_SCALE;
    let scale = if mad > 0.0 { mad } else { mean(&deviations)? * MEAN_AD_SCALE };
    Some(Robust { center, scale: scale.max(floor) })
}

/// Running co-moments of pairs (Welford's update), stable for byte rates in the millions where the
/// textbook sum-of-squares formula cancels catastrophically.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CoMoments {
    n: f64,
    mean_x: f64,
    mean_y: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl CoMoments {
    /// Adds a pair.
    pub fn push(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        let dx = x - self.mean_x;
        self.mean_x += dx / self.n;
        let dy = y - self.mean_y;
        self.mean_y += dy / self.n;
        self.sxx += dx * (x - self.mean_x);
        self.syy += dy * (y - self.mean_y);
        self.sxy += dx * (y - self.mean_y);
    }

    /// The number of pairs.
    pub fn count(&self) -> usize {
        self.n as usize
    }

    /// Pearson's r, or `None` with fewer than three pairs or a side that does not vary (see
    /// `negligible`: float dust on a constant series is not variation).
    pub fn pearson(&self) -> Option<f64> {
        if self.n < 3.0 || negligible(self.sxx / self.n, self.mean_x) || negligible(self.syy / self.n, self.mean_y) {
            return None;
        }
        Some((self.sxy / (self.sxx * self.syy).sqrt()).clamp(-1.0, 1.0))
    }
}

/// Pearson's r of two equally long slices.
#[cfg(test)]
pub(crate) fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let mut m = CoMoments::default();
    xs.iter().zip(ys).for_each(|(&x, &y)| m.push(x, y));
    m.pearson()
}

/// Ranks from 1, ties sharing their average rank (as Spearman's coefficient requires).
pub(crate) fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut out = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && xs[order[j + 1]] == xs[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        order[i..=j].iter().for_each(|&k| out[k] = rank);
        i = j + 1;
    }
    out
}

/// The autocorrelation of `xs` at `lag` over the pairs where both ends are present, against the
/// mean and variance of all present values (the usual estimator, tolerant of gaps).
pub(crate) fn autocorrelation(xs: &[Option<f64>], lag: usize) -> Option<(f64, usize)> {
    let present: Vec<f64> = xs.iter().flatten().copied().collect();
    let m = mean(&present)?;
    let var = present.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / present.len() as f64;
    if negligible(var, m) {
        return None;
    }
    let (sum, n) = xs
        .iter()
        .zip(xs.iter().skip(lag))
        .filter_map(|(a, b)| Some((((*a)? - m) * ((*b)? - m), 1usize)))
        .fold((0.0, 0usize), |(s, n), (p, k)| (s + p, n + k));
    (n > 0).then(|| ((sum / n as f64 / var).clamp(-1.0, 1.0), n))
}

/// A straight line `y = intercept + slope * x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Line {
    pub slope: f64,
    pub intercept: f64,
}

impl Line {
    /// The line's value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// The Theil-Sen line: the median of all pairwise slopes, then the median intercept. Unlike least
/// squares it ignores up to ~29% outliers (a spike does not bend a disk trend). Quadratic in the
/// number of points, so callers pass a few hundred at most; the intercept uses `all`.
pub(crate) fn theil_sen(xs: &[f64], ys: &[f64], all: (&[f64], &[f64])) -> Option<Line> {
    let n = xs.len().min(ys.len());
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let dx = xs[j] - xs[i];
            if dx != 0.0 {
                slopes.push((ys[j] - ys[i]) / dx);
            }
        }
    }
    let slope = median(&slopes)?;
    let residuals: Vec<f64> = all.0.iter().zip(all.1).map(|(x, y)| y - slope * x).collect();
    Some(Line { slope, intercept: median(&residuals)? })
}

/// The ordinary least-squares line.
pub(crate) fn least_squares(xs: &[f64], ys: &[f64]) -> Option<Line> {
    let mut m = CoMoments::default();
    xs.iter().zip(ys).for_each(|(&x, &y)| m.push(x, y));
    if m.n < 2.0 || m.sxx <= 0.0 {
        return None;
    }
    let slope = m.sxy / m.sxx;
    Some(Line { slope, intercept: m.mean_y - slope * m.mean_x })
}

/// How much of the variance `line` explains (R², 0..=1). A series that does not vary at all is
/// explained perfectly by a flat line and by nothing else.
pub(crate) fn r_squared(xs: &[f64], ys: &[f64], line: &Line) -> f64 {
    let Some(m) = mean(ys) else { return 0.0 };
    let ss_tot: f64 = ys.iter().map(|y| (y - m) * (y - m)).sum();
    let ss_res: f64 = xs.iter().zip(ys).map(|(x, y)| (y - line.at(*x)).powi(2)).sum();
    let n = ys.len() as f64;
    if negligible(ss_tot / n, m) {
        return if negligible(ss_res / n, m) { 1.0 } else { 0.0 };
    }
    (1.0 - ss_res / ss_tot).clamp(0.0, 1.0)
}

/// The standard normal quantile (inverse CDF), Acklam's rational approximation (relative error
/// below 1.2e-9): enough to turn "one false alarm in a thousand series" into a z threshold.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_211_3e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const P_LOW: f64 = 0.024_25;
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests;
