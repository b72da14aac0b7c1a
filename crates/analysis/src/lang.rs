//! The language findings are written in, chosen from a code or an `Accept-Language` header.

use serde::{Deserialize, Serialize};

/// A supported output language. English is the default for anything unrecognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Korean.
    Ko,
    /// English.
    #[default]
    En,
}

impl Lang {
    /// Reads `ko`, `ko-KR`, `en`, `en_US` or a whole `Accept-Language` value
    /// (`fr-FR, ko;q=0.8, en;q=0.5`): the supported language with the highest weight wins, the
    /// earlier one on a tie, and anything else means English.
    pub fn parse(value: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or("").trim();
            let weight = fields
                .filter_map(|f| f.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // q=0 means "not acceptable" (RFC 9110), and a NaN weight is no weight.
            if weight.is_nan() || weight <= 0.0 {
                continue;
            }
            let primary = tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
            let lang = match primary.as_str() {
                "ko" | "kor" => Lang::Ko,
                "en" | "eng" => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// The code: `ko` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    /// Picks the text for this language. Both are built by the caller; findings are few, so the
    /// unused one costs nothing that matters and the call sites stay one line each.
    pub(crate) fn pick<T>(self, ko: T, en: T) -> T {
        match self {
            Lang::Ko => ko,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_headers() {
        assert_eq!(Lang::parse("ko"), Lang::Ko);
        assert_eq!(Lang::parse("ko-KR"), Lang::Ko);
        assert_eq!(Lang::parse("KO_kr"), Lang::Ko);
        assert_eq!(Lang::parse("en"), Lang::En);
        assert_eq!(Lang::parse("en-US,en;q=0.9,ko;q=0.8"), Lang::En);
        assert_eq!(Lang::parse("fr-FR, ko;q=0.8, en;q=0.5"), Lang::Ko);
        assert_eq!(Lang::parse("en;q=0.3, ko-KR;q=0.9"), Lang::Ko);
        assert_eq!(Lang::parse("ko;q=0, en"), Lang::En);
    }

    #[test]
    fn defaults_to_english() {
        assert_eq!(Lang::parse(""), Lang::En);
        assert_eq!(Lang::parse("fr, de;q=0.5"), Lang::En);
        assert_eq!(Lang::parse("*"), Lang::En);
        assert_eq!(Lang::parse(";;;,,q=x"), Lang::En);
        assert_eq!(Lang::default(), Lang::En);
    }
}
