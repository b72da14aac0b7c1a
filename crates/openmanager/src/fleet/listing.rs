//! The fleet as a list: filters, pagination and the status summary of `/api/servers` (also what the
//! MCP tools and the assistant list). Summaries name at most as many servers as a page holds, so a
//! fleet of thousands does not repeat its whole name list in every page.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{ServerType, ServerView, Source, Status};
use crate::validation::{FieldError, check, printable};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;
/// Past any fleet this hub can hold at any page size; bounded so the document can say so.
pub const MAX_PAGE: u32 = 1_000_000;
const MAX_QUERY_TEXT: usize = 128;

/// Filters and page of a listing.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1-based page (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u32>,
    /// Items per page (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub status: Option<Status>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub server_type: Option<ServerType>,
    pub source: Option<Source>,
    /// Case-insensitive text in id, name, hostname, ip, role or location (at most 128 characters).
    #[param(max_length = 128, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub q: Option<String>,
}

impl ListQuery {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.limit.is_some_and(|l| l == 0 || l as usize > MAX_LIMIT) {
            errors.push(FieldError::new("limit", format!("must be 1-{MAX_LIMIT}")));
        }
        if self.page.is_some_and(|p| p == 0 || p > MAX_PAGE) {
            errors.push(FieldError::new("page", format!("must be 1-{MAX_PAGE}")));
        }
        if let Some(q) = &self.q {
            if q.chars().count() > MAX_QUERY_TEXT {
                errors.push(FieldError::new("q", format!("must be at most {MAX_QUERY_TEXT} characters")));
            }
            printable("q", q, &mut errors);
        }
        check(errors)
    }

    pub fn matches(&self, v: &ServerView) -> bool {
        if self.status.is_some_and(|s| s != v.status)
            || self.server_type.is_some_and(|t| t != v.server_type)
            || self.source.is_some_and(|s| s != v.source)
        {
            return false;
        }
        match &self.q {
            Some(text) if !text.is_empty() => {
                let t = text.to_lowercase();
                [&v.id, &v.name, &v.hostname, &v.ip, &v.role, &v.location].iter().any(|f| f.to_lowercase().contains(&t))
            }
            _ => true,
        }
    }
}

/// Counts by status, for `summary` and `/api/metrics`'s `fleet`.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub total_servers: usize,
    pub healthy_count: usize,
    pub warning_count: usize,
    pub critical_count: usize,
    pub offline_count: usize,
    /// Names of critical servers, at most as many as a page holds (`criticalCount` has them all).
    pub critical_servers: Vec<String>,
    /// Names of warning servers, bounded the same way.
    pub warning_servers: Vec<String>,
}

impl Summary {
    /// Counts over `views`; at most `max_names` names per list.
    pub fn of(views: &[&ServerView], max_names: usize) -> Self {
        let mut s = Summary { total_servers: views.len(), ..Summary::default() };
        for v in views {
            let (count, names) = match v.status {
                Status::Online => {
                    s.healthy_count += 1;
                    continue;
                }
                Status::Warning => (&mut s.warning_count, &mut s.warning_servers),
                Status::Critical => (&mut s.critical_count, &mut s.critical_servers),
                Status::Offline => {
                    s.offline_count += 1;
                    continue;
                }
                Status::Maintenance | Status::Unknown => continue,
            };
            *count += 1;
            if names.len() < max_names {
                names.push(v.name.clone());
            }
        }
        s
    }
}

/// Where a page sits in the whole listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: usize,
    pub limit: usize,
    pub total: usize,
    pub total_pages: usize,
    pub has_next: bool,
    pub has_prev: bool,
}

/// One page of servers with the summary of everything the filters matched.
#[derive(Debug, Clone)]
pub struct Listing {
    pub servers: Vec<ServerView>,
    pub summary: Summary,
    pub pagination: Pagination,
}

/// Filters `all`, then takes the page (`paginate = false`: every match, names still bounded by
/// [`MAX_LIMIT`]).
pub fn list(all: impl Iterator<Item = ServerView>, q: &ListQuery, paginate: bool) -> Listing {
    let views: Vec<ServerView> = all.filter(|v| q.matches(v)).collect();
    let total = views.len();
    let (page, limit) = if paginate {
        (q.page.unwrap_or(1) as usize, q.limit.map_or(DEFAULT_LIMIT, |l| l as usize))
    } else {
        (1, total.max(1))
    };
    let refs: Vec<&ServerView> = views.iter().collect();
    let summary = Summary::of(&refs, limit.min(MAX_LIMIT));
    let servers: Vec<ServerView> = views.into_iter().skip((page - 1).saturating_mul(limit)).take(limit).collect();
    let total_pages = total.div_ceil(limit);
    Listing {
        servers,
        summary,
        pagination: Pagination { page, limit, total, total_pages, has_next: page < total_pages, has_prev: page > 1 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::model::{ServerMeta, Specs};

    fn view(i: usize, status: Status) -> ServerView {
        let meta = ServerMeta {
            id: format!("s{i}"),
            name: format!("s{i}"),
            hostname: String::new(),
            ip: String::new(),
            os: String::new(),
            server_type: ServerType::Web,
            role: String::new(),
            environment: String::new(),
            provider: String::new(),
            location: String::new(),
            source: Source::Agent,
            services: Vec::new(),
            specs: Specs::default(),
            maintenance: false,
        };
        ServerView::new(&meta, None, status, 0)
    }

    #[test]
    fn summary_names_are_bounded_by_the_page() {
        let all: Vec<ServerView> = (0..5000).map(|i| view(i, Status::Critical)).collect();
        let q = ListQuery { limit: Some(20), ..ListQuery::default() };
        let l = list(all.into_iter(), &q, true);
        assert_eq!(l.servers.len(), 20);
        assert_eq!(l.summary.critical_count, 5000);
        assert_eq!(l.summary.critical_servers.len(), 20);
        assert_eq!(l.pagination.total_pages, 250);
    }

    #[test]
    fn filters_and_validation() {
        let all = vec![view(1, Status::Warning), view(2, Status::Online)];
        let q = ListQuery { status: Some(Status::Warning), ..ListQuery::default() };
        assert_eq!(list(all.into_iter(), &q, true).servers.len(), 1);
        let bad = ListQuery { limit: Some(0), page: Some(0), q: Some("a\u{7}".into()), ..ListQuery::default() };
        assert_eq!(bad.validate().unwrap_err().len(), 3);
    }
}
