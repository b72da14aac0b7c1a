//! The input made ready for analysis (every series cleaned once) and the context each analysis
//! writes its findings with (language, options, now).

use std::collections::BTreeMap;

use crate::Options;
use crate::input::{Input, ServerSeries, Specs};
use crate::lang::Lang;
use crate::metric::Metric;
use crate::report::Finding;
use crate::series::Series;
use crate::text;

/// One server with cleaned series.
#[derive(Debug)]
pub(crate) struct Server<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub specs: Specs,
    pub series: BTreeMap<Metric, Series>,
}

impl<'a> Server<'a> {
    /// Cleans every series of `s`.
    pub fn new(s: &'a ServerSeries) -> Server<'a> {
        Server {
            id: &s.id,
            name: &s.name,
            specs: s.specs,
            series: s.metrics.iter().map(|(m, points)| (*m, Series::new(points))).collect(),
        }
    }

    /// The cleaned series of `metric`, if it has any points.
    pub fn series(&self, metric: Metric) -> Option<&Series> {
        self.series.get(&metric).filter(|s| !s.is_empty())
    }

    /// The name used in text: the display name, or the id when the name is blank.
    pub fn label(&self) -> &str {
        if self.name.trim().is_empty() { self.id } else { self.name }
    }
}

/// The servers an analysis reads.
#[derive(Debug)]
pub(crate) struct Fleet<'a> {
    pub servers: Vec<Server<'a>>,
}

impl<'a> Fleet<'a> {
    /// Cleans the series of the servers in scope: the one `opts.server_id` names, or all of them
    /// when `whole` (correlation compares the focus server with its peers) or no server is named.
    pub fn prepare(input: &'a Input, opts: &Options, whole: bool) -> Fleet<'a> {
        let servers = input
            .servers
            .iter()
            .filter(|s| whole || opts.server_id.as_deref().is_none_or(|id| id == s.id))
            .map(Server::new)
            .collect();
        Fleet { servers }
    }

    /// The servers the question is about: the named one, or all.
    pub fn focus<'s>(&'s self, ctx: &'s Ctx<'_>) -> impl Iterator<Item = &'s Server<'a>> + 's {
        self.servers.iter().filter(|s| ctx.opts.server_id.as_deref().is_none_or(|id| id == s.id))
    }
}

/// Points in the wanted metrics of `servers`: the `analyzedPoints` of a report.
pub(crate) fn count_points<'s, 'a: 's>(servers: impl Iterator<Item = &'s Server<'a>>, ctx: &Ctx<'_>) -> usize {
    servers.flat_map(|s| s.series.iter()).filter(|(m, _)| ctx.wants(**m)).map(|(_, s)| s.len()).sum()
}

/// What an analysis writes with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub lang: Lang,
    pub opts: &'a Options,
    pub now: i64,
}

impl Ctx<'_> {
    /// Whether the caller asked about `metric` (or about every metric).
    pub fn wants(&self, metric: Metric) -> bool {
        self.opts.metric.is_none_or(|m| m == metric)
    }

    /// A time in the caller's offset.
    pub fn time(&self, ts: i64) -> String {
        text::time(ts, self.opts.utc_offset_secs)
    }
}

/// What one analysis produced, before `run` wraps it in a report.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    /// The fleet score (health only).
    pub score: Option<f64>,
    /// A one-sentence headline put before the counts in the summary.
    pub headline: Option<String>,
    pub servers: usize,
    pub points: usize,
}
