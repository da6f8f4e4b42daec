//! The HTTP client every sink shares: hyper 1 over rustls, HTTP/1.1 with
//! keep-alive, one attempt bounded by `request.timeout_secs` (connect, send
//! and read the whole response).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::config::HttpCommon;

/// Largest response body read (bulk responses for big batches are a few MB).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A response read in full.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// Why an attempt got no response. Messages never carry request headers.
#[derive(Debug)]
pub enum SendError {
    /// No response within `request.timeout_secs`.
    Timeout,
    /// Connect, TLS, reset, or a malformed response.
    Transport(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Timeout => f.write_str("request timed out"),
            SendError::Transport(e) => f.write_str(e),
        }
    }
}

/// A pooled client for one sink.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client with the sink's TLS settings and timeout.
    pub fn new(sink: &str, common: &HttpCommon) -> Result<Self, String> {
        let tls = super::tls::client_config(sink, &common.tls)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(common.timeout));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(HttpClient {
            inner,
            timeout: common.timeout,
        })
    }

    /// Send one request and read its response.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Response, SendError> {
        let fut = async {
            let resp = self
                .inner
                .request(req)
                .await
                .map_err(|e| SendError::Transport(error_chain(&e as &dyn std::error::Error)))?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| SendError::Transport(format!("reading response: {e}")))?
                .to_bytes();
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Timeout),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// gzip `body` (flate2, zlib-rs backend; level 6: most of the gain of 9 for
/// a fraction of the CPU on JSON).
pub fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::new(6),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(body);
    Bytes::from(enc.finish().unwrap_or_default())
}

/// The first `max` characters of a response body, for messages.
pub fn snippet(body: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
