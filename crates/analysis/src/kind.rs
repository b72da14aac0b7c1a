//! The analyses on offer, as `POST /api/ai/analyze` names them, and their bilingual descriptions for
//! the `GET /api/ai/analyze?type=status` listing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// One of the analyses [`crate::run`] can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisType {
    /// Health score per server and for the fleet.
    Health,
    /// Readings outside the usual band.
    Anomaly,
    /// When a metric will reach its limit.
    Prediction,
    /// Daily and hourly cycles, recurring spikes.
    Pattern,
    /// Metrics and servers that move together.
    Correlation,
    /// Right-sizing from sustained use.
    Optimization,
}

impl AnalysisType {
    /// Every analysis, in listing order.
    pub const ALL: [AnalysisType; 6] = [
        AnalysisType::Health,
        AnalysisType::Anomaly,
        AnalysisType::Prediction,
        AnalysisType::Pattern,
        AnalysisType::Correlation,
        AnalysisType::Optimization,
    ];

    /// The API name (`health`, `anomaly`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisType::Health => "health",
            AnalysisType::Anomaly => "anomaly",
            AnalysisType::Prediction => "prediction",
            AnalysisType::Pattern => "pattern",
            AnalysisType::Correlation => "correlation",
            AnalysisType::Optimization => "optimization",
        }
    }

    /// Parses an API name, case-insensitively.
    pub fn parse(s: &str) -> Result<AnalysisType, UnknownAnalysis> {
        let lower = s.trim().to_ascii_lowercase();
        AnalysisType::ALL.into_iter().find(|t| t.as_str() == lower).ok_or_else(|| UnknownAnalysis(s.to_string()))
    }

    /// The analysis's name in running text.
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (AnalysisType::Health, Lang::Ko) => "건강 상태 분석",
            (AnalysisType::Health, Lang::En) => "Health analysis",
            (AnalysisType::Anomaly, Lang::Ko) => "이상 탐지",
            (AnalysisType::Anomaly, Lang::En) => "Anomaly detection",
            (AnalysisType::Prediction, Lang::Ko) => "추세 예측",
            (AnalysisType::Prediction, Lang::En) => "Trend prediction",
            (AnalysisType::Pattern, Lang::Ko) => "패턴 분석",
            (AnalysisType::Pattern, Lang::En) => "Pattern analysis",
            (AnalysisType::Correlation, Lang::Ko) => "상관관계 분석",
            (AnalysisType::Correlation, Lang::En) => "Correlation analysis",
            (AnalysisType::Optimization, Lang::Ko) => "자원 최적화",
            (AnalysisType::Optimization, Lang::En) => "Right-sizing",
        }
    }

    /// A one-line description of what the analysis does.
    pub fn description(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (AnalysisType::Health, Lang::Ko) => "서버별 건강 점수(0-100)와 전체 점수를 감점 사유와 함께 계산합니다.",
            (AnalysisType::Health, Lang::En) => {
                "Scores each server and the fleet from 0 to 100, explaining every deduction."
            }
            (AnalysisType::Anomaly, Lang::Ko) => {
                "강건 z 점수(중앙값/MAD)와 EWMA 잔차로 평소 범위를 벗어난 값을 찾습니다."
            }
            (AnalysisType::Anomaly, Lang::En) => {
                "Finds readings outside the usual band, by robust z-score (median/MAD) and EWMA residuals."
            }
            (AnalysisType::Prediction, Lang::Ko) => {
                "Theil-Sen 추세로 디스크·메모리·CPU가 한계에 도달하는 시점을 예측합니다."
            }
            (AnalysisType::Prediction, Lang::En) => {
                "Predicts when disk, memory or CPU will reach its limit, from a Theil-Sen trend."
            }
            (AnalysisType::Pattern, Lang::Ko) => "일간·시간 주기와 같은 시각에 반복되는 급증을 찾습니다.",
            (AnalysisType::Pattern, Lang::En) => {
                "Finds daily and hourly cycles and spikes that recur at the same time."
            }
            (AnalysisType::Correlation, Lang::Ko) => {
                "메트릭 간, 서버 간 강한 상관관계(Pearson, Spearman)와 시간 지연을 찾습니다."
            }
            (AnalysisType::Correlation, Lang::En) => {
                "Finds strong correlations between metrics and between servers (Pearson, Spearman), with their lag."
            }
            (AnalysisType::Optimization, Lang::Ko) => {
                "지속 사용량(p95)으로 과다·과소 할당된 서버와 권장 사양을 제시합니다."
            }
            (AnalysisType::Optimization, Lang::En) => {
                "Flags over- and under-provisioned servers from sustained use (p95), with suggested sizes."
            }
        }
    }

    /// The listing for `GET /api/ai/analyze?type=status`.
    pub fn catalog(lang: Lang) -> Vec<AnalysisInfo> {
        AnalysisType::ALL
            .into_iter()
            .map(|t| AnalysisInfo { analysis: t, name: t.name(lang), description: t.description(lang) })
            .collect()
    }
}

/// One entry of [`AnalysisType::catalog`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnalysisInfo {
    /// The API name.
    #[serde(rename = "type")]
    pub analysis: AnalysisType,
    /// The name in the requested language.
    pub name: &'static str,
    /// The one-line description in the requested language.
    pub description: &'static str,
}

impl fmt::Display for AnalysisType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AnalysisType {
    type Err = UnknownAnalysis;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AnalysisType::parse(s)
    }
}

/// A name that is not one of [`AnalysisType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAnalysis(pub String);

impl fmt::Display for UnknownAnalysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown analysis type {:?} (expected one of health, anomaly, prediction, pattern, correlation, optimization)",
            self.0
        )
    }
}

impl std::error::Error for UnknownAnalysis {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::has_hangul;

    #[test]
    fn parses_every_type_and_rejects_others() {
        for t in AnalysisType::ALL {
            assert_eq!(AnalysisType::parse(t.as_str()), Ok(t));
            assert_eq!(t.to_string().parse::<AnalysisType>(), Ok(t));
        }
        assert_eq!(AnalysisType::parse("HEALTH"), Ok(AnalysisType::Health));
        assert!(AnalysisType::parse("status").is_err());
    }

    #[test]
    fn catalog_is_bilingual() {
        let ko = AnalysisType::catalog(Lang::Ko);
        let en = AnalysisType::catalog(Lang::En);
        assert_eq!(ko.len(), 6);
        assert!(ko.iter().all(|i| has_hangul(i.description) && has_hangul(i.name)));
        assert!(en.iter().all(|i| !has_hangul(i.description) && !has_hangul(i.name)));
        let json = serde_json::to_value(&en[0]).unwrap();
        assert_eq!(json["type"], "health");
    }
}
