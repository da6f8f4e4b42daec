//! Keys shared by every HTTP sink (`endpoint`, `batch.*`, `compression`,
//! `request.*`, `tls.*`, `dead_letter.*`), as written and as checked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// `batch`: when a request is sent. A request leaves when the next event
/// would take it past `max_bytes` or `max_events`, or `timeout_secs` after
/// its first event arrived, whichever comes first.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBatch {
    /// Most bytes of one request body before compression (envelopes and
    /// separators included). Default: per sink (splunk_hec and http 1 MiB,
    /// elasticsearch 5 MiB, sentinel 1,000,000, which is also its maximum).
    pub max_bytes: Option<usize>,
    /// Most events in one request. Default: per sink (sentinel 10000,
    /// others 1000).
    pub max_events: Option<usize>,
    /// Send a request this many seconds after its first event, even if not
    /// full. Default 1.
    pub timeout_secs: Option<f64>,
}

/// `request`: how requests are sent and retried.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// Requests in flight at once. Default 4. When all are busy the sink
    /// stops taking batches and its sources slow down (backpressure).
    pub concurrency: Option<usize>,
    /// Give up on one attempt after this many seconds (connect, send and
    /// read the response), then retry. Default 60.
    pub timeout_secs: Option<f64>,
    /// First retry delay, seconds; doubled per attempt, with jitter.
    /// Default 1.
    pub retry_initial_backoff_secs: Option<f64>,
    /// Longest retry delay, seconds (a `Retry-After` from the server is
    /// honoured even when longer, up to one hour). Default 60.
    pub retry_max_backoff_secs: Option<f64>,
}

/// `tls`: for `https://` endpoints.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM file of extra CA certificates to trust (a private CA), added to
    /// the operating system's trust store.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for servers that require mutual TLS.
    /// Needs `key_file`.
    pub crt_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `crt_file`.
    pub key_file: Option<PathBuf>,
    /// Verify the server certificate and name. Default true; `false` is
    /// for labs only and logs a warning at start-up.
    pub verify: Option<bool>,
}

/// `dead_letter`: where permanently rejected events go.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeadLetter {
    /// NDJSON file, one line per rejected event in the dead-letter format
    /// (`{"v":1,"time","stage":"sink","kind","reason","source","sink","status","event"}`,
    /// see [`crate::sinks::util::dead_letter`]); fsynced before the event
    /// counts as handled; `idlink replay --from-dead-letter` sends it
    /// again. Default `<data_dir>/dead_letter/<sink id>.ndjson`.
    pub path: Option<PathBuf>,
}

/// `compression`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// gzip request bodies (`Content-Encoding: gzip`). The default.
    #[default]
    Gzip,
    /// Send bodies as they are.
    None,
}

/// Checked batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    /// Body bytes before compression.
    pub max_bytes: usize,
    /// Events per request.
    pub max_events: usize,
    /// Age of the oldest event before the request leaves.
    pub timeout: Duration,
}

/// Checked TLS settings.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// Extra CA bundle.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain and key.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Verify the server.
    pub verify: bool,
}

/// Everything an HTTP sink shares, checked.
#[derive(Debug, Clone)]
pub struct HttpCommon {
    /// Base URL.
    pub endpoint: http::Uri,
    /// Batching.
    pub batch: BatchSettings,
    /// gzip bodies.
    pub gzip: bool,
    /// Requests in flight.
    pub concurrency: usize,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// First retry delay.
    pub backoff_initial: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// TLS.
    pub tls: TlsSettings,
    /// Dead-letter file.
    pub dead_letter: PathBuf,
}

/// Collects `(key, reason)` problems of one sink's keys.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<(String, String)>);

impl Problems {
    /// Record a problem with `key` (relative to the sink's table).
    pub fn add(&mut self, key: &str, reason: impl Into<String>) {
        self.0.push((key.to_string(), reason.into()));
    }

    /// A positive number of seconds, or `default`.
    pub fn secs(&mut self, key: &str, v: Option<f64>, default: f64) -> Duration {
        match v {
            None => Duration::from_secs_f64(default),
            Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Duration::from_secs_f64(s),
            Some(_) => {
                self.add(key, "must be a positive number of seconds");
                Duration::from_secs_f64(default)
            }
        }
    }

    /// A count of at least 1, or `default`.
    pub fn count(&mut self, key: &str, v: Option<usize>, default: usize) -> usize {
        match v {
            None => default,
            Some(0) => {
                self.add(key, "must be at least 1");
                default
            }
            Some(n) => n,
        }
    }

    /// Resolve a secret, recording why it cannot be.
    pub fn secret(
        &mut self,
        key: &str,
        raw: Option<&super::secret::RawSecret>,
    ) -> Option<super::secret::Secret> {
        let raw = raw?;
        match super::secret::Secret::resolve(raw) {
            Ok(s) => Some(s),
            Err(e) => {
                self.add(key, e);
                None
            }
        }
    }
}

/// Per-sink defaults for the shared keys.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// `batch.max_bytes`.
    pub max_bytes: usize,
    /// `batch.max_events`.
    pub max_events: usize,
    /// Upper bound of `batch.max_bytes`, if the API has one.
    pub max_bytes_limit: Option<usize>,
}

/// The shared keys of a sink config struct as a [`RawCommon`]. Every HTTP
/// sink's config repeats these fields (serde cannot `flatten` a shared struct
/// under `deny_unknown_fields`), so this borrows them in one place.
macro_rules! raw_common {
    ($cfg:expr) => {
        $crate::sinks::util::config::RawCommon {
            endpoint: &$cfg.endpoint,
            batch: &$cfg.batch,
            compression: $cfg.compression,
            request: &$cfg.request,
            tls: &$cfg.tls,
            dead_letter: &$cfg.dead_letter,
        }
    };
}
pub(crate) use raw_common;

/// The shared keys as written.
#[derive(Debug, Clone, Copy)]
pub struct RawCommon<'a> {
    /// `endpoint`.
    pub endpoint: &'a str,
    /// `batch`.
    pub batch: &'a RawBatch,
    /// `compression`.
    pub compression: Compression,
    /// `request`.
    pub request: &'a RawRequest,
    /// `tls`.
    pub tls: &'a RawTls,
    /// `dead_letter`.
    pub dead_letter: &'a RawDeadLetter,
}

impl RawCommon<'_> {
    /// Check the shared keys of sink `id`.
    pub fn check(
        &self,
        id: &str,
        data_dir: &Path,
        defaults: Defaults,
        p: &mut Problems,
    ) -> HttpCommon {
        let endpoint = match check_endpoint(self.endpoint) {
            Ok(u) => u,
            Err(e) => {
                p.add("endpoint", e);
                http::Uri::from_static("http://invalid")
            }
        };
        let mut max_bytes = p.count("batch.max_bytes", self.batch.max_bytes, defaults.max_bytes);
        if let Some(limit) = defaults.max_bytes_limit {
            if max_bytes > limit {
                p.add(
                    "batch.max_bytes",
                    format!("at most {limit} (the API rejects larger requests)"),
                );
                max_bytes = limit;
            }
        }
        let batch = BatchSettings {
            max_bytes,
            max_events: p.count(
                "batch.max_events",
                self.batch.max_events,
                defaults.max_events,
            ),
            timeout: p.secs("batch.timeout_secs", self.batch.timeout_secs, 1.0),
        };
        let r = self.request;
        let backoff_initial = p.secs(
            "request.retry_initial_backoff_secs",
            r.retry_initial_backoff_secs,
            1.0,
        );
        let backoff_max = p.secs(
            "request.retry_max_backoff_secs",
            r.retry_max_backoff_secs,
            60.0,
        );
        if backoff_max < backoff_initial {
            p.add(
                "request.retry_max_backoff_secs",
                "must not be below retry_initial_backoff_secs",
            );
        }
        let client_cert = match (&self.tls.crt_file, &self.tls.key_file) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            (None, None) => None,
            (Some(_), None) => {
                p.add("tls.key_file", "needed with tls.crt_file");
                None
            }
            (None, Some(_)) => {
                p.add("tls.crt_file", "needed with tls.key_file");
                None
            }
        };
        let tls = TlsSettings {
            ca_file: self.tls.ca_file.clone(),
            client_cert,
            verify: self.tls.verify.unwrap_or(true),
        };
        if let Err((key, e)) = super::tls::check_files(&tls) {
            p.add(key, e);
        }
        HttpCommon {
            endpoint,
            batch,
            gzip: self.compression == Compression::Gzip,
            concurrency: p.count("request.concurrency", r.concurrency, 4),
            timeout: p.secs("request.timeout_secs", r.timeout_secs, 60.0),
            backoff_initial,
            backoff_max,
            tls,
            dead_letter: self.dead_letter.path.clone().unwrap_or_else(|| {
                data_dir
                    .join("dead_letter")
                    .join(format!("{}.ndjson", id.replace(['/', '\\'], "_")))
            }),
        }
    }
}

/// An `http://` or `https://` URL with a host and no credentials in it.
pub fn check_endpoint(s: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = s.parse().map_err(|e| format!("`{s}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(format!("`{s}` must start with http:// or https://")),
    }
    let Some(auth) = uri.authority() else {
        return Err(format!("`{s}` has no host"));
    };
    if auth.as_str().contains('@') {
        // Credentials in a URL end up in logs; they have their own keys.
        return Err("must not contain credentials (use the sink's auth keys)".into());
    }
    if uri.query().is_some() {
        return Err("must not contain a query string".into());
    }
    Ok(uri)
}

/// `base` + `path` (which starts with `/`), without doubling the slash.
pub fn join_url(base: &http::Uri, path: &str) -> String {
    let b = base.to_string();
    format!("{}{}", b.trim_end_matches('/'), path)
}

/// `auth`: credentials sent with every request (pick one form).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// Basic auth user name (with `password`).
    pub user: Option<String>,
    /// Basic auth password: a string (`"${VAR}"`) or `{ file = "/path" }`.
    pub password: Option<super::secret::RawSecret>,
    /// Bearer token (`Authorization: Bearer …`): a string or
    /// `{ file = "/path" }`.
    pub token: Option<super::secret::RawSecret>,
}

/// Checked credentials.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User.
        user: String,
        /// Password.
        password: super::secret::Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(super::secret::Secret),
    /// `Authorization: ApiKey <key>` (Elasticsearch).
    ApiKey(super::secret::Secret),
}

impl Auth {
    /// The `Authorization` header value, marked sensitive so hyper never
    /// shows it.
    pub fn header(&self) -> Option<http::HeaderValue> {
        use base64::Engine as _;
        let v = match self {
            Auth::Basic { user, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose()))
            ),
            Auth::Bearer(t) => format!("Bearer {}", t.expose()),
            Auth::ApiKey(k) => format!("ApiKey {}", k.expose()),
        };
        sensitive(&v)
    }
}

/// A header value marked sensitive (`None` if it holds characters a header
/// cannot carry; checked at config time).
pub fn sensitive(v: &str) -> Option<http::HeaderValue> {
    let mut h = http::HeaderValue::from_str(v).ok()?;
    h.set_sensitive(true);
    Some(h)
}

impl RawAuth {
    /// Check `auth.*`; `api_key` is Elasticsearch's extra form.
    pub fn check(
        &self,
        api_key: Option<&super::secret::RawSecret>,
        p: &mut Problems,
    ) -> Option<Auth> {
        let api_key = p.secret("api_key", api_key);
        let password = p.secret("auth.password", self.password.as_ref());
        let token = p.secret("auth.token", self.token.as_ref());
        let basic = match (&self.user, password) {
            (Some(u), Some(pw)) => Some(Auth::Basic {
                user: u.clone(),
                password: pw,
            }),
            (None, None) => None,
            (Some(_), None) => {
                p.add("auth.password", "needed with auth.user");
                None
            }
            (None, Some(_)) => {
                p.add("auth.user", "needed with auth.password");
                None
            }
        };
        let all: Vec<Auth> = [basic, token.map(Auth::Bearer), api_key.map(Auth::ApiKey)]
            .into_iter()
            .flatten()
            .collect();
        if all.len() > 1 {
            p.add(
                "auth",
                "set only one of api_key, auth.user/auth.password, auth.token",
            );
        }
        let auth = all.into_iter().next();
        if auth.as_ref().is_some_and(|a| a.header().is_none()) {
            p.add(
                "auth",
                "credentials contain characters not allowed in an HTTP header",
            );
        }
        auth
    }
}
