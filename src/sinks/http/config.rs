//! `type = "http"`: NDJSON POSTed to any endpoint.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::sinks::util::config::{
    raw_common, Auth, Compression, Defaults, Problems, RawAuth, RawBatch, RawDeadLetter,
    RawRequest, RawTls,
};
use crate::sinks::util::secret::{RawSecret, Secret};
use crate::sinks::{RemoteApi, RemoteSink};

/// `[sinks.<id>]` with `type = "http"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSinkConfig {
    /// Source ids whose events this sink receives.
    pub inputs: Vec<String>,
    /// URL the NDJSON is POSTed to (`http://` or `https://`, no
    /// credentials, no query string).
    pub endpoint: String,
    /// Batching limits (see the README).
    #[serde(default)]
    pub batch: RawBatch,
    /// `"gzip"` (default) or `"none"`.
    #[serde(default)]
    pub compression: Compression,
    /// Concurrency, timeout and retry timing.
    #[serde(default)]
    pub request: RawRequest,
    /// TLS.
    #[serde(default)]
    pub tls: RawTls,
    /// Dead-letter file.
    #[serde(default)]
    pub dead_letter: RawDeadLetter,
    /// `[buffer]`: memory (default) or disk, and what happens when full
    /// (see [`crate::buffers`]).
    #[serde(default)]
    pub buffer: Option<crate::buffers::RawBuffer>,
    /// Extra request headers. Values may be secrets (`{ file = "/path" }`
    /// or `"${VAR}"`) and are never logged.
    #[serde(default)]
    pub headers: BTreeMap<String, RawSecret>,
    /// Basic (`auth.user` + `auth.password`) or bearer (`auth.token`).
    #[serde(default)]
    pub auth: RawAuth,
}

/// Checked `http` settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Extra headers.
    pub headers: Vec<(http::HeaderName, Secret)>,
    /// Credentials.
    pub auth: Option<Auth>,
}

impl HttpSinkConfig {
    /// Check; problems are `(key, reason)` relative to the sink's table.
    pub fn check(&self, id: &str, data_dir: &Path) -> (RemoteSink, Problems) {
        let mut p = Problems::default();
        let common = raw_common!(self).check(
            id,
            data_dir,
            Defaults {
                max_bytes: 1 << 20,
                max_events: 1000,
                max_bytes_limit: None,
            },
            &mut p,
        );
        let mut headers = Vec::new();
        for (name, raw) in &self.headers {
            let key = format!("headers.{name}");
            let Ok(h) = http::HeaderName::from_bytes(name.as_bytes()) else {
                p.add(&key, "not a valid header name");
                continue;
            };
            if let Some(v) = p.secret(&key, Some(raw)) {
                if http::HeaderValue::from_str(v.expose()).is_err() {
                    p.add(&key, "value has characters not allowed in a header");
                }
                headers.push((h, v));
            }
        }
        let auth = self.auth.check(None, &mut p);
        let api = RemoteApi::Http(HttpSettings { headers, auth });
        (RemoteSink { common, api }, p)
    }
}
