//! The settings of `meli-stock serve` and of the alerts: the schedule, the HTTP listener,
//! shutdown, and where alerts go (a webhook, e-mail over SMTP). Checked here like every
//! other setting, so a bad value stops the command before anything starts.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{ConfigError, Origin, Sources, display_name, parse_duration, parse_u64};
use crate::serve::Schedule;

/// How `serve` runs: when, where it listens and how it stops.
#[derive(Clone)]
pub struct ServeSettings {
    pub schedule: Schedule,
    /// Up to this much random delay is added to every scheduled run.
    pub jitter: Duration,
    pub listen: SocketAddr,
    /// Required on `/metrics` and `/api/*` when set.
    pub bearer_token: Option<SecretString>,
    /// Extra attempts after a failed run, `retry_delay` apart.
    pub run_retries: u32,
    pub retry_delay: Duration,
    /// Period of the access-token check between runs.
    pub token_check_every: Duration,
    /// How long a running sync may go on after SIGTERM or SIGINT.
    pub shutdown_deadline: Duration,
}

impl fmt::Debug for ServeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeSettings")
            .field("schedule", &self.schedule)
            .field("jitter", &self.jitter)
            .field("listen", &self.listen)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "(set)"))
            .field("run_retries", &self.run_retries)
            .field("retry_delay", &self.retry_delay)
            .field("token_check_every", &self.token_check_every)
            .field("shutdown_deadline", &self.shutdown_deadline)
            .finish()
    }
}

/// The body a webhook receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookFormat {
    /// `{"text": ...}`, which Slack, Mattermost and Discord's `/slack` endpoint accept.
    Slack,
    /// Every field of the alert as JSON, for any other receiver.
    Json,
}

/// Where webhook alerts go.
#[derive(Clone)]
pub struct WebhookSettings {
    /// Secret: a Slack webhook URL is itself the credential.
    pub url: SecretString,
    pub format: WebhookFormat,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &"(set)")
            .field("format", &self.format)
            .finish()
    }
}

/// How the SMTP connection is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network.
    None,
}

/// Where alert e-mails go and how they are sent.
#[derive(Clone)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<SecretString>,
    pub from: lettre::message::Mailbox,
    pub to: Vec<lettre::message::Mailbox>,
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish()
    }
}

/// When alerts fire, how often they repeat, and where they go.
#[derive(Clone, Debug)]
pub struct AlertSettings {
    /// No successful run for this long is the staleness alert.
    pub stale_after: Duration,
    /// A firing alert is sent again this often; `None` never repeats it.
    pub reminder_every: Option<Duration>,
    /// Warn this long before a seller's authorization ends.
    pub authorization_warning: Duration,
    pub webhook: Option<WebhookSettings>,
    pub email: Option<EmailSettings>,
}

fn invalid(sources: &Sources, key: &str, reason: impl Into<String>) -> ConfigError {
    let origin = sources
        .get(key)
        .map(|(_, origin)| origin.clone())
        .unwrap_or(Origin::Default);
    ConfigError::Invalid {
        name: display_name(key, &origin),
        origin,
        reason: reason.into(),
    }
}

fn positive_duration(v: &str) -> Result<Duration, String> {
    let duration = parse_duration(v)?;
    if duration.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(duration)
}

/// Reads and checks the `[serve]` section.
pub(super) fn serve_settings(sources: &Sources) -> Result<ServeSettings, ConfigError> {
    let run_retries = sources.required("serve.run_retries", |v| {
        parse_u64(v).and_then(|n| {
            u32::try_from(n)
                .ok()
                .filter(|n| *n <= 100)
                .ok_or_else(|| "expected a number of attempts from 0 to 100".to_owned())
        })
    })?;

    Ok(ServeSettings {
        schedule: sources.required("serve.schedule", Schedule::parse)?,
        jitter: sources.required("serve.jitter", parse_duration)?,
        listen: sources.required("serve.listen", |v| {
            v.parse::<SocketAddr>()
                .map_err(|_| format!("`{v}` is not an address such as 127.0.0.1:8080"))
        })?,
        bearer_token: sources.text("serve.bearer_token").map(SecretString::from),
        run_retries,
        retry_delay: sources.required("serve.retry_delay", parse_duration)?,
        token_check_every: sources.required("serve.token_check_every", positive_duration)?,
        shutdown_deadline: sources.required("serve.shutdown_deadline", parse_duration)?,
    })
}

/// Reads and checks the `[alerts]` section; a half-configured channel is refused.
pub(super) fn alert_settings(sources: &Sources) -> Result<AlertSettings, ConfigError> {
    let reminder = sources.required("alerts.reminder_every", parse_duration)?;
    Ok(AlertSettings {
        stale_after: sources.required("alerts.stale_after", positive_duration)?,
        reminder_every: Some(reminder).filter(|d| !d.is_zero()),
        authorization_warning: sources.required("alerts.authorization_warning", parse_duration)?,
        webhook: webhook_settings(sources)?,
        email: email_settings(sources)?,
    })
}

fn webhook_settings(sources: &Sources) -> Result<Option<WebhookSettings>, ConfigError> {
    let format = sources.required("alerts.webhook_format", |v| match v {
        "slack" => Ok(WebhookFormat::Slack),
        "json" => Ok(WebhookFormat::Json),
        _ => Err("expected slack or json".to_owned()),
    })?;
    let Some(url) = sources.text("alerts.webhook_url") else {
        return Ok(None);
    };

    // The URL is a secret, so the message names the problem without echoing it.
    match Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
        _ => {
            return Err(invalid(
                sources,
                "alerts.webhook_url",
                "expected an http:// or https:// URL",
            ));
        }
    }
    Ok(Some(WebhookSettings {
        url: SecretString::from(url),
        format,
    }))
}

fn email_settings(sources: &Sources) -> Result<Option<EmailSettings>, ConfigError> {
    let host = sources.text("alerts.smtp_host");
    let from = sources.text("alerts.email_from");
    let to = sources.text("alerts.email_to");
    let Some(host) = host else {
        if from.is_some() || to.is_some() {
            return Err(ConfigError::Missing {
                name: "MELI_STOCK_SMTP_HOST".to_owned(),
                hint: "alert e-mail needs an SMTP server; set it, or unset MELI_STOCK_ALERT_FROM \
                       and MELI_STOCK_ALERT_TO"
                    .to_owned(),
            });
        }
        return Ok(None);
    };

    let missing = |name: &str| ConfigError::Missing {
        name: name.to_owned(),
        hint: "MELI_STOCK_SMTP_HOST is set, so alert e-mail needs a sender \
               (MELI_STOCK_ALERT_FROM) and recipients (MELI_STOCK_ALERT_TO)"
            .to_owned(),
    };
    let from = from.ok_or_else(|| missing("MELI_STOCK_ALERT_FROM"))?;
    let to = to.ok_or_else(|| missing("MELI_STOCK_ALERT_TO"))?;
    let mailbox = |key: &str, text: &str| {
        text.trim()
            .parse::<lettre::message::Mailbox>()
            .map_err(|_| {
                invalid(
                    sources,
                    key,
                    format!("`{}` is not an e-mail address", text.trim()),
                )
            })
    };
    let from = mailbox("alerts.email_from", &from)?;
    let to = to
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| mailbox("alerts.email_to", part))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(missing("MELI_STOCK_ALERT_TO"));
    }

    let port = sources.required("alerts.smtp_port", |v| {
        parse_u64(v).and_then(|n| {
            u16::try_from(n)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| "expected a port from 1 to 65535".to_owned())
        })
    })?;
    let tls = sources.required("alerts.smtp_tls", |v| match v {
        "starttls" => Ok(SmtpTls::StartTls),
        "tls" => Ok(SmtpTls::Tls),
        "none" => Ok(SmtpTls::None),
        _ => Err("expected starttls, tls or none".to_owned()),
    })?;
    let user = sources.text("alerts.smtp_user");
    let password = sources.text("alerts.smtp_password").map(SecretString::from);
    if user.is_some() != password.is_some() {
        return Err(ConfigError::Missing {
            name: if user.is_some() {
                "MELI_STOCK_SMTP_PASSWORD".to_owned()
            } else {
                "MELI_STOCK_SMTP_USER".to_owned()
            },
            hint: "an SMTP login needs both the user and the password".to_owned(),
        });
    }

    Ok(Some(EmailSettings {
        host,
        port,
        tls,
        user,
        password,
        from,
        to,
    }))
}

impl WebhookSettings {
    /// The URL, for the one place that sends to it.
    pub fn url(&self) -> &str {
        self.url.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::super::{Config, ConfigError, Sources};
    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| env.get(name).cloned();
        Config::from_sources(&Sources::collect(None, &[], &lookup, &[])?)
    }

    #[test]
    fn defaults_run_hourly_on_localhost_with_no_channel() {
        let config = load(&[]).unwrap();

        assert_eq!(
            config.serve.schedule,
            Schedule::Every(Duration::from_secs(3600))
        );
        assert_eq!(config.serve.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.serve.shutdown_deadline, Duration::from_secs(60));
        assert_eq!(config.alerts.stale_after, Duration::from_secs(3 * 3600));
        assert!(config.alerts.webhook.is_none() && config.alerts.email.is_none());
    }

    #[test]
    fn half_configured_email_is_refused_by_name() {
        let err = load(&[
            ("MELI_STOCK_SMTP_HOST", "smtp.example.com"),
            ("MELI_STOCK_ALERT_TO", "ops@example.com"),
        ])
        .unwrap_err();

        assert!(err.to_string().contains("MELI_STOCK_ALERT_FROM"), "{err}");
    }

    #[test]
    fn a_bad_webhook_url_is_refused_without_echoing_it() {
        let err = load(&[("MELI_STOCK_WEBHOOK_URL", "hooks.example.com/T0/s3cr3t")]).unwrap_err();

        let message = err.to_string();
        assert!(message.contains("MELI_STOCK_WEBHOOK_URL"), "{message}");
        assert!(!message.contains("s3cr3t"), "{message}");
    }

    #[test]
    fn a_bad_schedule_names_the_setting() {
        let err = load(&[("MELI_STOCK_SCHEDULE", "0 25 * * *")]).unwrap_err();

        let message = err.to_string();
        assert!(message.contains("MELI_STOCK_SCHEDULE"), "{message}");
        assert!(message.contains("hour `25`"), "{message}");
    }

    #[test]
    fn debug_output_hides_alert_secrets() {
        let config = load(&[
            ("MELI_STOCK_BEARER_TOKEN", "bearer-s3cr3t"),
            (
                "MELI_STOCK_WEBHOOK_URL",
                "https://hooks.example.com/T0/hook-s3cr3t",
            ),
            ("MELI_STOCK_SMTP_HOST", "smtp.example.com"),
            ("MELI_STOCK_SMTP_USER", "mailer"),
            ("MELI_STOCK_SMTP_PASSWORD", "smtp-s3cr3t"),
            ("MELI_STOCK_ALERT_FROM", "alerts@example.com"),
            ("MELI_STOCK_ALERT_TO", "a@example.com,b@example.com"),
        ])
        .unwrap();

        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert_eq!(config.alerts.email.unwrap().to.len(), 2);
    }
}
