//! Content-coding negotiation for answers compressed ahead of time (the dashboard's assets, the
//! status page): which of the codings we keep, brotli or gzip, a request's `Accept-Encoding` allows.
//! The compression layer does its own negotiation for answers compressed per request; it leaves an
//! answer that already has a `Content-Encoding` alone.

use axum::http::{HeaderMap, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Br,
    Gzip,
}

impl Encoding {
    /// The `Content-Encoding` token.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// The codings we keep that a request's `Accept-Encoding` allows (`q=0` refuses a coding; a request
/// without the header accepts neither, and gets the plain form, as from the compression layer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepted {
    pub br: bool,
    pub gzip: bool,
}

pub fn accepted(headers: &HeaderMap) -> Accepted {
    let mut out = Accepted::default();
    let codings =
        headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    for coding in codings {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).any(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0));
        if refused {
            continue;
        }
        if name.eq_ignore_ascii_case("br") {
            out.br = true;
        } else if name.eq_ignore_ascii_case("gzip") {
            out.gzip = true;
        }
    }
    out
}

/// brotli when the client accepts it, else gzip, else none.
pub fn preferred(headers: &HeaderMap) -> Option<Encoding> {
    let a = accepted(headers);
    if a.br {
        Some(Encoding::Br)
    } else if a.gzip {
        Some(Encoding::Gzip)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn brotli_first_then_gzip_and_q_zero_refuses() {
        assert_eq!(preferred(&accept(&["gzip, deflate, br, zstd"])), Some(Encoding::Br));
        assert_eq!(preferred(&accept(&["gzip"])), Some(Encoding::Gzip));
        assert_eq!(preferred(&accept(&["GZIP;q=0.5", "BR;q=0"])), Some(Encoding::Gzip));
        assert_eq!(preferred(&accept(&["br;q=0, gzip;q=0.0"])), None);
        assert_eq!(preferred(&accept(&["deflate, identity"])), None);
        assert_eq!(preferred(&HeaderMap::new()), None);
        assert_eq!(accepted(&accept(&["br, gzip;q=0.1"])), Accepted { br: true, gzip: true });
    }
}
