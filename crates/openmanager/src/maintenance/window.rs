//! A maintenance window: one-off (`start` to `end`) or weekly (on the listed days at `HH:MM` UTC for
//! `durationMinutes`, from `start` and until `end` if it has one), and which servers and checks it
//! covers. Pure: the time is passed in (a request without `start` gets the time it was read).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{FieldError, check_id, check_name};

const DAY_MS: i64 = 86_400_000;
const WEEK_MINUTES: i64 = 7 * 1440;
pub const MAX_ITEMS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn index(self) -> i64 {
        self as i64
    }
}

/// Every week on `days` at `start` (UTC) for `durationMinutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Weekly {
    #[schema(min_items = 1, max_items = 7)]
    pub days: Vec<Day>,
    /// `HH:MM`, UTC.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub start: String,
    #[schema(minimum = 1, maximum = 10080)]
    pub duration_minutes: u32,
}

/// A window (`POST /api/maintenance`; `id` generated when absent). Named apart from the alert
/// rules' `Window` in the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = MaintenanceWindow)]
pub struct Window {
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub id: String,
    /// 1-100 printable characters, not only spaces.
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: String,
    /// Server ids it covers.
    #[serde(default)]
    #[schema(max_items = 100, inline, value_type = Vec<crate::validation::ListedId>)]
    pub servers: Vec<String>,
    /// Check ids it covers.
    #[serde(default)]
    #[schema(max_items = 100, inline, value_type = Vec<crate::validation::ListedId>)]
    pub checks: Vec<String>,
    /// Default: when the window is created.
    #[serde(default = "jiff::Timestamp::now")]
    #[schema(value_type = String, format = DateTime)]
    pub start: jiff::Timestamp,
    /// Required for a one-off window; a weekly window without one recurs until it is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime, nullable = false)]
    pub end: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub weekly: Option<Weekly>,
}

/// `HH:MM` as minutes of the day.
fn minutes(hhmm: &str) -> Option<i64> {
    let b = hhmm.as_bytes();
    let digits = b.len() == 5 && b[2] == b':' && b.iter().enumerate().all(|(i, c)| i == 2 || c.is_ascii_digit());
    if !digits {
        return None;
    }
    let (h, m): (i64, i64) = (hhmm[..2].parse().ok()?, hhmm[3..].parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

impl Window {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = Vec::new();
        check_id("id", &self.id, &mut e);
        check_name("title", &self.title, 100, &mut e);
        match self.end {
            Some(end) if end <= self.start => e.push(FieldError::new("end", "must be after start")),
            None if self.weekly.is_none() => {
                e.push(FieldError::new("end", "a one-off window needs an end (only a weekly one may go without)"))
            }
            _ => {}
        }
        if self.servers.is_empty() && self.checks.is_empty() {
            e.push(FieldError::new("servers", "name at least one server or check"));
        }
        for (field, list) in [("servers", &self.servers), ("checks", &self.checks)] {
            if list.len() > MAX_ITEMS {
                e.push(FieldError::new(field, format!("at most {MAX_ITEMS}")));
            }
            for (i, id) in list.iter().enumerate().take(MAX_ITEMS) {
                crate::validation::check_listed_id(&format!("{field}[{i}]"), id, &mut e);
            }
        }
        if let Some(w) = &self.weekly {
            if w.days.is_empty() || w.days.len() > 7 {
                e.push(FieldError::new("weekly.days", "list 1-7 days"));
            }
            if minutes(&w.start).is_none() {
                e.push(FieldError::new("weekly.start", "must be HH:MM (UTC)"));
            }
            if !(1..=10_080).contains(&w.duration_minutes) {
                e.push(FieldError::new("weekly.durationMinutes", "must be 1-10080"));
            }
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }

    /// Whether the window is in effect at `now_ms`.
    pub fn active_at(&self, now_ms: i64) -> bool {
        if now_ms < self.start.as_millisecond() || self.end.is_some_and(|end| now_ms >= end.as_millisecond()) {
            return false;
        }
        let Some(w) = &self.weekly else { return true };
        let Some(at) = minutes(&w.start) else { return false };
        // 1970-01-01 was a Thursday: Monday-based weekday of a day number is (days + 3) mod 7.
        let day = now_ms.div_euclid(DAY_MS);
        let minute_of_week = (day + 3).rem_euclid(7) * 1440 + now_ms.rem_euclid(DAY_MS) / 60_000;
        w.days.iter().any(|d| {
            let begins = d.index() * 1440 + at;
            (minute_of_week - begins).rem_euclid(WEEK_MINUTES) < i64::from(w.duration_minutes)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn window(weekly: Option<Weekly>) -> Window {
        Window {
            id: "w".into(),
            title: "patching".into(),
            servers: vec!["web-01".into()],
            checks: vec![],
            start: ts("2026-01-01T00:00:00Z"),
            end: Some(ts("2027-01-01T00:00:00Z")),
            weekly,
        }
    }

    #[test]
    fn one_off_windows_hold_between_start_and_end() {
        let w = window(None);
        assert!(w.validate().is_ok());
        assert!(w.active_at(ts("2026-06-01T12:00:00Z").as_millisecond()));
        assert!(!w.active_at(ts("2025-12-31T23:59:59Z").as_millisecond()));
        assert!(!w.active_at(ts("2027-01-01T00:00:00Z").as_millisecond()));
    }

    #[test]
    fn weekly_windows_recur_on_their_days_and_wrap_the_week() {
        // Sundays 23:00 UTC for two hours: into Monday.
        let w = window(Some(Weekly { days: vec![Day::Sun], start: "23:00".into(), duration_minutes: 120 }));
        assert!(w.validate().is_ok());
        // 2026-06-07 is a Sunday.
        assert!(w.active_at(ts("2026-06-07T23:30:00Z").as_millisecond()));
        assert!(w.active_at(ts("2026-06-08T00:59:00Z").as_millisecond()));
        assert!(!w.active_at(ts("2026-06-08T01:00:00Z").as_millisecond()));
        assert!(!w.active_at(ts("2026-06-07T22:59:00Z").as_millisecond()));
        assert!(!w.active_at(ts("2026-06-10T23:30:00Z").as_millisecond()));
    }

    #[test]
    fn bad_windows_name_their_fields() {
        let mut w = window(Some(Weekly { days: vec![], start: "24:00".into(), duration_minutes: 0 }));
        w.end = Some(w.start);
        w.servers.clear();
        let fields: Vec<String> = w.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        for f in ["end", "servers", "weekly.days", "weekly.start", "weekly.durationMinutes"] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn a_weekly_window_may_have_no_end_and_a_one_off_must() {
        let mut w = window(Some(Weekly { days: vec![Day::Sun], start: "23:00".into(), duration_minutes: 60 }));
        w.end = None;
        assert!(w.validate().is_ok());
        assert!(w.active_at(ts("2030-06-02T23:30:00Z").as_millisecond()), "2030-06-02 is a Sunday, years on");
        assert!(!w.active_at(ts("2025-06-01T23:30:00Z").as_millisecond()), "before its start");
        w.weekly = None;
        let e = w.validate().unwrap_err();
        assert_eq!(e[0].field, "end");
        // A request without `start` begins now; without `end` it says so.
        let v: Window =
            serde_json::from_value(serde_json::json!({"id": "w2", "title": "t", "servers": ["a"], "weekly": {"days": ["mon"], "start": "02:00", "durationMinutes": 30}})).unwrap();
        assert!(v.end.is_none() && v.validate().is_ok());
        assert!((jiff::Timestamp::now().as_second() - v.start.as_second()).abs() < 60);
        assert!(serde_json::to_value(&v).unwrap().get("end").is_none());
    }
}
