//! Alerts by e-mail over SMTP (lettre, with rustls for STARTTLS and implicit TLS).

use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::Channel;
use super::message::{Notice, Text};
use crate::config::{EmailSettings, SmtpTls};

/// How long one SMTP exchange may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// An SMTP server and the recipients of alert e-mails.
pub struct Email {
    settings: EmailSettings,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Email {
    /// A channel sending through the configured server.
    ///
    /// # Errors
    /// When the TLS setup for the host cannot be built.
    pub fn new(settings: EmailSettings) -> anyhow::Result<Email> {
        let host = settings.host.as_str();
        let builder = match settings.tls {
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .with_context(|| format!("failed to set up STARTTLS for {host}"))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .with_context(|| format!("failed to set up TLS for {host}"))?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder.port(settings.port).timeout(Some(TIMEOUT));
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Email {
            transport: builder.build(),
            settings,
        })
    }

    fn message(&self, text: &Text) -> anyhow::Result<Message> {
        let mut builder = Message::builder()
            .from(self.settings.from.clone())
            .subject(format!("[meli-stock] {}", text.title))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.settings.to {
            builder = builder.to(to.clone());
        }
        builder
            .body(text.body())
            .context("failed to build the alert e-mail")
    }
}

#[async_trait]
impl Channel for Email {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, _notice: &Notice, text: &Text) -> anyhow::Result<()> {
        let message = self.message(text)?;
        self.transport.send(message).await.map_err(|e| {
            anyhow!(
                "SMTP server {}:{} refused or failed the alert e-mail: {e}",
                self.settings.host,
                self.settings.port
            )
        })?;
        Ok(())
    }
}
