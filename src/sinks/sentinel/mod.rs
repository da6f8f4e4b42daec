//! Microsoft Sentinel through the Azure Monitor Logs Ingestion API:
//! `POST {endpoint}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`
//! with a JSON array of OCSF events, bearer token from Entra ID.
//!
//! Requests are partitioned by stream (one per OCSF class by default) and
//! cut so that the uncompressed body never exceeds `batch.max_bytes`
//! (≤ 1,000,000; the API's limit applies before and after compression). An
//! event that cannot fit alone is dead-lettered. 204 accepts the request;
//! 401 drops the cached token and tries once more at once with a new one;
//! 413 splits the request; 429 and 5xx are retried after `Retry-After`;
//! other 4xx dead-letter it.

pub mod config;
pub mod token;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http_body_util::Full;
use std::sync::Arc;

pub use config::{SentinelConfig, SentinelSettings};

use super::util::client::HttpClient;
use super::util::config::{join_url, sensitive};
use super::util::dead_letter::Rejection;
use super::util::driver::{Api, Attempt, Framing, Request, SendCtx};
use super::util::{classify_status, transport_retry};
use crate::event::Encoded;
use token::TokenSource;

/// The API version this sink speaks.
pub const API_VERSION: &str = "2023-01-01";

/// The `sentinel` sink's API.
pub struct SentinelApi {
    settings: SentinelSettings,
    base: String,
    tokens: TokenSource,
}

impl SentinelApi {
    /// For the ingestion endpoint `endpoint`; `client` also fetches tokens.
    pub fn new(endpoint: &http::Uri, settings: SentinelSettings, client: HttpClient) -> Self {
        let tokens = TokenSource::new(
            settings.token_url.clone(),
            settings.client_id.clone(),
            settings.client_secret.clone(),
            settings.scope.clone(),
            client,
        );
        SentinelApi {
            base: join_url(
                endpoint,
                &format!(
                    "/dataCollectionRules/{}/streams/",
                    settings.dcr_immutable_id
                ),
            ),
            settings,
            tokens,
        }
    }
}

impl Api for SentinelApi {
    fn framing(&self) -> Framing {
        Framing {
            prefix: b"[",
            separator: b",",
            suffix: b"]",
        }
    }

    fn partition(&self, event: &Encoded, source: &str) -> Option<Arc<str>> {
        Some(self.settings.stream.render_arc(event.class_uid, source))
    }

    fn encode(&self, event: &Encoded, _source: &str) -> Result<Bytes, Rejection> {
        Ok(event.json.clone())
    }

    fn max_bytes_is_hard(&self) -> bool {
        true
    }

    async fn send(&self, ctx: &SendCtx, req: &Request, body: Bytes) -> Attempt {
        let url = format!("{}{}?api-version={API_VERSION}", self.base, req.partition);
        let mut refreshed = false;
        loop {
            let token = match self.tokens.get().await {
                Ok(t) => t,
                Err(r) => return Attempt::Retry(r),
            };
            let mut b = http::Request::post(&url).header(CONTENT_TYPE, "application/json");
            if ctx.common.gzip {
                b = b.header(CONTENT_ENCODING, "gzip");
            }
            if let Some(h) = sensitive(&format!("Bearer {}", token.expose())) {
                b = b.header(AUTHORIZATION, h);
            }
            let Ok(http_req) = b.body(Full::new(body.clone())) else {
                return Attempt::Reject(Rejection {
                    status: None,
                    kind: "bad_request",
                    reason: "cannot build the request".into(),
                });
            };
            let resp = match ctx.client.send(http_req).await {
                Ok(r) => r,
                Err(e) => return transport_retry(&e),
            };
            if resp.status == http::StatusCode::UNAUTHORIZED && !refreshed {
                // Expired or revoked mid-run: one immediate retry with a
                // fresh token.
                tracing::info!(sink = %ctx.id, "access token refused; fetching a new one");
                self.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            return classify_status(&resp);
        }
    }
}
