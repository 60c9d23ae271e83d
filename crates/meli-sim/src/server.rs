//! The accept loop: HTTP/1.1 connections served by hyper, each one closable from inside a
//! request (the dropped-connection fault) and all of them closed on shutdown.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower_service::Service;
use tracing::{debug, warn};

use crate::gate::ConnectionKill;

/// Serves `router` on `listener` until `shutdown` flips or its sender is dropped.
pub(crate) async fn serve(listener: TcpListener, router: Router, shutdown: watch::Receiver<bool>) {
    loop {
        let mut stop = shutdown.clone();
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                warn!(error = %error, "accept failed");
                continue;
            }
        };

        let router = router.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let marker = ConnectionKill(Arc::clone(&kill));
            let service =
                hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                    request.extensions_mut().insert(marker.clone());
                    let mut router = router.clone();
                    async move { router.call(request.map(Body::new)).await }
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);

            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        debug!(error = %error, "connection ended with an error");
                    }
                }
                _ = kill.notified() => debug!("connection closed without a response"),
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
        });
    }
}
