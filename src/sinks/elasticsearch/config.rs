//! `type = "elasticsearch"`: Elasticsearch or OpenSearch `_bulk`.

use std::path::Path;

use serde::Deserialize;

use crate::sinks::util::config::{
    raw_common, Auth, Compression, Defaults, Problems, RawAuth, RawBatch, RawDeadLetter,
    RawRequest, RawTls,
};
use crate::sinks::util::secret::RawSecret;
use crate::sinks::util::template::Template;
use crate::sinks::{RemoteApi, RemoteSink};

/// Default data stream: one per OCSF class, in the `logs` type so the
/// built-in `logs` lifecycle applies, matched by the shipped template.
pub const DEFAULT_DATA_STREAM: &str = "logs-ocsf.{class}-default";

/// `[sinks.<id>]` with `type = "elasticsearch"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchConfig {
    /// Source ids whose events this sink receives.
    pub inputs: Vec<String>,
    /// Base URL of the cluster (or a coordinating node / load balancer),
    /// e.g. `https://es.example.com:9200`; `/_bulk` is appended.
    pub endpoint: String,
    /// Batching limits.
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
    /// API key, the base64 `encoded` value Elasticsearch returns
    /// (`Authorization: ApiKey …`): a string or `{ file = "/path" }`.
    pub api_key: Option<RawSecret>,
    /// Basic (`auth.user` + `auth.password`) or bearer (`auth.token`)
    /// instead of `api_key`.
    #[serde(default)]
    pub auth: RawAuth,
    /// Data stream to `create` into (template). Default
    /// `logs-ocsf.{class}-default`. Each document gets an `@timestamp`
    /// (from OCSF `time`), which data streams require.
    pub data_stream: Option<String>,
    /// A plain index (template) instead of a data stream; documents are
    /// sent unchanged.
    pub index: Option<String>,
}

/// Where documents go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A data stream; `@timestamp` is added.
    DataStream(Template),
    /// An index.
    Index(Template),
}

/// Checked `elasticsearch` settings.
#[derive(Debug, Clone)]
pub struct ElasticsearchSettings {
    /// Credentials.
    pub auth: Option<Auth>,
    /// Destination.
    pub target: Target,
}

impl ElasticsearchConfig {
    /// Check; problems are `(key, reason)` relative to the sink's table.
    pub fn check(&self, id: &str, data_dir: &Path) -> (RemoteSink, Problems) {
        let mut p = Problems::default();
        let common = raw_common!(self).check(
            id,
            data_dir,
            Defaults {
                max_bytes: 5 << 20,
                max_events: 1000,
                max_bytes_limit: None,
            },
            &mut p,
        );
        let auth = self.auth.check(self.api_key.as_ref(), &mut p);
        let mut template = |key: &str, s: &str| {
            if s.chars().any(|c| c.is_ascii_uppercase()) {
                p.add(key, "index and data stream names must be lower case");
            }
            Template::parse(s).unwrap_or_else(|e| {
                p.add(key, e);
                Template::literal("invalid")
            })
        };
        let target = match (&self.data_stream, &self.index) {
            (Some(_), Some(_)) => {
                p.add("index", "set either data_stream or index, not both");
                Target::Index(Template::literal("invalid"))
            }
            (None, Some(i)) => Target::Index(template("index", i)),
            (ds, None) => Target::DataStream(template(
                "data_stream",
                ds.as_deref().unwrap_or(DEFAULT_DATA_STREAM),
            )),
        };
        let api = RemoteApi::Elasticsearch(ElasticsearchSettings { auth, target });
        (RemoteSink { common, api }, p)
    }
}
