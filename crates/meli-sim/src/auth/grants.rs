//! Grant lifecycle on [`AuthState`]: codes, token issue, refresh rotation, bearer checks and
//! the admin hooks (revoke, expire). The rules are listed in the parent module.

use chrono::{DateTime, Utc};

use super::{
    AccessRecord, AppRegistration, AuthState, CODE_LIFETIME, Caller, Code, CodeExchange, Grant,
    REFRESH_TOKEN_LIFETIME, TokenPolicy, TokenResponse, app_of_token, pkce_matches, random_hex,
    token_response,
};
use crate::errors::{MlError, OAuthError};

impl AuthState {
    pub(crate) fn register(&mut self, app: AppRegistration) {
        self.apps.insert(app.app_id.clone(), app);
    }

    fn client(&self, client_id: &str, secret: &str) -> Result<&AppRegistration, OAuthError> {
        self.apps
            .get(client_id)
            .filter(|app| app.secret == secret)
            .ok_or_else(OAuthError::invalid_client)
    }

    /// Mints a single-use code, as the browser step of doc §1.1 would.
    pub(crate) fn authorize(
        &mut self,
        app_id: &str,
        redirect_uri: &str,
        challenge: Option<(&str, &str)>,
        user_id: u64,
        now: DateTime<Utc>,
    ) -> Result<String, OAuthError> {
        let Some(app) = self.apps.get(app_id) else {
            return Err(OAuthError::new(
                "invalid_client",
                format!("unknown client_id {app_id}"),
            ));
        };
        if app.redirect_uri != redirect_uri {
            return Err(OAuthError::new(
                "invalid_request",
                "redirect_uri does not match the application's registered redirect_uri",
            ));
        }
        if let Some((_, method)) = challenge {
            if method != "S256" && method != "plain" {
                return Err(OAuthError::new(
                    "invalid_request",
                    format!("unsupported code_challenge_method {method}"),
                ));
            }
        } else if app.use_pkce {
            return Err(OAuthError::new(
                "invalid_request",
                "code_challenge is required: the application uses PKCE",
            ));
        }

        let code = format!("TG-{}-{user_id}", random_hex(12));
        self.codes.insert(
            code.clone(),
            Code {
                app_id: app_id.to_owned(),
                user_id,
                redirect_uri: redirect_uri.to_owned(),
                challenge: challenge.map(|(c, m)| (c.to_owned(), m.to_owned())),
                expires_at: now + CODE_LIFETIME,
            },
        );
        Ok(code)
    }

    /// `grant_type=authorization_code`.
    pub(crate) fn exchange_code(
        &mut self,
        request: &CodeExchange<'_>,
        policy: TokenPolicy,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, OAuthError> {
        let client_id = request.client_id;
        self.client(client_id, request.secret)?;

        // A code is spent by any attempt that names it, right or wrong [A].
        let Some(entry) = self.codes.remove(request.code) else {
            return Err(OAuthError::invalid_grant());
        };
        let verified = match (&entry.challenge, request.verifier) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some((challenge, method)), Some(verifier)) => {
                pkce_matches(challenge, method, verifier)
            }
        };
        if entry.app_id != client_id
            || entry.redirect_uri != request.redirect_uri
            || entry.expires_at <= now
            || !verified
        {
            return Err(OAuthError::invalid_grant());
        }

        Ok(self.open_grant(client_id, entry.user_id, policy, now))
    }

    /// Creates a grant with a fresh token pair (also used for the initial seller tokens).
    pub(crate) fn open_grant(
        &mut self,
        app_id: &str,
        user_id: u64,
        policy: TokenPolicy,
        now: DateTime<Utc>,
    ) -> TokenResponse {
        self.next_grant += 1;
        let id = self.next_grant;
        let refresh_token = format!("TG-{}-{user_id}", random_hex(12));
        self.refresh_index.insert(refresh_token.clone(), id);
        self.grants.insert(
            id,
            Grant {
                app_id: app_id.to_owned(),
                user_id,
                revoked: false,
                refresh_token: refresh_token.clone(),
                refresh_issued_at: now,
                access_tokens: Vec::new(),
            },
        );
        self.latest_grant = Some(id);
        let access_token = self.issue_access(id, policy, now);
        token_response(access_token, refresh_token, user_id, policy)
    }

    fn issue_access(&mut self, grant_id: u64, policy: TokenPolicy, now: DateTime<Utc>) -> String {
        let Some(grant) = self.grants.get_mut(&grant_id) else {
            return String::new();
        };
        let token = format!(
            "APP_USR-{}-{}-{}-{}",
            grant.app_id,
            now.format("%m%d%H"),
            random_hex(16),
            grant.user_id
        );
        grant.access_tokens.push(token.clone());
        self.access.insert(
            token.clone(),
            AccessRecord {
                user_id: grant.user_id,
                grant: grant_id,
                expires_at: now + crate::clock::delta(policy.access_ttl),
                revoked: false,
            },
        );
        token
    }

    /// `grant_type=refresh_token`: rotate, exactly once per refresh token.
    pub(crate) fn refresh(
        &mut self,
        client_id: &str,
        secret: &str,
        refresh_token: &str,
        policy: TokenPolicy,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, OAuthError> {
        self.client(client_id, secret)?;

        let grant_id = self.refresh_index.get(refresh_token).copied();
        let Some(grant) = grant_id.and_then(|id| self.grants.get_mut(&id)) else {
            return Err(OAuthError::invalid_grant());
        };
        let lifetime = crate::clock::delta(REFRESH_TOKEN_LIFETIME);
        if grant.revoked
            || grant.refresh_token != refresh_token
            || grant.app_id != client_id
            || now - grant.refresh_issued_at >= lifetime
        {
            return Err(OAuthError::invalid_grant());
        }

        let user_id = grant.user_id;
        let new_refresh = format!("TG-{}-{user_id}", random_hex(12));
        grant.refresh_token = new_refresh.clone();
        grant.refresh_issued_at = now;
        if policy.refresh_kills_previous_access {
            for token in std::mem::take(&mut grant.access_tokens) {
                if let Some(record) = self.access.get_mut(&token) {
                    record.revoked = true;
                }
            }
        }
        self.refresh_index
            .insert(new_refresh.clone(), grant_id.unwrap_or_default());
        self.latest_grant = grant_id;

        let access_token = self.issue_access(grant_id.unwrap_or_default(), policy, now);
        Ok(token_response(access_token, new_refresh, user_id, policy))
    }

    /// Checks an `Authorization` header value for a resource call.
    pub(crate) fn check(
        &self,
        header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Caller, MlError> {
        let Some(header) = header else {
            return Err(MlError::invalid_token());
        };
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| app_of_token(token).is_some())
            .ok_or_else(|| MlError::bad_request("malformed access_token"))?;

        let record = self.access.get(token).ok_or_else(MlError::invalid_token)?;
        let grant = self
            .grants
            .get(&record.grant)
            .ok_or_else(MlError::invalid_token)?;
        if record.revoked || grant.revoked || record.expires_at <= now {
            return Err(MlError::invalid_token());
        }
        Ok(Caller {
            app_id: grant.app_id.clone(),
            user_id: record.user_id,
        })
    }

    /// Revokes every grant: their access and refresh tokens stop working.
    pub(crate) fn revoke_all(&mut self) {
        for grant in self.grants.values_mut() {
            grant.revoked = true;
        }
    }

    /// Expires every access token issued so far (refresh tokens keep working).
    pub(crate) fn expire_access_tokens(&mut self, now: DateTime<Utc>) {
        for record in self.access.values_mut() {
            record.expires_at = record.expires_at.min(now);
        }
    }

    /// The newest access token and refresh token of the most recent grant.
    pub(crate) fn latest_pair(&self) -> Option<(String, String)> {
        let grant = self.grants.get(&self.latest_grant?)?;
        let access = grant.access_tokens.last().cloned().unwrap_or_default();
        Some((access, grant.refresh_token.clone()))
    }
}
