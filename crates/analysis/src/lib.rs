//! Statistical analyses of fleet metrics for `POST /api/ai/analyze` and the local chat engine: pure
//! functions from servers' history to findings, with no IO, no clock and no randomness.
//!
//! The caller fetches history (the store's rollups for long ranges), passes it with `now`, and gets a
//! [`Report`] whose text is written in Korean or English. Every analysis bounds its work (at most
//! [`MAX_POINTS`] points per series, capped cross-server pairs), so the worst case stays small on a
//! 2-core VM, and tolerates bad input (unsorted, duplicate, NaN, too short) without panicking.
//!
//! ```
//! use analysis::{AnalysisType, Input, Lang, Metric, Options, Point, ServerSeries};
//!
//! let disk: Vec<Point> = (0..48).map(|h| Point::new(h * 3600, 50.0 + h as f64 * 0.5)).collect();
//! let mut server = ServerSeries { id: "db-01".into(), name: "db-01".into(), ..Default::default() };
//! server.metrics.insert(Metric::Disk, disk);
//! let input = Input { servers: vec![server], now: 48 * 3600 };
//! let report = analysis::run(AnalysisType::Prediction, &input, Lang::En, &Options::default());
//! assert_eq!(report.findings.len(), 1); // disk reaches 90% in about 32 hours
//! ```

pub mod anomaly;
pub mod correlation;
mod fleet;
mod grid;
pub mod health;
mod input;
mod kind;
mod lang;
mod metric;
pub mod optimization;
pub mod pattern;
pub mod prediction;
mod report;
mod series;
mod stats;
mod text;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use serde::{Deserialize, Serialize};

use fleet::{Ctx, Fleet};
pub use input::{Input, Point, ServerSeries, Specs};
pub use kind::{AnalysisInfo, AnalysisType, UnknownAnalysis};
pub use lang::Lang;
pub use metric::{Metric, Unit, UnknownMetric};
pub use report::{Evidence, Finding, FindingKind, Report, Severity, SeverityCounts};
pub use series::{MAX_POINTS, Series};

/// What the caller may narrow or tune. Every field has a default; out-of-range values are clamped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Options {
    /// Only this server (correlation still compares it with its peers).
    pub server_id: Option<String>,
    /// Only this metric (correlation: pairs involving it; health ignores it, as a score needs
    /// every metric).
    pub metric: Option<Metric>,
    /// How far ahead prediction looks, seconds (default 30 days).
    pub horizon_secs: i64,
    /// The offset times are written in, seconds east of UTC (e.g. 32400 for KST).
    pub utc_offset_secs: i32,
    /// The most findings a report carries (default 50); the most severe are kept.
    pub max_findings: usize,
    /// The least |z| an anomaly needs (default 3.5); longer series need more, see
    /// [`anomaly::threshold`].
    pub anomaly_z: f64,
    /// The least |r| a correlation needs (default 0.8).
    pub min_correlation: f64,
    /// How many grid steps either way correlation searches for a lag (default 10).
    pub max_lag_steps: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            server_id: None,
            metric: None,
            horizon_secs: 30 * 86_400,
            utc_offset_secs: 0,
            max_findings: 50,
            anomaly_z: 3.5,
            min_correlation: 0.8,
            max_lag_steps: 10,
        }
    }
}

impl Options {
    /// The options with every number forced into a range that keeps results meaningful and the
    /// work bounded (a year's horizon, ±60 lag steps, offsets within ±18 h as RFC 3339 allows).
    fn sanitized(&self) -> Options {
        let or = |x: f64, default: f64| if x.is_finite() { x } else { default };
        Options {
            server_id: self.server_id.clone(),
            metric: self.metric,
            horizon_secs: self.horizon_secs.clamp(0, 365 * 86_400),
            utc_offset_secs: self.utc_offset_secs.clamp(-18 * 3_600, 18 * 3_600),
            max_findings: self.max_findings.min(500),
            anomaly_z: or(self.anomaly_z, 3.5).clamp(2.0, 20.0),
            min_correlation: or(self.min_correlation, 0.8).clamp(0.5, 0.99),
            max_lag_steps: self.max_lag_steps.min(60),
        }
    }
}

/// Runs one analysis over `input` and writes its findings in `lang`.
pub fn run(kind: AnalysisType, input: &Input, lang: Lang, opts: &Options) -> Report {
    let opts = opts.sanitized();
    let ctx = Ctx { lang, opts: &opts, now: input.now };
    let fleet = Fleet::prepare(input, &opts, kind == AnalysisType::Correlation);
    let mut out = match kind {
        AnalysisType::Health => health::analyze(&fleet, &ctx),
        AnalysisType::Anomaly => anomaly::analyze(&fleet, &ctx),
        AnalysisType::Prediction => prediction::analyze(&fleet, &ctx),
        AnalysisType::Pattern => pattern::analyze(&fleet, &ctx),
        AnalysisType::Correlation => correlation::analyze(&fleet, &ctx),
        AnalysisType::Optimization => optimization::analyze(&fleet, &ctx),
    };
    if let Some(id) = &opts.server_id
        && !input.servers.iter().any(|s| &s.id == id)
    {
        out.notes.push(lang.pick(format!("서버 {id}을(를) 찾을 수 없습니다."), format!("Server {id} was not found.")));
    }
    if out.findings.len() > opts.max_findings {
        let total = out.findings.len();
        out.findings.truncate(opts.max_findings);
        out.notes.push(lang.pick(
            format!("발견 {total}건 중 가장 중요한 {}건만 포함했습니다.", opts.max_findings),
            format!("Showing the {} most important of {total} findings.", opts.max_findings),
        ));
    }
    let severity_counts = Report::count(&out.findings);
    let summary = summary(kind, lang, &out, severity_counts);
    Report {
        analysis: kind,
        language: lang,
        generated_at: input.now,
        summary,
        severity_counts,
        findings: out.findings,
        analyzed_servers: out.servers,
        analyzed_points: out.points,
        score: out.score,
        notes: out.notes,
    }
}

/// The report's summary: the analysis's headline, if any, then what was read and found.
fn summary(kind: AnalysisType, lang: Lang, out: &fleet::Outcome, c: SeverityCounts) -> String {
    let (servers, points) = (text::count(out.servers), text::count(out.points));
    let total = c.info + c.warning + c.critical;
    let found = match (lang, total) {
        (Lang::Ko, 0) => "특이 사항이 없습니다.".to_string(),
        (Lang::En, 0) => "nothing notable found.".to_string(),
        (Lang::Ko, _) => format!("발견 {total}건 (심각 {}, 경고 {}, 정보 {}).", c.critical, c.warning, c.info),
        (Lang::En, _) => format!(
            "{total} finding{} ({} critical, {} warning, {} info).",
            if total == 1 { "" } else { "s" },
            c.critical,
            c.warning,
            c.info
        ),
    };
    let body = lang.pick(
        format!("{}: 서버 {servers}대, 측정값 {points}개를 분석했습니다. {found}", kind.name(lang)),
        format!("{} of {servers} servers ({points} readings): {found}", kind.name(lang)),
    );
    match &out.headline {
        Some(h) => format!("{h} {body}"),
        None => body,
    }
}
