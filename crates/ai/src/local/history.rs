//! Answers from history: the trend of a metric over a range, and when a disk fills at its current pace.

use super::answer::{Composed, Ctx};
use super::format::{self, pct};
use super::parse::Lang;
use super::stats::{self, Direction};
use super::{Metric, Series};

/// Projections further out than this are reported as "none expected": a linear fit says nothing
/// useful a year ahead.
const HORIZON_DAYS: f64 = 365.0;
const DAY_MS: f64 = 86_400_000.0;

/// The series of `metric` for the servers in question: the one named, else those the question named,
/// else all. Points outside the range (when one is given) are dropped.
fn series_for<'a>(
    ctx: &'a Ctx<'_>,
    server: Option<&str>,
    metric: Metric,
    range_ms: Option<i64>,
) -> Vec<(&'a Series, Vec<(i64, f64)>)> {
    let targets: Vec<String> = match server {
        Some(id) => vec![ctx.server(id).map_or_else(|| id.to_owned(), |s| s.id.clone())],
        None => ctx.parsed.servers.clone(),
    };
    let since = range_ms.filter(|_| ctx.facts.now_ms > 0).map(|r| ctx.facts.now_ms - r);
    ctx.facts
        .series
        .iter()
        .filter(|s| metric.matches_series(&s.metric) && (targets.is_empty() || targets.contains(&s.server_id)))
        .map(|s| (s, s.points.iter().copied().filter(|(t, _)| since.is_none_or(|from| *t >= from)).collect()))
        .filter(|(_, points): &(&Series, Vec<(i64, f64)>)| !points.is_empty())
        .collect()
}

/// A series' label: the server's name, with the store metric when it is one of several (`net_rx`).
fn label(ctx: &Ctx<'_>, series: &Series, metric: Metric) -> String {
    let name = ctx.server(&series.server_id).map_or_else(|| series.server_id.clone(), |s| s.name.clone());
    if series.metric == metric.key() { name } else { format!("{name} ({})", series.metric) }
}

fn direction_text(direction: Direction, lang: Lang) -> &'static str {
    match (direction, lang) {
        (Direction::Rising, Lang::Ko) => "증가 추세",
        (Direction::Falling, Lang::Ko) => "감소 추세",
        (Direction::Flat, Lang::Ko) => "안정적 (큰 변화 없음)",
        (Direction::Rising, Lang::En) => "rising",
        (Direction::Falling, Lang::En) => "falling",
        (Direction::Flat, Lang::En) => "steady",
    }
}

pub fn trend(ctx: &Ctx<'_>, server: Option<&str>, metric: Metric, range_ms: i64) -> Composed {
    let name = ctx.metric(metric);
    let range = format::range(range_ms, ctx.lang);
    let mut summaries: Vec<(String, stats::Summary)> = series_for(ctx, server, metric, Some(range_ms))
        .into_iter()
        .filter_map(|(s, points)| stats::summarize(&points).map(|sum| (label(ctx, s, metric), sum)))
        .collect();
    let compute = ctx.t(
        format!("시계열 {}개의 기울기(최소제곱)와 최소/최대/평균 계산", summaries.len()),
        format!("Least-squares slope and min/max/avg of {} series", summaries.len()),
    );
    if summaries.is_empty() {
        let current =
            server.and_then(|id| ctx.server(id)).map(|s| (s.name.clone(), format::value(metric, metric.value(s))));
        let who_ko = server.map(|s| format!("{s}의 ")).unwrap_or_default();
        let who_en = server.map(|s| format!(" for {s}")).unwrap_or_default();
        let mut text = ctx.t(
            format!("{who_ko}최근 {range} 동안의 {name} 기록이 충분하지 않아 추세를 계산할 수 없습니다."),
            format!("Not enough {name} history{who_en} over the last {range} to tell a trend."),
        );
        if let Some((who, v)) = current {
            text.push_str(&ctx.t(format!(" 현재 {who}: {v}."), format!(" Current value on {who}: {v}.")));
        }
        return Composed::new(text + &ctx.unknown_note(), compute).capped(0.5);
    }
    let v = |x: f64| format::value(metric, x);
    if let [(who, s)] = summaries.as_slice() {
        let dir = direction_text(stats::direction(s), ctx.lang);
        let slope = format::per_hour(metric, s.slope_per_hour, ctx.lang);
        let text = ctx.t(
            format!(
                "{who}의 최근 {range} {name} 추이: {dir} ({slope}). 최소 {}, 최대 {}, 평균 {}, 현재 {}.",
                v(s.min),
                v(s.max),
                v(s.avg),
                v(s.last)
            ),
            format!(
                "{name} on {who} over the last {range}: {dir} ({slope}). Min {}, max {}, avg {}, now {}.",
                v(s.min),
                v(s.max),
                v(s.avg),
                v(s.last)
            ),
        );
        return Composed::new(text + &ctx.unknown_note(), compute);
    }
    summaries.sort_by(|a, b| b.1.slope_per_hour.total_cmp(&a.1.slope_per_hour));
    let total = summaries.len();
    let lines: Vec<String> = summaries
        .iter()
        .take(5)
        .map(|(who, s)| {
            let dir = direction_text(stats::direction(s), ctx.lang);
            let slope = format::per_hour(metric, s.slope_per_hour, ctx.lang);
            ctx.t(
                format!("- {who}: {dir} ({slope}), 평균 {}, 현재 {}", v(s.avg), v(s.last)),
                format!("- {who}: {dir} ({slope}), avg {}, now {}", v(s.avg), v(s.last)),
            )
        })
        .collect();
    let mut text = ctx.t(
        format!("최근 {range} {name} 추이 (서버 {total}대, 기울기 순):\n{}", lines.join("\n")),
        format!("{name} trends over the last {range} ({total} servers, steepest first):\n{}", lines.join("\n")),
    );
    if total > 5 {
        text.push_str(&ctx.t(format!("\n외 {}대", total - 5), format!("\nand {} more", total - 5)));
    }
    Composed::new(text + &ctx.unknown_note(), compute)
}

/// One server's disk projection.
struct DiskRow {
    who: String,
    current: f64,
    /// Growth per day and days until full (see [`projection`]).
    projection: Option<(f64, Option<f64>)>,
    free: Option<String>,
}

/// Growth per day and days until 100%, from the `analysis` crate's robust (Theil-Sen) forecast, so
/// the chat answer and `/api/ai/analyze`'s prediction agree; days `None` when not growing or past
/// the horizon. Falls back to a least-squares line when the series is too short for the forecast.
fn projection(points: &[(i64, f64)]) -> Option<(f64, Option<f64>)> {
    let now_secs = points.last()?.0.div_euclid(1000);
    let series: Vec<analysis::Point> =
        points.iter().map(|(t, v)| analysis::Point::new(t.div_euclid(1000), *v)).collect();
    let horizon = (HORIZON_DAYS * 86_400.0) as i64;
    let f = analysis::prediction::forecast(&series, 100.0, now_secs, horizon);
    match (&f.trend, f.outlook) {
        (Some(trend), analysis::prediction::Outlook::Reaches { in_secs, .. }) => {
            Some((trend.slope_per_day, Some(in_secs as f64 / 86_400.0)))
        }
        (Some(trend), analysis::prediction::Outlook::AlreadyReached) => Some((trend.slope_per_day, Some(0.0))),
        (Some(trend), _) => Some((trend.slope_per_day, None)),
        (None, _) => {
            let (slope_per_ms, _) = stats::fit(points)?;
            let days = stats::days_until_full(points).filter(|d| *d <= HORIZON_DAYS);
            Some((slope_per_ms * DAY_MS, days))
        }
    }
}

pub fn disk_full(ctx: &Ctx<'_>, server: Option<&str>) -> Composed {
    let series = series_for(ctx, server, Metric::Disk, None);
    let compute = ctx.t(
        format!("디스크 시계열 {}개에 선형 회귀, 100% 도달 시점 계산", series.len()),
        format!("Linear fit over {} disk series, time to 100%", series.len()),
    );
    let mut rows: Vec<DiskRow> = series
        .iter()
        .map(|(s, points)| {
            let fact = ctx.server(&s.server_id);
            let current = fact.map_or_else(|| points.last().map_or(0.0, |p| p.1), |f| f.disk);
            let free = fact
                .filter(|f| f.disk_total_bytes > 0)
                .map(|f| format::bytes(f.disk_total_bytes as f64 * (100.0 - f.disk).max(0.0) / 100.0));
            DiskRow { who: label(ctx, s, Metric::Disk), current, projection: projection(points), free }
        })
        .collect();

    if rows.is_empty() {
        let mut text = ctx.t(
            "디스크 사용 기록이 부족해 고갈 시점을 예측할 수 없습니다.".to_owned(),
            "Not enough disk history to project when it fills.".to_owned(),
        );
        let current: Vec<String> = match server.and_then(|id| ctx.server(id)) {
            Some(s) => vec![format!("{} {}", s.name, pct(s.disk))],
            None => {
                let mut all: Vec<_> = ctx.scope();
                all.sort_by(|a, b| b.disk.total_cmp(&a.disk));
                all.iter().take(3).map(|s| format!("{} {}", s.name, pct(s.disk))).collect()
            }
        };
        if !current.is_empty() {
            text.push_str(&ctx.t(
                format!(" 현재 디스크 사용률: {}.", current.join(", ")),
                format!(" Current disk usage: {}.", current.join(", ")),
            ));
        }
        return Composed::new(text + &ctx.unknown_note(), compute).capped(0.5);
    }

    let line = |DiskRow { who, current, projection, free }: &DiskRow| -> String {
        let free_ko = free.as_ref().map(|f| format!(" (남은 공간 {f})")).unwrap_or_default();
        let free_en = free.as_ref().map(|f| format!(" ({f} free)")).unwrap_or_default();
        match projection {
            Some((per_day, Some(days))) => ctx.t(
                format!(
                    "{who} 디스크 사용률 {}{free_ko}, 하루 약 {per_day:.1}%p씩 증가하고 있어 약 {days:.1}일 후 가득 찰 것으로 예상됩니다.",
                    pct(*current)
                ),
                format!(
                    "Disk on {who} is at {}{free_en} and growing about {per_day:.1} points/day: about {days:.1} days until full.",
                    pct(*current)
                ),
            ),
            Some((per_day, None)) if *per_day > 0.01 => ctx.t(
                format!("{who} 디스크 사용률 {}{free_ko}: 증가 속도가 느려 1년 내 고갈은 예상되지 않습니다.", pct(*current)),
                format!("Disk on {who} is at {}{free_en}: no exhaustion expected within a year.", pct(*current)),
            ),
            Some(_) => ctx.t(
                format!("{who} 디스크 사용률 {}{free_ko}: 증가 추세가 없어 조회 기간 내 고갈은 예상되지 않습니다.", pct(*current)),
                format!("Disk on {who} is at {}{free_en}: no exhaustion expected in range (usage is not growing).", pct(*current)),
            ),
            None => ctx.t(
                format!("{who} 디스크 사용률 {}{free_ko}: 기록이 부족해 예측할 수 없습니다.", pct(*current)),
                format!("Disk on {who} is at {}{free_en}: too little history to project.", pct(*current)),
            ),
        }
    };

    if rows.len() == 1 || server.is_some() {
        let text: Vec<String> = rows.iter().map(line).collect();
        return Composed::new(text.join("\n") + &ctx.unknown_note(), compute);
    }
    // Soonest to fill first; the rest only counted.
    let days_of = |r: &DiskRow| r.projection.and_then(|(_, d)| d);
    rows.sort_by(|a, b| days_of(a).unwrap_or(f64::INFINITY).total_cmp(&days_of(b).unwrap_or(f64::INFINITY)));
    let filling: Vec<String> = rows.iter().filter(|r| days_of(r).is_some()).map(|r| format!("- {}", line(r))).collect();
    let calm = rows.len() - filling.len();
    let text = if filling.is_empty() {
        ctx.t(
            format!("서버 {}대 모두 조회 기간 내 디스크 고갈이 예상되지 않습니다.", rows.len()),
            format!("No exhaustion expected in range on any of {} servers.", rows.len()),
        )
    } else {
        ctx.t(
            format!(
                "디스크 고갈 예상 서버 {}대:\n{}\n나머지 {calm}대는 고갈 예상 없음.",
                filling.len(),
                filling.join("\n")
            ),
            format!(
                "{} server(s) projected to fill:\n{}\nThe other {calm} show no exhaustion in range.",
                filling.len(),
                filling.join("\n")
            ),
        )
    };
    Composed::new(text + &ctx.unknown_note(), compute)
}
