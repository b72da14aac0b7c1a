//! Answers from the latest values: top/bottom N by a metric, servers above a threshold, comparisons.

use super::answer::{Composed, Ctx};
use super::format::{self, pct};
use super::{Metric, ServerFact};

fn sorted(servers: Vec<&ServerFact>, metric: Metric, ascending: bool) -> Vec<&ServerFact> {
    let mut servers = servers;
    servers.sort_by(|a, b| {
        let order = metric.value(a).total_cmp(&metric.value(b));
        if ascending { order } else { order.reverse() }
    });
    servers
}

pub fn top_n(ctx: &Ctx<'_>, metric: Metric, n: usize, ascending: bool) -> Composed {
    let ranked = sorted(ctx.scope(), metric, ascending);
    let name = ctx.metric(metric);
    let compute = ctx.t(
        format!("{name} 기준 {} 정렬, 상위 {n}개 선택", if ascending { "오름차순" } else { "내림차순" }),
        format!("Sorted by {name} {}, took {n}", if ascending { "ascending" } else { "descending" }),
    );
    let Some(first) = ranked.first() else {
        return Composed::new(ctx.t("서버 데이터가 없습니다.".to_owned(), "No server data yet.".to_owned()), compute)
            .capped(0.5);
    };
    if n == 1 {
        let v = format::value(metric, metric.value(first));
        let text = match ascending {
            false => ctx.t(
                format!("{name}가 가장 높은 서버는 {} ({v})입니다.", first.name),
                format!("{} has the highest {name}: {v}.", first.name),
            ),
            true => ctx.t(
                format!("{name}가 가장 낮은 서버는 {} ({v})입니다.", first.name),
                format!("{} has the lowest {name}: {v}.", first.name),
            ),
        };
        return Composed::new(text + &ctx.unknown_note(), compute);
    }
    let shown = n.min(ranked.len());
    let lines: Vec<String> = ranked
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, s)| format!("{}. {} {}", i + 1, s.name, format::value(metric, metric.value(s))))
        .collect();
    let header = match ascending {
        false => ctx.t(format!("{name} 상위 {shown}개 서버:"), format!("Top {shown} servers by {name}:")),
        true => ctx.t(format!("{name} 하위 {shown}개 서버:"), format!("Lowest {shown} servers by {name}:")),
    };
    Composed::new(format!("{header}\n{}{}", lines.join("\n"), ctx.unknown_note()), compute)
}

pub fn above(ctx: &Ctx<'_>, metric: Metric, threshold: f64) -> Composed {
    // Traffic thresholds are said in MB/s ("above 50"); percentages and load as they are.
    let limit = if metric == Metric::Network { threshold * 1_000_000.0 } else { threshold };
    let shown = format::value(metric, limit);
    let name = ctx.metric(metric);
    let ranked = sorted(ctx.scope(), metric, false);
    let over: Vec<&&ServerFact> = ranked.iter().filter(|s| metric.value(s) >= limit).collect();
    let compute = ctx.t(
        format!("{name} {shown} 이상 필터: {}대", over.len()),
        format!("Filtered {name} at or above {shown}: {}", over.len()),
    );
    if over.is_empty() {
        let text = match ranked.first() {
            Some(top) => {
                let v = format::value(metric, metric.value(top));
                ctx.t(
                    format!("{name} {shown} 이상인 서버는 없습니다. 가장 높은 서버는 {} ({v})입니다.", top.name),
                    format!("No server has {name} at or above {shown}. The highest is {} at {v}.", top.name),
                )
            }
            None => ctx.t("서버 데이터가 없습니다.".to_owned(), "No server data yet.".to_owned()),
        };
        return Composed::new(text + &ctx.unknown_note(), compute);
    }
    let items: Vec<String> =
        over.iter().map(|s| format!("{} {}", s.name, format::value(metric, metric.value(s)))).collect();
    let text = ctx.t(
        format!("{name} {shown} 이상인 서버 {}대: {}.", over.len(), items.join(", ")),
        format!("{} server(s) with {name} at or above {shown}: {}.", over.len(), items.join(", ")),
    );
    Composed::new(text + &ctx.unknown_note(), compute)
}

pub fn compare(ctx: &Ctx<'_>, named: &[String], metric: Option<Metric>) -> Composed {
    let found: Vec<&ServerFact> = named.iter().filter_map(|id| ctx.server(id)).collect();
    let servers = if found.is_empty() { ctx.facts.servers.iter().collect() } else { found };
    if servers.is_empty() {
        return Composed::new(
            ctx.t("비교할 서버 데이터가 없습니다.".to_owned(), "No server data to compare.".to_owned()),
            ctx.t("비교 대상 없음".to_owned(), "Nothing to compare".to_owned()),
        )
        .capped(0.4);
    }
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    let compute = ctx.t(format!("비교: {}", names.join(", ")), format!("Compared {}", names.join(", ")));
    let text = match metric {
        Some(metric) => compare_one(ctx, &servers, metric),
        None => {
            let lines: Vec<String> = servers
                .iter()
                .map(|s| {
                    let status = format::status_name(&s.status, ctx.lang);
                    ctx.t(
                        format!(
                            "- {}: CPU {}, 메모리 {}, 디스크 {}, 부하 {:.2} ({status})",
                            s.name,
                            pct(s.cpu),
                            pct(s.memory),
                            pct(s.disk),
                            s.load1
                        ),
                        format!(
                            "- {}: CPU {}, memory {}, disk {}, load {:.2} ({status})",
                            s.name,
                            pct(s.cpu),
                            pct(s.memory),
                            pct(s.disk),
                            s.load1
                        ),
                    )
                })
                .collect();
            let mut text =
                ctx.t(format!("서버 비교:\n{}", lines.join("\n")), format!("Server comparison:\n{}", lines.join("\n")));
            if let Some(busiest) = servers.iter().max_by(|a, b| a.cpu.total_cmp(&b.cpu)).filter(|_| servers.len() > 1) {
                text.push_str(&ctx.t(
                    format!("\nCPU가 가장 높은 서버는 {} ({})입니다.", busiest.name, pct(busiest.cpu)),
                    format!("\n{} has the highest CPU ({}).", busiest.name, pct(busiest.cpu)),
                ));
            }
            text
        }
    };
    let capped = if ctx.parsed.unknown.is_empty() { None } else { Some(0.5) };
    let composed = Composed::new(text + &ctx.unknown_note(), compute);
    match capped {
        Some(cap) => composed.capped(cap),
        None => composed,
    }
}

fn compare_one(ctx: &Ctx<'_>, servers: &[&ServerFact], metric: Metric) -> String {
    let name = ctx.metric(metric);
    let lines: Vec<String> =
        servers.iter().map(|s| format!("- {}: {}", s.name, format::value(metric, metric.value(s)))).collect();
    let mut text =
        ctx.t(format!("{name} 비교:\n{}", lines.join("\n")), format!("{name} comparison:\n{}", lines.join("\n")));
    let ranked = sorted(servers.to_vec(), metric, false);
    if let (Some(high), Some(low)) = (ranked.first(), ranked.last())
        && ranked.len() > 1
    {
        let gap = metric.value(high) - metric.value(low);
        let gap_text = match metric {
            Metric::Network => format::rate(gap),
            Metric::Load => format!("{gap:.2}"),
            _ => format!("{gap:.1}%p"),
        };
        let gap_en = match metric {
            Metric::Network => format::rate(gap),
            Metric::Load => format!("{gap:.2}"),
            _ => format!("{gap:.1} points"),
        };
        text.push_str(&ctx.t(
            format!(
                "\n가장 높은 서버는 {} ({})로, 가장 낮은 {}보다 {gap_text} 높습니다.",
                high.name,
                format::value(metric, metric.value(high)),
                low.name
            ),
            format!(
                "\n{} is highest at {}, {gap_en} above {}.",
                high.name,
                format::value(metric, metric.value(high)),
                low.name
            ),
        ));
    }
    text
}
