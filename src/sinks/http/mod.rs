//! Generic HTTP sink: each request is NDJSON (one OCSF event per line)
//! POSTed to `endpoint` with `Content-Type: application/x-ndjson`, the
//! configured headers and auth. 2xx accepts the whole request; 408, 429 and
//! 5xx are retried; 413 splits the request; other 4xx dead-letter it.

pub mod config;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http_body_util::Full;

pub use config::{HttpSettings, HttpSinkConfig};

use super::util::config::sensitive;
use super::util::dead_letter::Rejection;
use super::util::driver::{Api, Attempt, Framing, Request, SendCtx};
use super::util::{classify_status, transport_retry};
use crate::event::Encoded;

/// The `http` sink's API.
pub struct HttpApi {
    settings: HttpSettings,
    url: String,
}

impl HttpApi {
    /// For `endpoint` with `settings`.
    pub fn new(endpoint: &http::Uri, settings: HttpSettings) -> Self {
        HttpApi {
            settings,
            url: endpoint.to_string(),
        }
    }
}

impl Api for HttpApi {
    fn framing(&self) -> Framing {
        Framing {
            prefix: b"",
            separator: b"\n",
            suffix: b"\n",
        }
    }

    /// The event's JSON as it is (shared, not copied): the newlines come
    /// from the framing.
    fn encode(&self, event: &Encoded, _source: &str) -> Result<Bytes, Rejection> {
        Ok(event.json.clone())
    }

    async fn send(&self, ctx: &SendCtx, _req: &Request, body: Bytes) -> Attempt {
        let mut b = http::Request::post(&self.url).header(CONTENT_TYPE, "application/x-ndjson");
        if ctx.common.gzip {
            b = b.header(CONTENT_ENCODING, "gzip");
        }
        for (name, value) in &self.settings.headers {
            if let Some(v) = sensitive(value.expose()) {
                b = b.header(name, v);
            }
        }
        if let Some(h) = self.settings.auth.as_ref().and_then(|a| a.header()) {
            b = b.header(AUTHORIZATION, h);
        }
        let req = match b.body(Full::new(body)) {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Reject(Rejection {
                    status: None,
                    kind: "bad_request",
                    reason: format!("cannot build the request: {e}"),
                })
            }
        };
        match ctx.client.send(req).await {
            Ok(resp) => classify_status(&resp),
            Err(e) => transport_retry(&e),
        }
    }
}
