//! The signals that stop `serve`: SIGTERM (systemd, `kill`) and SIGINT (Ctrl-C).

use tracing::{info, warn};

/// Completes when the process receives SIGTERM or SIGINT.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                info!(signal = name, "stop requested");
            }
            (Err(e), _) | (_, Err(e)) => {
                warn!(error = %e, "cannot watch SIGTERM; stopping on Ctrl-C only");
                ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    ctrl_c().await;
}

async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        warn!(error = %e, "cannot watch Ctrl-C either; serve stops only when killed");
        std::future::pending::<()>().await;
    }
    info!(signal = "SIGINT", "stop requested");
}
