//! The config file as written: serde structs, unknown keys rejected. The
//! `///` comments here are the reference for every key (README mirrors them).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// One config file. Several files (a directory of `*.toml`) are merged:
/// `sources` and `sinks` ids must be unique across files, global keys may be
/// set in one file only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// Directory for checkpoints (and, later, buffers). Created if missing.
    pub data_dir: Option<PathBuf>,
    /// Organisation-wide facts used by parsers and enrichment.
    pub enrich: Option<RawEnrich>,
    /// Internal metrics.
    pub telemetry: Option<RawTelemetry>,
    /// Inputs, by id.
    #[serde(default)]
    pub sources: BTreeMap<String, RawSource>,
    /// Outputs, by id.
    #[serde(default)]
    pub sinks: BTreeMap<String, RawSink>,
}

/// `[enrich]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnrich {
    /// Mail domains of the organisation; decides mail direction.
    #[serde(default)]
    pub local_domains: Vec<String>,
}

/// `[telemetry]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// Address for the Prometheus scrape endpoint, e.g. `127.0.0.1:9598`.
    /// Unset: no listener.
    pub prometheus_listen: Option<String>,
}

/// `[sources.<id>]`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawSource {
    /// Tail files.
    File(RawFileSource),
}

/// Where a file source starts in a file it has no checkpoint for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// From the first byte.
    #[default]
    Beginning,
    /// From the current end (files present at start-up only; files that
    /// appear later are always read from their beginning).
    End,
}

/// `type = "file"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileSource {
    /// Glob patterns of files to read (`/var/log/mail.log*`). Rotated
    /// siblings should match too, so their tails are read after a rename.
    pub include: Vec<String>,
    /// Glob patterns to leave out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Where to start in files without a checkpoint.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// Log source name (`idlink sources` lists them).
    pub parser: String,
    /// Longest line kept; longer lines are cut to this length, counted and
    /// still parsed. Default 65536.
    pub max_line_bytes: Option<usize>,
    /// Put the original line in each event's `raw_data`. Default false.
    pub raw_data: Option<bool>,
    /// Year of timestamps that carry none (backfill of old files). Default:
    /// inferred from the clock.
    pub year: Option<i32>,
    /// UTC offset of timestamps written without a zone, `+HH:MM`. Default
    /// `+00:00`.
    pub utc_offset: Option<String>,
    /// How often to look for new files matching `include`, seconds. Default 1.
    pub scan_interval_secs: Option<f64>,
    /// Sleep when there is nothing to read, milliseconds. Default 100.
    pub poll_interval_ms: Option<u64>,
    /// Most messages held open by multi-line assembly (Postfix). Default 50000.
    pub max_open_messages: Option<usize>,
    /// Event-time span after which an open message is emitted with what it
    /// has, seconds. Default 600.
    pub message_ttl_secs: Option<u64>,
    /// Emit held messages when no line arrived for this long, seconds.
    /// Default 30.
    pub idle_flush_secs: Option<u64>,
}

/// `[sinks.<id>]`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawSink {
    /// NDJSON file.
    File(RawFileSink),
    /// NDJSON on standard output.
    Stdout(RawStdoutSink),
    /// Splunk HTTP Event Collector (keys: [`crate::sinks::splunk_hec::SplunkHecConfig`]).
    SplunkHec(crate::sinks::splunk_hec::SplunkHecConfig),
    /// Elasticsearch / OpenSearch `_bulk` (keys:
    /// [`crate::sinks::elasticsearch::ElasticsearchConfig`]).
    Elasticsearch(crate::sinks::elasticsearch::ElasticsearchConfig),
    /// Microsoft Sentinel via the Logs Ingestion API (keys:
    /// [`crate::sinks::sentinel::SentinelConfig`]).
    Sentinel(crate::sinks::sentinel::SentinelConfig),
    /// NDJSON POST to any URL (keys: [`crate::sinks::http::HttpSinkConfig`]).
    Http(crate::sinks::http::HttpSinkConfig),
}

/// `type = "file"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileSink {
    /// Source ids whose events this sink receives.
    pub inputs: Vec<String>,
    /// Output file. Its directory is created if missing.
    pub path: PathBuf,
    /// Rotate when the file would grow past this many bytes (renamed to
    /// `<path>.1`, older ones shifted). Default 0: never rotate.
    pub max_bytes: Option<u64>,
    /// Rotated files kept (`<path>.1` … `<path>.N`). Default 5.
    pub max_files: Option<u32>,
    /// fsync each batch before acknowledging it. Default true.
    pub fsync: Option<bool>,
}

/// `type = "stdout"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdoutSink {
    /// Source ids whose events this sink receives.
    pub inputs: Vec<String>,
}
