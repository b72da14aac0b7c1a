//! The status page's content, built from what the job gathered (pure): the overall status, one entry
//! per listed item with 90 daily uptime bars, and incidents; and its two forms, JSON and HTML (every
//! text escaped; no script). Only display names of listed items appear: never ids, targets, hosts,
//! addresses or tokens.

use serde::Serialize;
use utoipa::ToSchema;

const DAY_MS: i64 = 86_400_000;
pub const DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Server,
    Check,
}

/// An item's status as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Up,
    Degraded,
    Down,
    Maintenance,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    Operational,
    Degraded,
    Outage,
    Maintenance,
}

/// What the job gathered about one listed item.
#[derive(Debug, Clone)]
pub struct ItemInput {
    pub name: String,
    pub kind: ItemKind,
    pub status: ItemStatus,
    /// Uptime (0-1) by day start (ms, UTC midnight), for the days with data.
    pub daily: Vec<(i64, f64)>,
    /// Start times of the item's incidents (for the per-day counts).
    pub incident_starts: Vec<i64>,
}

/// An operator's note on an incident, as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IncidentNote {
    #[schema(format = DateTime)]
    pub at: String,
    pub text: String,
}

/// An incident of a listed item (a check down, an alert), as the page tells it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub title: String,
    /// `open` or `resolved`.
    pub status: String,
    #[schema(format = DateTime)]
    pub started: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, nullable = false)]
    pub resolved: Option<String>,
    /// Operators' notes, oldest first.
    pub notes: Vec<IncidentNote>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Day {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    /// Share of the day up, percent (`null`: nothing observed).
    pub uptime: Option<f64>,
    pub incidents: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ItemUptime {
    /// Percent over the 90 days (`null`: nothing observed).
    pub d90: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Item {
    pub name: String,
    pub kind: ItemKind,
    pub status: ItemStatus,
    pub uptime: ItemUptime,
    pub days: Vec<Day>,
}

/// `GET /status.json`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub title: String,
    pub status: Overall,
    pub items: Vec<Item>,
    pub incidents: Vec<Incident>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub fn build(title: &str, inputs: &[ItemInput], incidents: Vec<Incident>, now_ms: i64) -> Page {
    let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
    let items: Vec<Item> = inputs
        .iter()
        .map(|i| {
            let days: Vec<Day> = (0..DAYS)
                .rev()
                .map(|back| {
                    let start = today - back * DAY_MS;
                    let uptime = i.daily.iter().find(|(d, _)| *d == start).map(|(_, u)| round2(u * 100.0));
                    let incidents = i.incident_starts.iter().filter(|t| (start..start + DAY_MS).contains(*t)).count();
                    Day { date: date(start), uptime, incidents: incidents as u32 }
                })
                .collect();
            let observed: Vec<f64> =
                i.daily.iter().filter(|(d, _)| *d > today - DAYS * DAY_MS).map(|(_, u)| *u).collect();
            let d90 =
                (!observed.is_empty()).then(|| round2(observed.iter().sum::<f64>() / observed.len() as f64 * 100.0));
            Item { name: i.name.clone(), kind: i.kind, status: i.status, uptime: ItemUptime { d90 }, days }
        })
        .collect();
    let any = |s: ItemStatus| items.iter().any(|i| i.status == s);
    let status = if any(ItemStatus::Down) {
        Overall::Outage
    } else if any(ItemStatus::Degraded) {
        Overall::Degraded
    } else if any(ItemStatus::Maintenance) {
        Overall::Maintenance
    } else {
        Overall::Operational
    };
    Page { title: title.to_string(), status, items, incidents, updated_at: crate::clock::millis_rfc3339(now_ms) }
}

fn date(ms: i64) -> String {
    let text = crate::clock::millis_rfc3339(ms);
    text.get(..10).unwrap_or_default().to_string()
}

/// HTML-escapes text for element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn status_word(s: ItemStatus) -> &'static str {
    match s {
        ItemStatus::Up => "Operational",
        ItemStatus::Degraded => "Degraded",
        ItemStatus::Down => "Down",
        ItemStatus::Maintenance => "Maintenance",
        ItemStatus::Unknown => "Unknown",
    }
}

/// The page as HTML: complete without JavaScript.
pub fn html(page: &Page) -> String {
    use std::fmt::Write;
    let overall = match page.status {
        Overall::Operational => "All systems operational",
        Overall::Degraded => "Some systems are degraded",
        Overall::Outage => "Some systems are down",
        Overall::Maintenance => "Maintenance in progress",
    };
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title}</title><style>{CSS}</style></head><body><main><h1>{title}</h1><p class=\"overall {cls}\">{overall}</p><ul class=\"items\">",
        title = esc(&page.title),
        cls = esc(&format!("{:?}", page.status).to_lowercase()),
    );
    for item in &page.items {
        let _ = write!(
            h,
            "<li><div class=\"row\"><span class=\"name\">{}</span><span class=\"st {}\">{}</span></div><div class=\"bars\">",
            esc(&item.name),
            format!("{:?}", item.status).to_lowercase(),
            status_word(item.status)
        );
        for d in &item.days {
            let (cls, label) = match d.uptime {
                None => ("none", format!("{}: no data", d.date)),
                Some(u) if u >= 99.9 => ("ok", format!("{}: {u}%", d.date)),
                Some(u) if u >= 95.0 => ("warn", format!("{}: {u}%", d.date)),
                Some(u) => ("bad", format!("{}: {u}%", d.date)),
            };
            let _ = write!(h, "<span class=\"bar {cls}\" title=\"{}\"></span>", esc(&label));
        }
        let up = item.uptime.d90.map_or("no data".to_string(), |u| format!("{u}% uptime"));
        let _ = write!(
            h,
            "</div><div class=\"foot\"><span>90 days ago</span><span>{}</span><span>today</span></div></li>",
            esc(&up)
        );
    }
    h.push_str("</ul><h2>Incidents</h2>");
    if page.incidents.is_empty() {
        h.push_str("<p>No incidents.</p>");
    } else {
        h.push_str("<ul class=\"incidents\">");
        for i in &page.incidents {
            let when = match &i.resolved {
                Some(r) => format!("{} - {}", i.started, r),
                None => format!("since {}", i.started),
            };
            let _ = write!(
                h,
                "<li><strong>{}</strong> <em>{}</em> <small>{}</small>",
                esc(&i.title),
                esc(&i.status),
                esc(&when)
            );
            if !i.notes.is_empty() {
                h.push_str("<ul class=\"notes\">");
                for n in &i.notes {
                    let _ = write!(h, "<li><small>{}</small> {}</li>", esc(&n.at), esc(&n.text));
                }
                h.push_str("</ul>");
            }
            h.push_str("</li>");
        }
        h.push_str("</ul>");
    }
    let _ = write!(h, "<footer>Updated {}</footer></main></body></html>", esc(&page.updated_at));
    h
}

/// The Content-Security-Policy the HTML needs: nothing but its one inline style (by hash), no
/// script, no frames, no forms. Computed from the style itself, so it cannot drift from it.
pub fn content_security_policy() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let style = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(CSS.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{style}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}\
main{max-width:860px;margin:0 auto;padding:24px}.overall{padding:12px 16px;border-radius:6px;color:#fff;background:#2e7d32}\
.overall.degraded{background:#ed6c02}.overall.outage{background:#c62828}.overall.maintenance{background:#1565c0}\
.items{list-style:none;padding:0}.items li{background:#fff;border-radius:6px;padding:12px 16px;margin:12px 0}\
.row,.foot{display:flex;justify-content:space-between}.foot{font-size:12px;color:#6b7280}\
.bars{display:flex;gap:2px;margin:8px 0}.bar{flex:1;height:28px;border-radius:2px;background:#d1d5db}\
.bar.ok{background:#2e7d32}.bar.warn{background:#ed6c02}.bar.bad{background:#c62828}\
.st.up{color:#2e7d32}.st.down{color:#c62828}.st.degraded{color:#ed6c02}.st.maintenance{color:#1565c0}";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn builds_ninety_days_and_the_worst_status() {
        let now = 1_800_000_000_000;
        let today = now / DAY_MS * DAY_MS;
        let inputs = vec![
            ItemInput {
                name: "API".into(),
                kind: ItemKind::Check,
                status: ItemStatus::Up,
                daily: vec![(today, 0.5)],
                incident_starts: vec![today + 1],
            },
            ItemInput {
                name: "<b>db</b>".into(),
                kind: ItemKind::Server,
                status: ItemStatus::Down,
                daily: vec![],
                incident_starts: vec![],
            },
        ];
        let page = build("Acme", &inputs, Vec::new(), now);
        assert_eq!(page.status, Overall::Outage);
        assert_eq!(page.items[0].days.len(), 90);
        let last = page.items[0].days.last().unwrap();
        assert_eq!((last.uptime, last.incidents), (Some(50.0), 1));
        assert_eq!(page.items[0].uptime.d90, Some(50.0));
        assert_eq!(page.items[1].uptime.d90, None);
        let html = html(&page);
        assert!(html.contains("&lt;b&gt;db&lt;/b&gt;") && !html.contains("<b>db"), "escaped");
        assert!(!html.contains("<script"));
        // The policy allows exactly the style the page inlines.
        let csp = content_security_policy();
        assert!(html.contains(&format!("<style>{CSS}</style>")));
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-") && !csp.contains("script"), "{csp}");
    }
}
