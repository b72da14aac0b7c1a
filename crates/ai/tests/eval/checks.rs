//! The checks of the evaluation set: each names a value or a set of names that is computed here from the
//! world, and how the answer must show it.
//!
//! - `has:SET` every name of SET appears; `lacks:SET` none does; `first:SET` the first server named is in
//!   SET; `order:SET` SET's names appear in SET's order; `count:SET` the number of SET's items appears;
//!   `yn:SET` the answer starts with yes when SET is non-empty, no when it is empty.
//! - `num:VALUE` a number within rounding of VALUE appears; `mb:VALUE` a byte count in MB or GB does.
//! - `hhmm:TIME` the local time of TIME appears; `window:W` the answer's window is W; `clarify` the
//!   answer asks back (and an answer that asks back without this check fails).
//!
//! Sets: `all`, `attention`, `status:S`, `type:T`, `env:E`, `provider:P`, `loc:L`, `source:S`, `server:ID`,
//! `top:M:N`, `bottom:M:N` (optionally `@SET` to rank within SET), `above:M:X`, `below:M:X`, joined by `+`
//! (all of) or `|` (any of); `alerts:firing[:SEVERITY]`, `alerts:pending`, `alerts:resolved`,
//! `alerts:unacked`, `alerts:server:ID`, `ackers`, `procs:ID`, `events:W[:KIND]`, `silences:active`,
//! `silencers:ID`, `checks:all|up|down`, `engines:all|up|down|open|chain`, `engine:NAME`.
//! Metric values skip offline servers (their numbers are stale).

use super::world::{DAY, HOUR, MIN, NOW, World};

/// What the engine answered, as the checks see it.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub intent: String,
    pub text: String,
    pub lang: String,
    pub confidence: f64,
    pub clarify: Vec<String>,
    pub window: Option<(i64, i64)>,
}

impl Reply {
    /// The "I didn't understand" reply.
    pub fn is_help_fallback(&self) -> bool {
        self.intent == "help" && self.confidence < 0.5
    }
}

/// `Err` says what failed.
pub fn check(world: &World, spec: &str, reply: &Reply) -> Result<(), String> {
    let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
    let text = &reply.text;
    match kind {
        "has" => {
            let missing: Vec<String> = set(world, arg)?.into_iter().filter(|n| !mentions(text, n)).collect();
            if missing.is_empty() { Ok(()) } else { Err(format!("missing {missing:?}")) }
        }
        "lacks" => {
            let present: Vec<String> = set(world, arg)?.into_iter().filter(|n| mentions(text, n)).collect();
            if present.is_empty() { Ok(()) } else { Err(format!("should not name {present:?}")) }
        }
        "first" => {
            let want = set(world, arg)?;
            let first = world
                .servers
                .iter()
                .filter_map(|s| position(text, &s.name).map(|p| (p, s.name.clone())))
                .min_by_key(|(p, _)| *p);
            match first {
                Some((_, name)) if want.contains(&name) => Ok(()),
                other => Err(format!("first server {:?}, want one of {want:?}", other.map(|o| o.1))),
            }
        }
        "order" => {
            let want = set(world, arg)?;
            let positions: Vec<Option<usize>> = want.iter().map(|n| position(text, n)).collect();
            let ordered = positions.windows(2).all(|w| matches!((w[0], w[1]), (Some(a), Some(b)) if a < b));
            if positions.iter().all(Option::is_some) && ordered {
                Ok(())
            } else {
                Err(format!("want {want:?} in order"))
            }
        }
        "count" => {
            let n = set(world, arg)?.len();
            let ok = integers(text).contains(&(n as i64)) || (n == 0 && says_none(text));
            if ok { Ok(()) } else { Err(format!("count {n} not stated")) }
        }
        "yn" => {
            let yes = !set(world, arg)?.is_empty();
            let t = text.trim_start();
            let said_yes = ["Yes", "네", "예,"].iter().any(|p| t.starts_with(p));
            let said_no = ["No", "아니"].iter().any(|p| t.starts_with(p));
            match (yes, said_yes, said_no) {
                (true, true, _) | (false, _, true) => Ok(()),
                _ => Err(format!("want {}", if yes { "yes" } else { "no" })),
            }
        }
        "num" => {
            let want = value(world, arg)?;
            if numbers(text).iter().any(|(x, decimals)| close(*x, *decimals, want)) {
                Ok(())
            } else {
                Err(format!("no number near {want:.3}"))
            }
        }
        "mb" => {
            let bytes = value(world, arg)?;
            let ok = numbers_with_unit(text).iter().any(|(x, d, unit)| match unit.as_str() {
                "MB" => close(*x, *d, bytes / 1e6),
                "GB" => close(*x, *d, bytes / 1e9),
                _ => false,
            });
            if ok { Ok(()) } else { Err(format!("no byte count near {:.1} MB", bytes / 1e6)) }
        }
        "hhmm" => {
            let t = time(world, arg)?;
            let want = World::hhmm(t);
            if text.contains(&want) { Ok(()) } else { Err(format!("time {want} not stated")) }
        }
        "window" => {
            let want = window(arg)?;
            if reply.window == Some(want) { Ok(()) } else { Err(format!("window {:?}, want {want:?}", reply.window)) }
        }
        "clarify" => {
            if reply.clarify.is_empty() {
                Err("no clarifying question".into())
            } else {
                Ok(())
            }
        }
        other => Err(format!("unknown check {other}")),
    }
}

/// `W` of `window:W` and `events:W` as `(from, to)`: `today`, `yesterday`, `week`, `15m`/`6h`/`7d`,
/// or a time of day (`1500-1600`, `y1500-1600` for yesterday's, `s0900` for since 09:00).
pub fn window(w: &str) -> Result<(i64, i64), String> {
    let today = World::local_midnight(NOW);
    Ok(match w {
        "today" => (today, NOW),
        "yesterday" => (today - DAY, today),
        // The week starts on Monday; NOW is a Thursday.
        "week" => (today - 3 * DAY, NOW),
        // A time of day: `1500-1600` today, `y1500-1600` yesterday, `s0900` since 09:00 today.
        other if other.ends_with(|c: char| c.is_ascii_digit()) && other.len() >= 5 => {
            let hhmm = |t: &str| -> Result<i64, String> {
                let v: i64 = t.parse().map_err(|_| format!("bad window {other}"))?;
                Ok((v / 100) * HOUR + (v % 100) * MIN)
            };
            if let Some(since) = other.strip_prefix('s') {
                (today + hhmm(since)?, NOW)
            } else {
                let (day, span) = match other.strip_prefix('y') {
                    Some(rest) => (today - DAY, rest),
                    None => (today, other),
                };
                let (a, b) = span.split_once('-').ok_or_else(|| format!("bad window {other}"))?;
                (day + hhmm(a)?, (day + hhmm(b)?).min(NOW))
            }
        }
        other => {
            let (n, unit) = other.split_at(other.len() - 1);
            let n: i64 = n.parse().map_err(|_| format!("bad window {other}"))?;
            let unit = match unit {
                "m" => MIN,
                "h" => HOUR,
                "d" => DAY,
                _ => return Err(format!("bad window {other}")),
            };
            (NOW - n * unit, NOW)
        }
    })
}

fn metric_of(world: &World, id: &str, metric: &str) -> Result<f64, String> {
    let s = world.server(id).ok_or_else(|| format!("no server {id}"))?;
    Ok(match metric {
        "cpu" => s.cpu,
        "memory" => s.memory,
        "disk" => s.disk,
        "load" | "load1" => s.load[0],
        "network" => s.net_in + s.net_out,
        "network_in_mb" => s.net_in / 1e6,
        "network_out_mb" => s.net_out / 1e6,
        "uptime_days" => s.uptime_secs as f64 / 86_400.0,
        other => return Err(format!("unknown metric {other}")),
    })
}

/// Names of servers, alerts' servers, events' subjects, and so on (see the module doc).
pub fn set(world: &World, expr: &str) -> Result<Vec<String>, String> {
    if let Some((a, b)) = expr.split_once('|') {
        let mut out = set(world, a)?;
        for n in set(world, b)? {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        return Ok(out);
    }
    if let Some((a, b)) = expr.split_once('+') {
        let b = set(world, b)?;
        return Ok(set(world, a)?.into_iter().filter(|n| b.contains(n)).collect());
    }
    let name_of = |id: &str| world.server(id).map_or_else(|| id.to_owned(), |s| s.name.clone());
    let (expr, within) = match expr.split_once('@') {
        Some((head, within)) => (head, Some(set(world, within)?)),
        None => (expr, None),
    };
    let parts: Vec<&str> = expr.split(':').collect();
    let servers = |f: &dyn Fn(&super::world::Srv) -> bool| -> Vec<String> {
        world.servers.iter().filter(|s| f(s)).map(|s| s.name.clone()).collect()
    };
    let live = |s: &super::world::Srv| s.status != "offline";
    Ok(match parts.as_slice() {
        ["all"] => servers(&|_| true),
        ["attention"] => servers(&|s| matches!(s.status.as_str(), "critical" | "offline" | "warning")),
        ["status", st] => servers(&|s| s.status == *st),
        ["type", t] => servers(&|s| s.server_type == *t),
        ["env", e] => servers(&|s| s.environment == *e),
        ["provider", p] => servers(&|s| s.provider.eq_ignore_ascii_case(p)),
        ["loc", l] => servers(&|s| s.location.to_lowercase().contains(&l.to_lowercase())),
        ["source", src] => servers(&|s| s.source == *src),
        ["server", id] => vec![world.server(id).map(|s| s.name.clone()).ok_or_else(|| format!("no server {id}"))?],
        ["top" | "bottom", metric, n] => {
            let n: usize = n.parse().map_err(|_| format!("bad count in {expr}"))?;
            let mut ranked: Vec<(String, f64)> = world
                .servers
                .iter()
                .filter(|s| live(s) && within.as_ref().is_none_or(|w| w.contains(&s.name)))
                .map(|s| Ok((s.name.clone(), metric_of(world, &s.id, metric)?)))
                .collect::<Result<_, String>>()?;
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            if parts[0] == "bottom" {
                ranked.reverse();
            }
            ranked.into_iter().take(n).map(|(name, _)| name).collect()
        }
        ["above" | "below", metric, x] => {
            let x: f64 = x.parse().map_err(|_| format!("bad number in {expr}"))?;
            let mut out = Vec::new();
            for s in world.servers.iter().filter(|s| live(s)) {
                let v = metric_of(world, &s.id, metric)?;
                if (parts[0] == "above" && v >= x) || (parts[0] == "below" && v <= x) {
                    out.push(s.name.clone());
                }
            }
            out
        }
        ["alerts", "firing"] => alert_servers(world, &|a| a.state == "firing"),
        ["alerts", "firing", sev] => alert_servers(world, &|a| a.state == "firing" && a.severity == *sev),
        ["alerts", "pending"] => alert_servers(world, &|a| a.state == "pending"),
        ["alerts", "resolved"] => alert_servers(world, &|a| a.state == "resolved"),
        ["alerts", "unacked"] => alert_servers(world, &|a| a.state == "firing" && a.acked_by.is_none()),
        ["alerts", "server", id] => alert_servers(world, &|a| a.state == "firing" && a.server_id == *id),
        ["ackers"] => world.alerts.iter().filter(|a| a.state == "firing").filter_map(|a| a.acked_by.clone()).collect(),
        ["procs", id] => world
            .alerts
            .iter()
            .find(|a| a.server_id == *id && !a.processes.is_empty())
            .map(|a| a.processes.iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default(),
        ["events", w] | ["events", w, _] => {
            let (from, to) = window(w)?;
            world
                .events
                .iter()
                .filter(|e| e.at >= from && e.at <= to && parts.get(2).is_none_or(|k| e.kind == *k))
                .map(|e| e.server_id.as_deref().map_or_else(|| e.check.clone().unwrap_or_default(), name_of))
                .collect()
        }
        ["silences", "active"] => active_silences(world)
            .map(|s| s.server_id.as_deref().map_or_else(|| s.rule_id.clone().unwrap_or_default(), name_of))
            .collect(),
        ["silencers", id] => active_silences(world)
            .filter(|s| s.server_id.as_deref() == Some(*id))
            .map(|s| s.created_by.clone())
            .collect(),
        ["checks", "all"] => world.checks.iter().map(|c| c.name.clone()).collect(),
        ["checks", st] => world.checks.iter().filter(|c| c.status == *st).map(|c| c.name.clone()).collect(),
        ["engines", "all"] => world.engines.iter().map(|e| e.name.clone()).collect(),
        ["engines", "up"] => world.engines.iter().filter(|e| e.health == "up").map(|e| e.name.clone()).collect(),
        ["engines", "down"] => world.engines.iter().filter(|e| e.health == "down").map(|e| e.name.clone()).collect(),
        ["engines", "open"] => world.engines.iter().filter(|e| e.circuit == "open").map(|e| e.name.clone()).collect(),
        ["engines", "chain"] => world.chain.clone(),
        ["engine", name] => world.engines.iter().filter(|e| e.name == *name).map(|e| e.name.clone()).collect(),
        _ => return Err(format!("unknown set {expr}")),
    })
}

fn alert_servers(world: &World, f: &dyn Fn(&super::world::Alrt) -> bool) -> Vec<String> {
    world
        .alerts
        .iter()
        .filter(|a| f(a))
        .map(|a| world.server(&a.server_id).map_or_else(|| a.server_id.clone(), |s| s.name.clone()))
        .collect()
}

fn active_silences(world: &World) -> impl Iterator<Item = &super::world::Sil> {
    world.silences.iter().filter(|s| s.starts <= NOW && NOW < s.ends)
}

/// A number the answer must show (see the module doc).
pub fn value(world: &World, expr: &str) -> Result<f64, String> {
    let (op, rest) = expr.split_once(':').ok_or_else(|| format!("bad value {expr}"))?;
    let parts: Vec<&str> = rest.split(':').collect();
    match (op, parts.as_slice()) {
        ("val", [id, metric]) => metric_of(world, id, metric),
        ("avg" | "max" | "min", [metric]) => aggregate(world, op, metric, None),
        ("avg" | "max" | "min", [metric, ..]) => aggregate(world, op, metric, rest.split_once(':').map(|f| f.1)),
        ("savg" | "smax" | "smin", [id, metric, w]) => {
            let (from, to) = window(w)?;
            let metric = if *metric == "load" { "load1" } else { metric };
            let values: Vec<f64> = world.points(id, metric, from, to).into_iter().map(|p| p.1).collect();
            if values.is_empty() {
                return Err(format!("no points for {expr}"));
            }
            Ok(match op {
                "savg" => values.iter().sum::<f64>() / values.len() as f64,
                "smax" => values.iter().copied().fold(f64::MIN, f64::max),
                _ => values.iter().copied().fold(f64::MAX, f64::min),
            })
        }
        ("fc", [id, metric]) => forecast_days(world, id, metric),
        ("alert", [id, field]) => {
            let a = world
                .alerts
                .iter()
                .filter(|a| a.server_id == *id)
                .min_by_key(|a| match a.state.as_str() {
                    "firing" => 0,
                    "pending" => 1,
                    _ => 2,
                })
                .ok_or_else(|| format!("no alert on {id}"))?;
            match *field {
                "value" => Ok(a.value),
                "threshold" => Ok(a.threshold),
                other => Err(format!("unknown alert field {other}")),
            }
        }
        ("budget", _) => budget_value(world, rest),
        ("gw", ["hit_rate"]) => Ok(world.cache_hits as f64 * 100.0 / (world.cache_hits + world.cache_misses) as f64),
        ("gw", ["queries"]) => Ok(world.queries as f64),
        ("check", [name, field]) => {
            let c = world.checks.iter().find(|c| c.name == *name).ok_or_else(|| format!("no check {name}"))?;
            match *field {
                "latency" => c.latency_ms,
                "uptime24h" => c.uptime_24h,
                "uptime7d" => c.uptime_7d,
                "cert" => c.cert_days.map(|d| d as f64),
                _ => None,
            }
            .ok_or_else(|| format!("no {field} on {name}"))
        }
        _ => Err(format!("unknown value {expr}")),
    }
}

fn aggregate(world: &World, op: &str, metric: &str, filter: Option<&str>) -> Result<f64, String> {
    let within = filter.map(|f| set(world, f)).transpose()?;
    let values: Vec<f64> = world
        .servers
        .iter()
        .filter(|s| s.status != "offline" && within.as_ref().is_none_or(|w| w.contains(&s.name)))
        .map(|s| metric_of(world, &s.id, metric))
        .collect::<Result<_, _>>()?;
    if values.is_empty() {
        return Err("no servers".into());
    }
    Ok(match op {
        "avg" => values.iter().sum::<f64>() / values.len() as f64,
        "max" => values.iter().copied().fold(f64::MIN, f64::max),
        _ => values.iter().copied().fold(f64::MAX, f64::min),
    })
}

fn budget_value(world: &World, field: &str) -> Result<f64, String> {
    let b = &world.budget;
    let pct = |a: f64, b: f64| a * 100.0 / b;
    let ai = |p: &str| b.ai.iter().find(|(name, _, _)| name == p).ok_or_else(|| format!("no AI provider {p}"));
    Ok(match field.split_once(':') {
        Some(("ai_used", p)) => f64::from(ai(p)?.1),
        Some(("ai_left", p)) => {
            let (_, used, limit) = ai(p)?;
            f64::from(limit.ok_or("no limit")?.saturating_sub(*used))
        }
        _ => match field {
            "egress_mtd" => b.egress_mtd as f64,
            "egress_proj" => b.egress_projected as f64,
            "egress_hub" => b.egress_hub as f64,
            "egress_pct" => pct(b.egress_mtd as f64, b.egress_limit as f64),
            "egress_proj_pct" => pct(b.egress_projected as f64, b.egress_limit as f64),
            "vm_used" => b.vm_used,
            "vm_left" => b.vm_limit - b.vm_used,
            "vm_pct" => pct(b.vm_used, b.vm_limit),
            "disk_pct" => pct(b.disk_used as f64, b.disk_limit as f64),
            "cpu_avg" => b.cpu_avg,
            "cpu_sustained" => b.cpu_sustained,
            other => return Err(format!("unknown budget field {other}")),
        },
    })
}

/// Days until the series reaches 100%, by the `analysis` crate's forecast over the last week.
fn forecast_days(world: &World, id: &str, metric: &str) -> Result<f64, String> {
    let points: Vec<analysis::Point> = world
        .points(id, metric, NOW - 7 * DAY, NOW)
        .into_iter()
        .map(|(t, v)| analysis::Point::new(t / 1000, v))
        .collect();
    let f = analysis::prediction::forecast(&points, 100.0, NOW / 1000, 365 * 86_400);
    match f.outlook {
        analysis::prediction::Outlook::Reaches { in_secs, .. } => Ok(in_secs as f64 / 86_400.0),
        other => Err(format!("{id} {metric} does not reach 100%: {other:?}")),
    }
}

/// A time the answer must show: `event:KIND:ID` (the latest such event), `alert:ID` (when the firing
/// alert fired), `silence_end:ID`.
fn time(world: &World, expr: &str) -> Result<i64, String> {
    let parts: Vec<&str> = expr.split(':').collect();
    match parts.as_slice() {
        ["event", kind, id] => world
            .events
            .iter()
            .rev()
            .find(|e| e.kind == *kind && e.server_id.as_deref() == Some(*id))
            .map(|e| e.at)
            .ok_or_else(|| format!("no {kind} event for {id}")),
        ["alert", id] => world
            .alerts
            .iter()
            .find(|a| a.server_id == *id && a.state == "firing")
            .map(|a| a.fired.unwrap_or(a.started))
            .ok_or_else(|| format!("no firing alert on {id}")),
        ["silence_end", id] => world
            .silences
            .iter()
            .find(|s| s.server_id.as_deref() == Some(*id) && s.starts <= NOW && NOW < s.ends)
            .map(|s| s.ends)
            .ok_or_else(|| format!("no silence on {id}")),
        _ => Err(format!("unknown time {expr}")),
    }
}

/// A name appears as a whole word (so `api-01` is not found in `api-010`).
pub fn mentions(text: &str, name: &str) -> bool {
    position(text, name).is_some()
}

fn position(text: &str, name: &str) -> Option<usize> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|t| t.find(name)) {
        let start = from + i;
        let end = start + name.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(word) && !after.is_some_and(word) {
            return Some(start);
        }
        from = end;
    }
    None
}

fn says_none(text: &str) -> bool {
    let t = text.to_lowercase();
    ["no ", "none", "없", "0"].iter().any(|w| t.contains(w))
}

/// Numbers in the text with their count of decimals, skipping digits that are part of a name
/// (`api-01`, `web01`).
pub fn numbers(text: &str) -> Vec<(f64, usize)> {
    numbers_with_unit(text).into_iter().map(|(x, d, _)| (x, d)).collect()
}

fn integers(text: &str) -> Vec<i64> {
    numbers(text).into_iter().filter(|(_, d)| *d == 0).map(|(x, _)| x as i64).collect()
}

/// Numbers with the word right after them (`412.3 MB` -> (412.3, 1, "MB")).
fn numbers_with_unit(text: &str) -> Vec<(f64, usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ',' && next_digits(&chars, i)) {
            i += 1;
        }
        let mut decimals = 0;
        if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
                decimals += 1;
            }
        }
        let glued = start > 0 && (chars[start - 1].is_ascii_alphabetic() || chars[start - 1] == '-');
        let raw: String = chars[start..i].iter().filter(|c| **c != ',').collect();
        let unit: String =
            chars[i..].iter().skip_while(|c| **c == ' ').take_while(|c| c.is_ascii_alphabetic()).collect();
        if let (false, Ok(x)) = (glued, raw.parse::<f64>()) {
            out.push((x, decimals, unit));
        }
    }
    out
}

fn next_digits(chars: &[char], i: usize) -> bool {
    chars.len() > i + 3 && chars[i + 1..i + 4].iter().all(char::is_ascii_digit)
}

/// Within the rounding the number was written with.
fn close(x: f64, decimals: usize, want: f64) -> bool {
    let tolerance = 0.5 * 10f64.powi(-(decimals as i32)) + 1e-9;
    (x - want).abs() <= tolerance
}
