//! A webhook receiver (axum on port 0) and an SMTP sink that speaks just enough SMTP
//! (EHLO, MAIL, RCPT, DATA, QUIT) to record every message it is given.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Records every JSON body POSTed to it.
pub struct WebhookSink {
    pub url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl WebhookSink {
    pub async fn start() -> WebhookSink {
        let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
        let shared = bodies.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let shared = shared.clone();
                async move {
                    shared.lock().unwrap().push(body);
                    "ok"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        WebhookSink {
            url: format!("http://{address}/hook"),
            bodies,
            task,
        }
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// `(alert, status)` of every generic JSON body, in arrival order.
    pub fn events(&self) -> Vec<(String, String)> {
        self.bodies()
            .iter()
            .map(|b| {
                (
                    b["alert"].as_str().unwrap_or_default().to_owned(),
                    b["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One message an [`SmtpSink`] accepted.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The Subject header, unfolded.
    pub fn subject(&self) -> String {
        let headers = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = headers.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned()
    }

    /// The body after the headers.
    pub fn body(&self) -> String {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }
}

/// A tiny SMTP server on 127.0.0.1 that accepts every message and records it.
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let shared = mails.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(socket, shared).await;
                });
            }
        });
        SmtpSink { port, mails, task }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn subjects(&self) -> Vec<String> {
        self.mails().iter().map(Mail::subject).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_session(socket: TcpStream, mails: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?,
            "MAIL" => {
                from = command["MAIL FROM:".len()..].to_owned();
                write.write_all(b"250 ok\r\n").await?;
            }
            "RCPT" => {
                to.push(command["RCPT TO:".len()..].to_owned());
                write.write_all(b"250 ok\r\n").await?;
            }
            "DATA" => {
                write.write_all(b"354 go on\r\n").await?;
                let mut data = String::new();
                loop {
                    let mut line = String::new();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    let line = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(line);
                }
                mails.lock().unwrap().push(Mail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                write.write_all(b"250 queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
}
