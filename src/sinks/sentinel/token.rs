//! OAuth 2.0 client-credentials tokens from Entra ID, cached and refreshed
//! before they expire (five minutes ahead, or halfway through a shorter
//! lifetime). A 401 from the ingestion API drops the cached token so the
//! next attempt fetches a new one.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http_body_util::Full;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::sinks::util::client::{snippet, HttpClient};
use crate::sinks::util::driver::Retry;
use crate::sinks::util::retry::retry_after;
use crate::sinks::util::secret::Secret;

#[derive(Debug, Clone)]
struct Cached {
    token: Secret,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Fetches and caches access tokens.
pub struct TokenSource {
    url: String,
    client_id: String,
    secret: Secret,
    scope: String,
    client: HttpClient,
    cached: Mutex<Option<Cached>>,
}

/// `application/x-www-form-urlencoded` escaping.
fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl TokenSource {
    /// Tokens from `url` for `client_id`.
    pub fn new(
        url: String,
        client_id: String,
        secret: Secret,
        scope: String,
        client: HttpClient,
    ) -> Self {
        TokenSource {
            url,
            client_id,
            secret,
            scope,
            client,
            cached: Mutex::new(None),
        }
    }

    /// A valid token (cached, or fetched now).
    pub async fn get(&self) -> Result<Secret, Retry> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forget `stale` (the API refused it); a newer token is kept.
    pub async fn invalidate(&self, stale: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == stale) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<Cached, Retry> {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
            form_escape(&self.client_id),
            form_escape(self.secret.expose()),
            form_escape(&self.scope)
        );
        let req = http::Request::post(&self.url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| Retry {
                kind: "token",
                detail: format!("cannot build the token request: {e}"),
                after: None,
            })?;
        let started = Instant::now();
        let resp = self.client.send(req).await.map_err(|e| Retry {
            kind: "token_network",
            detail: format!("token endpoint: {e}"),
            after: None,
        })?;
        if !resp.status.is_success() {
            let err: TokenError = serde_json::from_slice(&resp.body).unwrap_or_default();
            let detail = if err.error.is_empty() {
                format!(
                    "token endpoint: HTTP {}: {}",
                    resp.status.as_u16(),
                    snippet(&resp.body, 200)
                )
            } else {
                // Entra ID's description names the problem (AADSTS code),
                // never the secret.
                format!(
                    "token endpoint: HTTP {}: {}: {}",
                    resp.status.as_u16(),
                    err.error,
                    snippet(err.error_description.as_bytes(), 300)
                )
            };
            let kind = if resp.status.is_client_error() && resp.status.as_u16() != 429 {
                "auth"
            } else {
                "token_unavailable"
            };
            return Err(Retry {
                kind,
                detail,
                after: retry_after(&resp.headers),
            });
        }
        let reply: TokenReply = serde_json::from_slice(&resp.body).map_err(|e| Retry {
            kind: "token",
            detail: format!("unreadable token response: {e}"),
            after: None,
        })?;
        let life = Duration::from_secs(reply.expires_in);
        let margin = Duration::from_secs(300).min(life / 2);
        tracing::debug!(expires_in = reply.expires_in, "new access token");
        Ok(Cached {
            token: Secret::new(reply.access_token),
            refresh_at: started + life - margin,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_form_values() {
        assert_eq!(super::form_escape("a b+c/~"), "a%20b%2Bc%2F~");
    }
}
