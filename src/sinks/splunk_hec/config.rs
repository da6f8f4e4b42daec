//! `type = "splunk_hec"`: Splunk HTTP Event Collector.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::sinks::util::config::{
    raw_common, Compression, Defaults, Problems, RawBatch, RawDeadLetter, RawRequest, RawTls,
};
use crate::sinks::util::secret::{RawSecret, Secret};
use crate::sinks::util::template::Template;
use crate::sinks::{RemoteApi, RemoteSink};

/// `[sinks.<id>]` with `type = "splunk_hec"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkHecConfig {
    /// Source ids whose events this sink receives.
    pub inputs: Vec<String>,
    /// Base URL of HEC, e.g. `https://splunk.example.com:8088`;
    /// `/services/collector/event` is appended.
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
    /// HEC token (`Authorization: Splunk <token>`): `"${HEC_TOKEN}"` or
    /// `{ file = "/path" }`.
    pub token: RawSecret,
    /// Index (template). Unset: the token's default index.
    pub index: Option<String>,
    /// Sourcetype (template). Default `ocsf:{class}`, e.g.
    /// `ocsf:email_activity`.
    pub sourcetype: Option<String>,
    /// Source (template). Default `idlink:{source}`.
    pub source: Option<String>,
    /// Host field. Default: this machine's host name.
    pub host: Option<String>,
    /// Indexer acknowledgement.
    #[serde(default)]
    pub acknowledgements: RawHecAcks,
}

/// `acknowledgements`: with it, a request counts as delivered only when
/// Splunk confirms the events were indexed (the token must have indexer
/// acknowledgement enabled).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHecAcks {
    /// Poll `/services/collector/ack` and acknowledge only then. Default
    /// false.
    pub enabled: Option<bool>,
    /// Seconds between polls for one request. Default 1.
    pub poll_interval_secs: Option<f64>,
    /// Send the request again if its ack has not come after this many
    /// seconds (the indexer may have lost it). Default 60.
    pub timeout_secs: Option<f64>,
}

/// Checked indexer-acknowledgement settings.
#[derive(Debug, Clone, Copy)]
pub struct AckSettings {
    /// Between polls.
    pub poll_interval: Duration,
    /// Before sending again.
    pub timeout: Duration,
}

/// Checked `splunk_hec` settings.
#[derive(Debug, Clone)]
pub struct SplunkHecSettings {
    /// Token.
    pub token: Secret,
    /// Index.
    pub index: Option<Template>,
    /// Sourcetype.
    pub sourcetype: Template,
    /// Source.
    pub source: Template,
    /// Host.
    pub host: String,
    /// Indexer acknowledgement, if enabled.
    pub acks: Option<AckSettings>,
}

impl SplunkHecConfig {
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
        let token = p
            .secret("token", Some(&self.token))
            .unwrap_or_else(|| Secret::new("invalid"));
        let mut template = |key: &str, v: Option<&str>, default: &str| {
            Template::parse(v.unwrap_or(default)).unwrap_or_else(|e| {
                p.add(key, e);
                Template::literal("invalid")
            })
        };
        let index = self
            .index
            .as_deref()
            .map(|i| template("index", Some(i), ""));
        let sourcetype = template("sourcetype", self.sourcetype.as_deref(), "ocsf:{class}");
        let source = template("source", self.source.as_deref(), "idlink:{source}");
        let a = &self.acknowledgements;
        let acks = a.enabled.unwrap_or(false).then(|| AckSettings {
            poll_interval: p.secs(
                "acknowledgements.poll_interval_secs",
                a.poll_interval_secs,
                1.0,
            ),
            timeout: p.secs("acknowledgements.timeout_secs", a.timeout_secs, 60.0),
        });
        let host = self.host.clone().unwrap_or_else(hostname);
        let api = RemoteApi::SplunkHec(SplunkHecSettings {
            token,
            index,
            sourcetype,
            source,
            host,
            acks,
        });
        (RemoteSink { common, api }, p)
    }
}

/// This machine's name (Linux), or `idlink`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "idlink".into())
}
