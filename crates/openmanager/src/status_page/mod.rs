//! The public status page: its settings (from `[status_page]`, changed at run time through
//! `/api/status-page` and then saved in the key-value table, which wins at the next start) and the
//! page itself, built by a job (`jobs::status_page`) and kept rendered in memory (JSON, HTML and an
//! ETag, each form also compressed with brotli and gzip once per build), so a burst of visitors costs
//! a reference-count increment each and never reaches the store or a compressor. Its incidents
//! (`incidents`) are kept with their notes.

pub mod incidents;
pub mod page;

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::config::StatusPageConfig;
use crate::validation::{FieldError, from_value};

const KEY: &str = "status_page/settings";

/// What the page shows (`GET|PATCH /api/status-page`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub enabled: bool,
    /// 1-100 printable characters, not only spaces.
    #[schema(
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: String,
    /// Server ids shown, by display name.
    #[schema(max_items = 100, inline, value_type = Vec<crate::validation::ListedId>)]
    pub servers: Vec<String>,
    /// Check ids shown, by name.
    #[schema(max_items = 100, inline, value_type = Vec<crate::validation::ListedId>)]
    pub checks: Vec<String>,
}

impl Settings {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = Vec::new();
        crate::validation::check_name("title", &self.title, 100, &mut e);
        for (field, list) in [("servers", &self.servers), ("checks", &self.checks)] {
            if list.len() > 100 {
                e.push(FieldError::new(field, "at most 100"));
            }
            for (i, id) in list.iter().enumerate().take(100) {
                crate::validation::check_listed_id(&format!("{field}[{i}]"), id, &mut e);
            }
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StatusPageError {
    #[error("invalid `{}`", .0.first().map(|e| e.field.as_str()).unwrap_or("body"))]
    Invalid(Vec<FieldError>),
    #[error("store failure")]
    Store(#[source] anyhow::Error),
}

/// One form of the page (HTML or JSON) in each content coding served.
pub struct Encoded {
    pub plain: Bytes,
    /// Compressed once here rather than per request (empty on the impossible failure of an
    /// in-memory write: then the next coding, or the plain form, is served).
    pub br: Bytes,
    pub gzip: Bytes,
}

impl Encoded {
    fn of(plain: Bytes) -> Self {
        Self { br: brotli(&plain), gzip: gzip(&plain), plain }
    }
}

/// The page as served.
pub struct Rendered {
    pub json: Encoded,
    pub html: Encoded,
    /// A strong validator of the content (both forms come from the same page).
    pub etag: String,
}

pub struct StatusPage {
    /// Incidents of the listed items, with operators' notes.
    pub incidents: incidents::Incidents,
    settings: RwLock<Settings>,
    rendered: RwLock<Option<Arc<Rendered>>>,
    store: store::Store,
    edits: tokio::sync::Mutex<()>,
}

impl StatusPage {
    pub async fn load(store: &store::Store, config: &StatusPageConfig) -> anyhow::Result<Self> {
        let from_config = Settings {
            enabled: config.enabled,
            title: config.title.clone(),
            servers: config.servers.clone(),
            checks: config.checks.clone(),
        };
        let settings = match store.get_kv(KEY).await? {
            Some(v) => serde_json::from_value(v).unwrap_or(from_config),
            None => from_config,
        };
        Ok(Self {
            incidents: incidents::Incidents::load(store).await?,
            settings: RwLock::new(settings),
            rendered: RwLock::new(None),
            store: store.clone(),
            edits: tokio::sync::Mutex::new(()),
        })
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().clone()
    }

    /// Whether the page is on and lists check `id` (without copying the settings).
    pub fn lists_check(&self, id: &str) -> bool {
        let s = self.settings.read();
        s.enabled && s.checks.iter().any(|c| c == id)
    }

    /// Changes the settings (the fields sent replace the current ones); saved, then in effect at the
    /// next refresh (the caller refreshes at once).
    pub async fn update(&self, patch: Map<String, Value>) -> Result<Settings, StatusPageError> {
        let _edit = self.edits.lock().await;
        let mut merged = serde_json::to_value(self.settings()).map_err(|e| StatusPageError::Store(e.into()))?;
        if let Some(o) = merged.as_object_mut() {
            o.extend(patch);
        }
        let settings: Settings = from_value(merged).map_err(StatusPageError::Invalid)?;
        settings.validate().map_err(StatusPageError::Invalid)?;
        let value = serde_json::to_value(&settings).map_err(|e| StatusPageError::Store(e.into()))?;
        self.store.put_kv(KEY, &value).await.map_err(|e| StatusPageError::Store(e.into()))?;
        *self.settings.write() = settings.clone();
        if !settings.enabled {
            *self.rendered.write() = None;
        }
        Ok(settings)
    }

    /// Keeps `page` as the one served (nothing while the page is off).
    pub fn publish(&self, page: &page::Page) {
        if !self.settings.read().enabled {
            *self.rendered.write() = None;
            return;
        }
        let json = serde_json::to_vec(page).unwrap_or_default();
        let html = page::html(page);
        let digest = Sha256::digest(&json);
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        let rendered = Rendered { json: Encoded::of(Bytes::from(json)), html: Encoded::of(Bytes::from(html)), etag };
        *self.rendered.write() = Some(Arc::new(rendered));
    }

    /// The page as served now (`None`: off, or not built yet).
    pub fn rendered(&self) -> Option<Arc<Rendered>> {
        if !self.settings.read().enabled {
            return None;
        }
        self.rendered.read().clone()
    }
}

/// Brotli quality for the page. It is compressed once per build (every minute, and at most once a
/// second while listed checks change), so a high quality is paid rarely; 11 takes several times as
/// long as 9 for a few percent fewer bytes on this markup.
const BROTLI_QUALITY: u32 = 9;

/// `bytes` brotli-compressed (empty on failure, as [`gzip`]).
fn brotli(bytes: &[u8]) -> Bytes {
    use std::io::Write;
    let mut out = Vec::with_capacity(bytes.len() / 4);
    {
        let mut w = ::brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, 22);
        if w.write_all(bytes).and_then(|()| w.flush()).is_err() {
            return Bytes::new();
        }
    }
    out.into()
}

/// `bytes` gzip-compressed (empty on the impossible failure of an in-memory write).
fn gzip(bytes: &[u8]) -> Bytes {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::best());
    match gz.write_all(bytes).and_then(|()| gz.finish()) {
        Ok(out) => out.into(),
        Err(_) => Bytes::new(),
    }
}
