//! Alerts POSTed to a webhook: a Slack-compatible message (`{"text": ...}` in Slack's
//! markup, which Mattermost and Discord's `/slack` endpoint also take) or a JSON object with
//! every field of the alert for any other receiver.

use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use serde_json::{Value, json};

use super::Channel;
use super::message::{Notice, Text};
use crate::config::{WebhookFormat, WebhookSettings};

/// How long one POST may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A webhook receiver.
pub struct Webhook {
    settings: WebhookSettings,
    http: reqwest::Client,
}

impl Webhook {
    /// A webhook channel with its own HTTP client.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS backend).
    pub fn new(settings: WebhookSettings) -> anyhow::Result<Webhook> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("meli-stock/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("failed to build the webhook client")?;
        Ok(Webhook { settings, http })
    }
}

/// The Slack-compatible body.
pub fn slack_body(text: &Text) -> Value {
    json!({
        "text": format!(
            "*{}*\n{}\n{}\n*What to do:* {}",
            text.title, text.what, text.since, text.action
        ),
    })
}

/// The generic JSON body: the alert's fields plus the rendered text.
pub fn json_body(notice: &Notice, text: &Text) -> Value {
    json!({
        "source": "meli-stock",
        "alert": notice.kind.as_str(),
        "status": notice.state.as_str(),
        "seller_id": notice.seller_id,
        "since": notice.since,
        "at": notice.at,
        "count": notice.count,
        "previous": notice.previous,
        "detail": notice.detail,
        "last_success": notice.last_success,
        "threshold_seconds": notice.threshold.map(|t| t.as_secs()),
        "refresh_token_expires_at": notice.expires_at,
        "title": text.title,
        "what": text.what,
        "since_text": text.since,
        "action": text.action,
    })
}

#[async_trait]
impl Channel for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, notice: &Notice, text: &Text) -> anyhow::Result<()> {
        let body = match self.settings.format {
            WebhookFormat::Slack => slack_body(text),
            WebhookFormat::Json => json_body(notice, text),
        };
        // reqwest's errors carry the URL, which is a secret here; they are not passed on.
        let response = self
            .http
            .post(self.settings.url())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                anyhow!("webhook {kind}")
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(anyhow!("webhook answered HTTP {status}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slack_body_is_one_text_field_in_slack_markup() {
        let text = Text {
            title: "no fresh stock for seller 1".to_owned(),
            what: "No successful run for 4h.".to_owned(),
            since: "Since 2026-01-01 00:00 UTC.".to_owned(),
            action: "check the scheduler.".to_owned(),
        };

        let body = slack_body(&text);

        let object = body.as_object().expect("an object");
        assert_eq!(object.len(), 1);
        assert_eq!(
            body["text"],
            "*no fresh stock for seller 1*\nNo successful run for 4h.\nSince 2026-01-01 00:00 \
             UTC.\n*What to do:* check the scheduler."
        );
    }
}
