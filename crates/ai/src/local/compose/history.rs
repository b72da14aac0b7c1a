//! Answers from history: a metric's trend over a window, averages/peaks over a window, and when a disk
//! (or memory) fills at its current pace, by the `analysis` crate's robust forecast.

use super::super::format::{self, pct};
use super::super::question::Agg;
use super::super::stats::{self, Direction};
use super::super::text::Lang;
use super::super::words::DAY;
use super::super::{Metric, Series};
use super::{Composed, Ctx};

/// Projections further out than this are "none expected": a linear pace says nothing a year ahead.
const HORIZON_SECS: i64 = 365 * 86_400;

/// The series of `metric` for the servers in question, with only the points inside `window`.
fn series_in<'a>(ctx: &'a Ctx<'_>, metric: Metric, window: (i64, i64)) -> Vec<(&'a Series, Vec<(i64, f64)>)> {
    let ids: Vec<String> = if ctx.q.servers.is_empty() && ctx.q.filter.is_empty() {
        Vec::new()
    } else {
        ctx.scope().iter().map(|s| s.id.clone()).collect()
    };
    let named_unknown = !ctx.q.servers.is_empty() && ids.is_empty();
    ctx.facts
        .series
        .iter()
        .filter(|s| {
            metric.matches_series(&s.metric) && !named_unknown && (ids.is_empty() || ids.contains(&s.server_id))
        })
        .map(|s| (s, s.points.iter().copied().filter(|(t, _)| *t >= window.0 && *t <= window.1).collect::<Vec<_>>()))
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

fn label(ctx: &Ctx<'_>, s: &Series, metric: Metric) -> String {
    let name = ctx.name(&s.server_id).to_owned();
    if s.metric == metric.key() || metric.matches_series(&s.metric) && s.metric == "network" {
        name
    } else {
        format!("{name} ({})", s.metric)
    }
}

fn direction_text(d: Direction, lang: Lang) -> &'static str {
    match (d, lang) {
        (Direction::Rising, Lang::Ko) => "증가 추세",
        (Direction::Falling, Lang::Ko) => "감소 추세",
        (Direction::Flat, Lang::Ko) => "안정적 (큰 변화 없음)",
        (Direction::Rising, Lang::En) => "rising",
        (Direction::Falling, Lang::En) => "falling",
        (Direction::Flat, Lang::En) => "steady",
    }
}

/// "the last 1 hour (16:40–17:40)".
fn window_words(ctx: &Ctx<'_>, window: (i64, i64)) -> String {
    let label = ctx.q.window_or_default().label(ctx.lang);
    format!("{label} ({})", ctx.range(window))
}

pub fn trend(ctx: &Ctx<'_>) -> Composed {
    let m = ctx.q.metric_or_cpu();
    let window = ctx.q.window_or_default().resolve(ctx.facts.now_ms, ctx.facts.utc_offset_secs);
    let name = ctx.metric(m);
    let when = window_words(ctx, window);
    let mut rows: Vec<(String, stats::Summary)> = series_in(ctx, m, window)
        .into_iter()
        .filter_map(|(s, p)| stats::summarize(&p).map(|sum| (label(ctx, s, m), sum)))
        .collect();
    let compute = ctx.t(
        format!("시계열 {}개의 기울기(최소제곱)와 최소/최대/평균 계산", rows.len()),
        format!("Least-squares slope and min/max/avg of {} series", rows.len()),
    );
    if rows.is_empty() {
        let current: Vec<String> =
            ctx.scope().iter().take(3).map(|s| format!("{} {}", s.name, format::value(m, m.value(s)))).collect();
        let mut text = ctx.t(
            format!("{when} 동안의 {name} 기록이 충분하지 않아 추세를 계산할 수 없습니다."),
            format!("Not enough {name} history over {when} to tell a trend."),
        );
        if !current.is_empty() && !ctx.q.servers.is_empty() {
            text.push_str(
                &ctx.t(
                    format!(" 현재 값: {}.", current.join(", ")),
                    format!(" Current value: {}.", current.join(", ")),
                ),
            );
        }
        return Composed::new(text + &ctx.unknown_note(), compute).capped(0.5).window(window);
    }
    let v = |x: f64| format::value(m, x);
    if let [(who, s)] = rows.as_slice() {
        let dir = direction_text(stats::direction(s), ctx.lang);
        let slope = format::per_hour(m, s.slope_per_hour, ctx.lang);
        let text = ctx.t(
            format!(
                "{who}의 {when} {name} 추이: {dir} ({slope}). 최소 {}, 최대 {}, 평균 {}, 현재 {}.",
                v(s.min),
                v(s.max),
                v(s.avg),
                v(s.last)
            ),
            format!(
                "{name} on {who} over {when}: {dir} ({slope}). Min {}, max {}, avg {}, now {}.",
                v(s.min),
                v(s.max),
                v(s.avg),
                v(s.last)
            ),
        );
        return Composed::new(text + &ctx.unknown_note(), compute).window(window);
    }
    rows.sort_by(|a, b| b.1.slope_per_hour.total_cmp(&a.1.slope_per_hour));
    let total = rows.len();
    let shown =
        if ctx.q.servers.is_empty() && ctx.q.filter.is_empty() { 5 } else { total.min(super::fleet::MAX_LISTED) };
    let lines: Vec<String> = rows
        .iter()
        .take(shown)
        .map(|(who, s)| {
            let dir = direction_text(stats::direction(s), ctx.lang);
            let slope = format::per_hour(m, s.slope_per_hour, ctx.lang);
            ctx.t(
                format!("- {who}: {dir} ({slope}), 평균 {}, 현재 {}", v(s.avg), v(s.last)),
                format!("- {who}: {dir} ({slope}), avg {}, now {}", v(s.avg), v(s.last)),
            )
        })
        .collect();
    let mut text = ctx.t(
        format!("{when} {name} 추이 (서버 {total}대, 기울기 순):\n{}", lines.join("\n")),
        format!("{name} trends over {when} ({}, steepest first):\n{}", format::servers(total), lines.join("\n")),
    );
    if total > shown {
        text.push_str(&ctx.t(format!("\n외 {}대", total - shown), format!("\nand {} more", total - shown)));
    }
    Composed::new(text + &ctx.unknown_note(), compute).window(window)
}

/// Average, peak or minimum over a window, from history.
pub fn aggregate_window(ctx: &Ctx<'_>) -> Composed {
    let m = ctx.q.metric_or_cpu();
    let window = ctx.q.window_or_default().resolve(ctx.facts.now_ms, ctx.facts.utc_offset_secs);
    let name = ctx.metric(m);
    let when = window_words(ctx, window);
    let rows: Vec<(String, Vec<(i64, f64)>)> =
        series_in(ctx, m, window).into_iter().map(|(s, p)| (label(ctx, s, m), p)).collect();
    let compute = ctx.t(
        format!("시계열 {}개의 평균/최대/최소 계산", rows.len()),
        format!("Average, peak and minimum of {} series", rows.len()),
    );
    if rows.is_empty() {
        return Composed::new(
            ctx.t(format!("{when} 동안의 {name} 기록이 없습니다."), format!("No {name} history over {when}."))
                + &ctx.unknown_note(),
            compute,
        )
        .capped(0.5)
        .window(window);
    }
    let v = |x: f64| format::value(m, x);
    let lines: Vec<String> = rows
        .iter()
        .map(|(who, p)| {
            let avg = p.iter().map(|x| x.1).sum::<f64>() / p.len() as f64;
            let (max_t, max) = p.iter().copied().fold((0, f64::MIN), |a, x| if x.1 > a.1 { x } else { a });
            let (min_t, min) = p.iter().copied().fold((0, f64::MAX), |a, x| if x.1 < a.1 { x } else { a });
            match ctx.q.agg {
                Some(Agg::Max) => ctx.t(
                    format!(
                        "{who}의 {when} {name} 최고치: {} ({}). 평균 {}, 최저 {}.",
                        v(max),
                        ctx.clock(max_t),
                        v(avg),
                        v(min)
                    ),
                    format!(
                        "Peak {name} on {who} over {when}: {} at {}. Average {}, minimum {}.",
                        v(max),
                        ctx.clock(max_t),
                        v(avg),
                        v(min)
                    ),
                ),
                Some(Agg::Min) => ctx.t(
                    format!(
                        "{who}의 {when} {name} 최저치: {} ({}). 평균 {}, 최고 {}.",
                        v(min),
                        ctx.clock(min_t),
                        v(avg),
                        v(max)
                    ),
                    format!(
                        "Minimum {name} on {who} over {when}: {} at {}. Average {}, peak {}.",
                        v(min),
                        ctx.clock(min_t),
                        v(avg),
                        v(max)
                    ),
                ),
                _ => ctx.t(
                    format!(
                        "{who}의 {when} 평균 {name}: {} (최저 {}, 최고 {}, 측정 {}회).",
                        v(avg),
                        v(min),
                        v(max),
                        p.len()
                    ),
                    format!(
                        "Average {name} on {who} over {when}: {} (min {}, max {}, {} readings).",
                        v(avg),
                        v(min),
                        v(max),
                        p.len()
                    ),
                ),
            }
        })
        .collect();
    Composed::new(lines.join("\n") + &ctx.unknown_note(), compute).window(window)
}

/// One series' projection: who, the current value, (growth per day, days until full), free space.
struct Row {
    who: String,
    current: f64,
    projection: Option<(f64, Option<f64>)>,
    free: Option<String>,
}

impl Row {
    fn days(&self) -> Option<f64> {
        self.projection.and_then(|(_, d)| d)
    }
}

/// One server's projection: growth per day and days until 100%, by the `analysis` crate's Theil-Sen
/// forecast (the same `/api/ai/analyze` runs); `None` days when not growing or past a year.
fn projection(points: &[(i64, f64)], now_ms: i64) -> Option<(f64, Option<f64>)> {
    let series: Vec<analysis::Point> =
        points.iter().map(|(t, v)| analysis::Point::new(t.div_euclid(1000), *v)).collect();
    let f = analysis::prediction::forecast(&series, 100.0, now_ms.div_euclid(1000), HORIZON_SECS);
    use analysis::prediction::Outlook;
    match (&f.trend, f.outlook) {
        (Some(t), Outlook::Reaches { in_secs, .. }) => Some((t.slope_per_day, Some(in_secs as f64 / 86_400.0))),
        (Some(t), Outlook::AlreadyReached) => Some((t.slope_per_day, Some(0.0))),
        (Some(t), _) => Some((t.slope_per_day, None)),
        (None, _) => {
            let (slope_per_ms, _) = stats::fit(points)?;
            Some((slope_per_ms * DAY as f64, stats::days_until_full(points).filter(|d| *d <= 365.0)))
        }
    }
}

/// Whether a least-squares line reaches 100 within two years (generous: the robust fit decides).
fn may_fill(points: &[(i64, f64)]) -> bool {
    match stats::fit(points) {
        Some((slope_per_ms, last)) => slope_per_ms > 0.0 && (100.0 - last) / (slope_per_ms * DAY as f64) < 730.0,
        None => true,
    }
}

/// A screened-out series: its least-squares growth, and no exhaustion.
fn screened(points: &[(i64, f64)]) -> Option<(f64, Option<f64>)> {
    stats::fit(points).map(|(slope_per_ms, _)| (slope_per_ms * DAY as f64, None))
}

pub fn forecast(ctx: &Ctx<'_>) -> Composed {
    let m = match ctx.q.metric {
        Some(m @ (Metric::Disk | Metric::Memory)) => m,
        _ => Metric::Disk,
    };
    let now = ctx.facts.now_ms;
    let window = (now - 7 * DAY, now);
    let name = ctx.metric(m);
    let series = series_in(ctx, m, window);
    let compute = ctx.t(
        format!("{name} 시계열 {}개에 Theil-Sen 추세, 100% 도달 시점 계산", series.len()),
        format!("Theil-Sen trend over {} {name} series, time to 100%", series.len()),
    );
    let fleet_wide = ctx.q.servers.is_empty() && series.len() > 1;
    let rows: Vec<Row> = series
        .iter()
        .map(|(s, p)| {
            let fact = ctx.server(&s.server_id);
            let current = fact.map_or_else(|| p.last().map_or(0.0, |x| x.1), |f| m.value(f));
            let free = fact
                .filter(|f| m == Metric::Disk && f.specs.disk_bytes > 0)
                .map(|f| format::bytes(f.specs.disk_bytes as f64 * (100.0 - f.disk).max(0.0) / 100.0));
            // Across the fleet, a cheap least-squares screen spares the (quadratic) robust fit for
            // series that are not heading for 100% within two years.
            let projection = if fleet_wide && !may_fill(p) { screened(p) } else { projection(p, now) };
            Row { who: label(ctx, s, m), current, projection, free }
        })
        .collect();
    if rows.is_empty() {
        let current: Vec<String> =
            ctx.scope().iter().take(3).map(|s| format!("{} {}", s.name, pct(m.value(s)))).collect();
        let mut text = ctx.t(
            format!("{name} 기록이 부족해 고갈 시점을 예측할 수 없습니다."),
            format!("Not enough {name} history to project when it fills."),
        );
        if !current.is_empty() && !ctx.q.servers.is_empty() {
            text.push_str(
                &ctx.t(format!(" 현재: {}.", current.join(", ")), format!(" Current: {}.", current.join(", "))),
            );
        }
        return Composed::new(text + &ctx.unknown_note(), compute).capped(0.5).window(window);
    }
    let offset = ctx.facts.utc_offset_secs;
    let line = |Row { who, current, projection: proj, free }: &Row| -> String {
        let free_ko = free.as_ref().map(|f| format!(", 남은 공간 {f}")).unwrap_or_default();
        let free_en = free.as_ref().map(|f| format!(", {f} free")).unwrap_or_default();
        match proj {
            Some((per_day, Some(days))) => {
                let date = super::super::time::day(now + (days * DAY as f64) as i64, offset);
                ctx.t(
                    format!("{who}: {name} {}{free_ko}, 하루 약 {per_day:.2}%p씩 증가해 약 {days:.1}일 후({date}경) 가득 찰 것으로 예상됩니다.", pct(*current)),
                    format!("{who}: {name} at {}{free_en}, growing about {per_day:.2} points/day: full in about {days:.1} days (around {date}).", pct(*current)),
                )
            }
            Some((per_day, None)) if *per_day > 0.01 => ctx.t(
                format!("{who}: {name} {}{free_ko}, 증가 속도가 느려 1년 안에는 가득 차지 않습니다.", pct(*current)),
                format!("{who}: {name} at {}{free_en}, growing too slowly to fill within a year.", pct(*current)),
            ),
            Some(_) => ctx.t(
                format!("{who}: {name} {}{free_ko}, 증가 추세가 없어 고갈이 예상되지 않습니다.", pct(*current)),
                format!("{who}: {name} at {}{free_en}, not growing: no exhaustion expected.", pct(*current)),
            ),
            None => ctx.t(
                format!("{who}: {name} {}{free_ko}, 기록이 부족해 예측할 수 없습니다.", pct(*current)),
                format!("{who}: {name} at {}{free_en}, too little history to project.", pct(*current)),
            ),
        }
    };
    let named = !ctx.q.servers.is_empty();
    if rows.len() == 1 || named {
        let text: Vec<String> = rows.iter().map(line).collect();
        return Composed::new(text.join("\n") + &ctx.unknown_note(), compute).window(window);
    }
    let mut rows = rows;
    rows.sort_by(|a, b| a.days().unwrap_or(f64::INFINITY).total_cmp(&b.days().unwrap_or(f64::INFINITY)));
    let filling: Vec<String> =
        rows.iter().filter(|r| r.days().is_some()).take(5).map(|r| format!("- {}", line(r))).collect();
    let calm = rows.iter().filter(|r| r.days().is_none()).count();
    let text = if filling.is_empty() {
        ctx.t(
            format!("서버 {}대 모두 1년 안에 {name}{} 가득 찰 것으로 보이지 않습니다.", rows.len(), format::ga(name)),
            if rows.len() == 1 {
                format!("No {name} is projected to fill within a year on the 1 server.")
            } else {
                format!("No {name} is projected to fill within a year on any of {} servers.", rows.len())
            },
        )
    } else {
        ctx.t(
            format!(
                "{name}{} 가득 찰 것으로 예상되는 서버 (빠른 순):\n{}\n나머지 {calm}대는 고갈 예상 없음.",
                format::ga(name),
                filling.join("\n")
            ),
            format!(
                "Projected to fill, soonest first:\n{}\nThe other {calm} show no exhaustion within a year.",
                filling.join("\n")
            ),
        )
    };
    Composed::new(text + &ctx.unknown_note(), compute).window(window)
}
