//! A TCP proxy that can cut every connection through it and accept again on the same port,
//! to take a database away from a running process and give it back.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy on a fixed local port that can be stopped (closing every connection through
/// it) and started again on the same port.
pub struct TcpProxy {
    pub port: u16,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = TcpProxy {
            port,
            target,
            task: None,
            connections: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target;
        let connections = self.connections.clone();
        self.task = Some(tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(pipe);
            }
        }));
    }

    /// Stops accepting and cuts every open connection.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        let pipes: Vec<JoinHandle<()>> = std::mem::take(&mut *self.connections.lock().unwrap());
        for pipe in pipes {
            pipe.abort();
            let _ = pipe.await;
        }
    }

    /// Accepts again on the same port.
    pub async fn restart(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for pipe in self.connections.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }
}
