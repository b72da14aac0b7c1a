//! Housekeeping jobs every server runs: keep the memory figure fresh, probe the AI engines, roll up
//! and expire history, back up on schedule, prune old logs, and check that the data directory and
//! the store stay writable (the readiness checks).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::component_health::Check;
use crate::services::Services;

/// Starts the housekeeping jobs.
pub fn start(services: &Services, data_dir: &Path) {
    let s = services.clone();
    services.supervisor.spawn_periodic("process-memory", Duration::from_secs(1), move || {
        s.telemetry.memory.refresh();
        async { Ok(()) }
    });
    // Issued tokens (`openmanager token create`) take effect, and revoked ones stop working, within
    // a few seconds and without a restart.
    let s = services.clone();
    services.supervisor.spawn_periodic("token-reload", Duration::from_secs(2), move || {
        let s = s.clone();
        async move {
            let issued = crate::tokens::issued::list(&s.store).await?;
            s.tokens.set_issued(&issued);
            Ok(())
        }
    });
    // The gateway's status as its local engine reads it ("which engines", "cache hit rate").
    let s = services.clone();
    services.supervisor.spawn_periodic("gateway-view", Duration::from_secs(5), move || {
        let s = s.clone();
        async move {
            s.gateway_view.set(s.gateway.status().await, s.telemetry.ai.counts().0);
            Ok(())
        }
    });
    let s = services.clone();
    services.supervisor.spawn_periodic("ai-health", Duration::from_secs(60), move || {
        let s = s.clone();
        async move {
            s.gateway.check_health().await;
            Ok(())
        }
    });
    let writable = Arc::new(parking_lot::Mutex::new(probe_writable(data_dir)));
    let w = writable.clone();
    let dir = data_dir.to_path_buf();
    services.supervisor.spawn_periodic("data-dir-probe", Duration::from_secs(5), move || {
        let (w, dir) = (w.clone(), dir.clone());
        async move {
            let outcome = tokio::task::spawn_blocking(move || probe_writable(&dir))
                .await
                .unwrap_or_else(|e| Err(format!("probe failed: {e}")));
            *w.lock() = outcome;
            Ok(())
        }
    });
    let s = services.clone();
    services.supervisor.spawn_periodic("store-rollup", Duration::from_secs(60), move || {
        let store = s.store.clone();
        async move {
            store.rollup(crate::clock::now_millis()).await?;
            Ok(())
        }
    });
    let s = services.clone();
    services.supervisor.spawn_periodic("store-retention", Duration::from_secs(3600), move || {
        let store = s.store.clone();
        async move {
            store.apply_retention(crate::clock::now_millis()).await?;
            Ok(())
        }
    });
    // Readiness means the store is writable: prove it with a small write every 5 s, and ask the
    // store whether its last writes failed (a full disk, a database that went away). A writer that
    // hangs never completes the probe, so the check also looks at when it last succeeded.
    let store_state = Arc::new(parking_lot::Mutex::new((crate::clock::now_millis(), None::<String>)));
    let (s, state) = (services.clone(), store_state.clone());
    services.supervisor.spawn_periodic("store-probe", Duration::from_secs(5), move || {
        let (store, state) = (s.store.clone(), state.clone());
        async move {
            let now = crate::clock::now_millis();
            let outcome = match store.put_kv("health/probe", &serde_json::json!(now)).await {
                Ok(()) => store.health().await,
                Err(e) => Err(e),
            };
            let mut st = state.lock();
            match outcome {
                Ok(()) => *st = (now, None),
                Err(e) => {
                    if st.1.is_none() {
                        tracing::error!(error = %e, "the history store cannot accept writes");
                    }
                    st.1 = Some(e.to_string());
                }
            }
            Ok(())
        }
    });
    services.health.register("store", true, move || {
        let (ok_at, error) = store_state.lock().clone();
        let age = crate::clock::now_millis() - ok_at;
        match error {
            Some(e) => Check::Failing(e),
            None if age <= 30_000 => Check::Ok,
            None => Check::Failing(format!("no successful store write for {} s", age / 1000)),
        }
    });
    // PostgreSQL is backed up by its own tools (pg_dump, the provider's snapshots); file backups
    // are the embedded store's.
    if services.config.backup.interval_hours > 0 && services.store.backend() == "sqlite" {
        let s = services.clone();
        let dir = data_dir.join(crate::ops::backup::BACKUP_DIR);
        let keep = services.config.backup.keep;
        let every = Duration::from_secs(services.config.backup.interval_hours * 3600);
        services.supervisor.spawn("scheduled-backup", move |ctx| {
            let (s, dir) = (s.clone(), dir.clone());
            async move {
                loop {
                    // The first backup waits a full interval: a fresh start has nothing to save.
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = ctx.cancel.cancelled() => return Ok(()),
                    }
                    let path = crate::ops::backup::scheduled_backup(&s.store, &dir, keep).await?;
                    tracing::info!(file = %path.display(), "scheduled backup written");
                    ctx.heartbeat.beat();
                }
            }
        });
    }
    if let (Some(dir), days) = (services.config.log.dir.clone(), services.config.log.max_age_days)
        && days > 0
    {
        let max_age = Duration::from_secs(days.saturating_mul(86_400));
        services.supervisor.spawn_periodic("log-prune", Duration::from_secs(3600), move || {
            let dir = dir.clone();
            async move {
                let n = tokio::task::spawn_blocking(move || crate::logging::prune_rotated(&dir, max_age)).await?;
                if n > 0 {
                    tracing::info!(deleted = n, "deleted rotated log files past their age");
                }
                Ok(())
            }
        });
    }
    services.health.register("dataDir", true, move || match &*writable.lock() {
        Ok(()) => Check::Ok,
        Err(why) => Check::Failing(why.clone()),
    });
}

/// Whether a small file can be written in `dir`, and if not, why (a full disk is named as such).
fn probe_writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(".write-probe");
    let outcome = std::fs::write(&probe, b"ok");
    let _ = std::fs::remove_file(&probe);
    outcome.map_err(|e| match e.raw_os_error() {
        Some(28) => "the data directory's disk is full".to_string(),
        _ => format!("the data directory is not writable: {e}"),
    })
}
