//! `type = "sentinel"`: Azure Monitor Logs Ingestion API (Microsoft
//! Sentinel's custom tables).

use std::path::Path;

use serde::Deserialize;

use crate::sinks::util::config::{
    check_endpoint, raw_common, Compression, Defaults, Problems, RawBatch, RawDeadLetter,
    RawRequest, RawTls,
};
use crate::sinks::util::secret::{RawSecret, Secret};
use crate::sinks::util::template::Template;
use crate::sinks::{RemoteApi, RemoteSink};

/// The API's limit on one request body.
pub const MAX_BODY_BYTES: usize = 1_000_000;
/// Default stream: one per OCSF class, matching the shipped DCR template.
pub const DEFAULT_STREAM: &str = "Custom-OCSF_{class}";
/// Default Entra ID authority (public cloud).
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// Default token scope (public cloud).
pub const DEFAULT_SCOPE: &str = "https://monitor.azure.com/.default";

/// `[sinks.<id>]` with `type = "sentinel"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelConfig {
    /// Source ids whose events this sink receives.
    pub inputs: Vec<String>,
    /// Logs ingestion endpoint of the data collection endpoint (DCE) or of
    /// the DCR, e.g. `https://my-dce-abcd.westeurope-1.ingest.monitor.azure.com`.
    pub endpoint: String,
    /// Batching limits. `batch.max_bytes` is at most (and by default)
    /// 1,000,000: a body never exceeds it; a single event that cannot fit is
    /// dead-lettered.
    #[serde(default)]
    pub batch: RawBatch,
    /// `"gzip"` (default) or `"none"`.
    #[serde(default)]
    pub compression: Compression,
    /// Concurrency, timeout and retry timing.
    #[serde(default)]
    pub request: RawRequest,
    /// TLS (applies to the token endpoint too).
    #[serde(default)]
    pub tls: RawTls,
    /// Dead-letter file.
    #[serde(default)]
    pub dead_letter: RawDeadLetter,
    /// `[buffer]`: memory (default) or disk, and what happens when full
    /// (see [`crate::buffers`]).
    #[serde(default)]
    pub buffer: Option<crate::buffers::RawBuffer>,
    /// The DCR's immutable id (`dcr-…`).
    pub dcr_immutable_id: String,
    /// Stream name in the DCR (template). Default `Custom-OCSF_{class}`.
    pub stream: Option<String>,
    /// Entra ID tenant (directory) id.
    pub tenant_id: String,
    /// Application (client) id of the app registration.
    pub client_id: String,
    /// Its client secret: a string (`"${AZURE_CLIENT_SECRET}"`) or
    /// `{ file = "/path" }`.
    pub client_secret: RawSecret,
    /// Entra ID authority. Default `https://login.microsoftonline.com`;
    /// Azure US Government `https://login.microsoftonline.us`, Azure China
    /// `https://login.chinacloudapi.cn`.
    pub authority: Option<String>,
    /// Token scope. Default `https://monitor.azure.com/.default`; Azure US
    /// Government `https://monitor.azure.us/.default`, Azure China
    /// `https://monitor.azure.cn/.default`.
    pub scope: Option<String>,
}

/// Checked `sentinel` settings.
#[derive(Debug, Clone)]
pub struct SentinelSettings {
    /// DCR immutable id.
    pub dcr_immutable_id: String,
    /// Stream.
    pub stream: Template,
    /// Token endpoint URL.
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
    /// Scope.
    pub scope: String,
}

fn safe_path_part(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl SentinelConfig {
    /// Check; problems are `(key, reason)` relative to the sink's table.
    pub fn check(&self, id: &str, data_dir: &Path) -> (RemoteSink, Problems) {
        let mut p = Problems::default();
        let common = raw_common!(self).check(
            id,
            data_dir,
            Defaults {
                max_bytes: MAX_BODY_BYTES,
                max_events: 10_000,
                max_bytes_limit: Some(MAX_BODY_BYTES),
            },
            &mut p,
        );
        if !safe_path_part(&self.dcr_immutable_id) {
            p.add("dcr_immutable_id", "expected an id like `dcr-0123…`");
        }
        if !safe_path_part(&self.tenant_id) {
            p.add("tenant_id", "expected a tenant id (GUID) or domain");
        }
        if self.client_id.trim().is_empty() {
            p.add("client_id", "is empty");
        }
        let stream_text = self.stream.as_deref().unwrap_or(DEFAULT_STREAM);
        let stream = match Template::parse(stream_text) {
            Ok(t) => t,
            Err(e) => {
                p.add("stream", e);
                Template::literal("invalid")
            }
        };
        if !stream_text.starts_with("Custom-") && !stream_text.starts_with("Microsoft-") {
            p.add(
                "stream",
                "DCR stream names start with `Custom-` (or `Microsoft-`)",
            );
        }
        let authority = self.authority.as_deref().unwrap_or(DEFAULT_AUTHORITY);
        let token_url = match check_endpoint(authority) {
            Ok(u) => format!(
                "{}/{}/oauth2/v2.0/token",
                u.to_string().trim_end_matches('/'),
                self.tenant_id
            ),
            Err(e) => {
                p.add("authority", e);
                String::new()
            }
        };
        let client_secret = p
            .secret("client_secret", Some(&self.client_secret))
            .unwrap_or_else(|| Secret::new("invalid"));
        let api = RemoteApi::Sentinel(SentinelSettings {
            dcr_immutable_id: self.dcr_immutable_id.clone(),
            stream,
            token_url,
            client_id: self.client_id.clone(),
            client_secret,
            scope: self.scope.clone().unwrap_or_else(|| DEFAULT_SCOPE.into()),
        });
        (RemoteSink { common, api }, p)
    }
}
