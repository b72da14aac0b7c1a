//! A validated check: the definition it came from, and what its probe needs parsed once (URL, method,
//! status ranges, headers, targets), so a probe never meets bad input.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};

use crate::def::{CheckDef, Kind, RecordType};
use crate::target::{Host, HostPort};

/// A check that passed [`CheckDef::validate`]; built only there.
#[derive(Debug, Clone)]
pub struct Check {
    pub(crate) def: CheckDef,
    pub(crate) plan: Plan,
}

impl Check {
    pub fn def(&self) -> &CheckDef {
        &self.def
    }

    pub fn id(&self) -> &str {
        &self.def.id
    }

    pub fn kind(&self) -> Kind {
        self.def.kind
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.def.interval_seconds))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.def.timeout_ms))
    }

    pub fn retries(&self) -> u32 {
        self.def.retries
    }

    pub fn enabled(&self) -> bool {
        self.def.enabled
    }

    /// Whether `location` (`hub` or `agent:<serverId>`) is one of the places it runs.
    pub fn runs_on(&self, location: &str) -> bool {
        self.def.run_on.iter().any(|l| l == location)
    }
}

/// What each kind's probe needs.
#[derive(Debug, Clone)]
pub(crate) enum Plan {
    Http(Box<HttpPlan>),
    Tcp(HostPort),
    Ping(Host),
    Dns(DnsPlan),
    Tls(TlsPlan),
}

#[derive(Debug, Clone)]
pub(crate) struct HttpPlan {
    pub url: Url,
    pub method: Method,
    pub expect: StatusRanges,
    pub keyword: Option<String>,
    pub json: Option<JsonPlan>,
    pub headers: HeaderMap,
    pub follow_redirects: bool,
    pub verify_tls: bool,
}

/// A dotted JSON path, split, and the text its value must have.
#[derive(Debug, Clone)]
pub(crate) struct JsonPlan {
    pub path: Vec<String>,
    pub expect: String,
}

#[derive(Debug, Clone)]
pub(crate) struct DnsPlan {
    pub name: String,
    pub record_type: RecordType,
    pub expect: Option<String>,
    pub resolver: Option<HostPort>,
}

#[derive(Debug, Clone)]
pub(crate) struct TlsPlan {
    pub target: HostPort,
    pub warn_days: u32,
}

/// Inclusive ranges of status codes, as `200-399,418` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusRanges(pub Vec<(u16, u16)>);

/// Most ranges an `expectStatus` may list.
const MAX_RANGES: usize = 8;

impl StatusRanges {
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = |s: &str| -> Result<u16, String> {
            match s.trim().parse::<u16>() {
                Ok(c) if (100..=599).contains(&c) => Ok(c),
                _ => Err(format!("`{}` is not a status code 100-599", s.trim())),
            }
        };
        let mut ranges = Vec::new();
        for part in text.split(',') {
            if ranges.len() == MAX_RANGES {
                return Err(format!("at most {MAX_RANGES} ranges"));
            }
            let range = match part.split_once('-') {
                Some((lo, hi)) => (code(lo)?, code(hi)?),
                None => {
                    let c = code(part)?;
                    (c, c)
                }
            };
            if range.0 > range.1 {
                return Err(format!("{}-{} is an empty range", range.0, range.1));
            }
            ranges.push(range);
        }
        Ok(Self(ranges))
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}

impl fmt::Display for StatusRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi { write!(f, "{lo}")? } else { write!(f, "{lo}-{hi}")? }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn status_ranges_parse_and_match() {
        let r = StatusRanges::parse("200-299, 301,418").unwrap();
        assert!(r.contains(204) && r.contains(301) && r.contains(418));
        assert!(!r.contains(302) && !r.contains(500));
        assert_eq!(r.to_string(), "200-299,301,418");
    }

    #[test]
    fn status_ranges_refuse_nonsense() {
        assert!(StatusRanges::parse("").is_err());
        assert!(StatusRanges::parse("99").is_err());
        assert!(StatusRanges::parse("300-200").unwrap_err().contains("empty"));
        assert!(StatusRanges::parse("2xx").is_err());
        assert!(StatusRanges::parse(&["200"; 9].join(",")).unwrap_err().contains("at most"));
    }
}
