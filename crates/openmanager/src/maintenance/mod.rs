//! Maintenance windows (`/api/maintenance`): one-off or weekly periods during which servers and
//! checks are expected to fail. While one is in effect its items raise no alerts (their
//! observations are left out) and its checks show the status `maintenance`. Saved store-first in
//! the key-value table (`maintenance/<id>`).

pub mod window;

use std::collections::HashSet;

use parking_lot::RwLock;
use serde_json::{Map, Value};

use crate::validation::{FieldError, from_value, new_id};
pub use window::Window;

/// Most windows kept (each is checked against every item at every evaluation).
pub const MAX_WINDOWS: usize = 200;
const PREFIX: &str = "maintenance/";

#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid `{}`", .0.first().map(|e| e.field.as_str()).unwrap_or("body"))]
    Invalid(Vec<FieldError>),
    #[error("store failure")]
    Store(#[source] anyhow::Error),
}

impl From<store::Error> for MaintenanceError {
    fn from(e: store::Error) -> Self {
        Self::Store(e.into())
    }
}

/// What is in maintenance at one moment.
#[derive(Debug, Default, Clone)]
pub struct Active {
    pub servers: HashSet<String>,
    pub checks: HashSet<String>,
}

impl Active {
    /// Whether an alert subject (a server id, or `check:<id>`) is covered.
    pub fn covers(&self, subject: &str) -> bool {
        match subject.strip_prefix("check:") {
            Some(check) => self.checks.contains(check),
            None => self.servers.contains(subject),
        }
    }
}

pub struct Maintenance {
    windows: RwLock<Vec<Window>>,
    store: store::Store,
    edits: tokio::sync::Mutex<()>,
    changed: crate::changes::Changed,
}

async fn load_windows(store: &store::Store) -> Result<Vec<Window>, MaintenanceError> {
    let mut windows = Vec::new();
    for key in store.kv_keys(PREFIX).await? {
        let Some(value) = store.get_kv(&key).await? else { continue };
        match serde_json::from_value::<Window>(value) {
            Ok(w) => windows.push(w),
            Err(e) => tracing::warn!(key, error = %e, "skipping an unreadable maintenance window"),
        }
    }
    Ok(windows)
}

impl Maintenance {
    pub async fn load(store: &store::Store) -> Result<Self, MaintenanceError> {
        let windows = load_windows(store).await?;
        Ok(Self {
            windows: RwLock::new(windows),
            store: store.clone(),
            edits: tokio::sync::Mutex::new(()),
            changed: Default::default(),
        })
    }

    /// Windows again from the store (another hub created or deleted some).
    pub async fn reload(&self) -> Result<(), MaintenanceError> {
        let _edit = self.edits.lock().await;
        let windows = load_windows(&self.store).await?;
        *self.windows.write() = windows;
        Ok(())
    }

    /// Windows created or deleted through this hub, as they are stored.
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<()> {
        self.changed.subscribe()
    }

    pub fn list(&self) -> Vec<Window> {
        self.windows.read().clone()
    }

    pub async fn create(&self, mut body: Map<String, Value>) -> Result<Window, MaintenanceError> {
        body.entry("id").or_insert_with(|| Value::String(new_id("mw")));
        let window: Window = from_value(Value::Object(body)).map_err(MaintenanceError::Invalid)?;
        window.validate().map_err(MaintenanceError::Invalid)?;
        let _edit = self.edits.lock().await;
        {
            let windows = self.windows.read();
            if windows.iter().any(|w| w.id == window.id) {
                return Err(MaintenanceError::Conflict(format!("a window with id `{}` already exists", window.id)));
            }
            if windows.len() >= MAX_WINDOWS {
                return Err(MaintenanceError::Conflict(format!("at most {MAX_WINDOWS} windows; delete one first")));
            }
        }
        let value = serde_json::to_value(&window).map_err(|e| MaintenanceError::Store(e.into()))?;
        self.store.put_kv(&format!("{PREFIX}{}", window.id), &value).await?;
        self.windows.write().push(window.clone());
        self.changed.notify();
        Ok(window)
    }

    pub async fn delete(&self, id: &str) -> Result<(), MaintenanceError> {
        let _edit = self.edits.lock().await;
        if !self.windows.read().iter().any(|w| w.id == id) {
            return Err(MaintenanceError::NotFound(format!("maintenance window `{id}`")));
        }
        self.store.delete_kv(&format!("{PREFIX}{id}")).await?;
        self.windows.write().retain(|w| w.id != id);
        self.changed.notify();
        Ok(())
    }

    /// The servers and checks in maintenance at `now_ms`.
    pub fn active(&self, now_ms: i64) -> Active {
        let mut out = Active::default();
        for w in self.windows.read().iter().filter(|w| w.active_at(now_ms)) {
            out.servers.extend(w.servers.iter().cloned());
            out.checks.extend(w.checks.iter().cloned());
        }
        out
    }

    pub fn check_in_maintenance(&self, id: &str, now_ms: i64) -> bool {
        self.windows.read().iter().any(|w| w.checks.iter().any(|c| c == id) && w.active_at(now_ms))
    }
}
