//! The checks jobs: the hub's runner (probes on their schedule), the consumer of its results (each
//! recorded in the checks service and written to the history tiers in batches), and the periodic
//! uptime summary.

use std::time::Duration;

use crate::services::Services;

/// Results written to the store in one batch at most (what is queued when the consumer wakes).
const MAX_BATCH: usize = 256;
/// How long results are gathered before one store write.
const BATCH_LINGER: Duration = Duration::from_secs(1);
/// How often the uptime windows are recomputed from history (they move slowly; the query per
/// window and place is the cost).
const UPTIME_EVERY: Duration = Duration::from_secs(300);

pub fn start(services: &Services) {
    if services.checks.hub_enabled() {
        let s = services.clone();
        services.supervisor.spawn("checks-runner", move |ctx| {
            let s = s.clone();
            async move {
                s.checks.runner().run(ctx.cancel.clone()).await;
                Ok(())
            }
        });
    }
    let s = services.clone();
    services.supervisor.spawn("checks-results", move |ctx| {
        let s = s.clone();
        async move {
            let mut results = s.checks.results().lock().await;
            let mut batch = Vec::with_capacity(MAX_BATCH);
            loop {
                tokio::select! {
                    n = results.recv_many(&mut batch, MAX_BATCH) => {
                        if n == 0 {
                            return Ok(());
                        }
                    }
                    _ = ctx.cancel.cancelled() => return Ok(()),
                }
                // Gather what arrives within a second, so the store commits (and syncs) about once a
                // second rather than once a result: 200 checks at 10 s are 20 results a second. The
                // task sleeps through the second and then takes what came, rather than waking for
                // each result (the channel holds them meanwhile; the runner waits when it is full).
                if batch.len() < MAX_BATCH {
                    tokio::select! {
                        () = tokio::time::sleep(BATCH_LINGER) => {}
                        _ = ctx.cancel.cancelled() => return Ok(()),
                    }
                    while batch.len() < MAX_BATCH
                        && let Ok(r) = results.try_recv()
                    {
                        batch.push(r);
                    }
                }
                ctx.heartbeat.beat();
                let samples: Vec<store::Sample> =
                    batch.drain(..).filter(|r| s.checks.record(r)).map(|r| s.checks.sample(&r)).collect();
                if !samples.is_empty()
                    && let Err(e) = s.store.write(samples).await
                {
                    tracing::warn!(error = %e, "could not store check results");
                }
            }
        }
    });
    let s = services.clone();
    services.supervisor.spawn_periodic("checks-uptime", UPTIME_EVERY, move || {
        let s = s.clone();
        async move { Ok(s.checks.refresh_uptime(crate::clock::now_millis()).await?) }
    });
}
