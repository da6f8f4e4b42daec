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
    /// Directory for checkpoints, disk buffers and correlation state.
    /// Created if missing. Default `/var/lib/idlink`.
    pub data_dir: Option<PathBuf>,
    /// On SIGTERM/SIGINT, how long sinks keep trying to deliver what is in
    /// flight before the agent exits (what is left is sent again by the next
    /// run), seconds. Default 30. Keep it below the service manager's stop
    /// timeout (systemd: `TimeoutStopSec`, 90 s by default).
    pub shutdown_timeout_secs: Option<f64>,
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

/// `[enrich]`: entity resolution and risk tags (`docs/enrichment.md`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnrich {
    /// Mail domains of the organisation; decides mail direction, which
    /// senders are external and which forwarding targets are outside.
    #[serde(default)]
    pub local_domains: Vec<String>,
    /// Add entity enrichments and risk tags to events. Default true.
    pub enabled: Option<bool>,
    /// Tenant name: the namespace of entity ids. Collectors that must give
    /// the same person the same id need the same tenant (and the same
    /// `domain_aliases` and identity map). Default `"default"`.
    pub tenant: Option<String>,
    /// Alias domain → canonical domain, e.g. `"corp.onmicrosoft.com" =
    /// "corp.example"`. NetBIOS names work too (`CORP = "corp.example"`
    /// turns `CORP\jdoe` into `jdoe@corp.example`); the first label of each
    /// local domain is one by default.
    #[serde(default)]
    pub domain_aliases: BTreeMap<String, String>,
    /// Domains that lookalike senders are measured against (edit distance,
    /// homoglyphs, punycode). Default: `local_domains`.
    pub protected_domains: Option<Vec<String>>,
    /// Directory export, CSV (`id,aliases,kind,privileged,executive,department`)
    /// or JSON. Reloaded when the file changes.
    pub identity_map: Option<PathBuf>,
    /// How often the identity map file is checked for changes, seconds.
    /// Default 5.
    pub identity_map_reload_secs: Option<f64>,
    /// How often correlation state is written to
    /// `<data_dir>/state/correlation.json`, seconds. Default 60 (and at
    /// shutdown).
    pub snapshot_interval_secs: Option<f64>,
    /// Stateful rules: windows, caps, per-profile thresholds.
    pub correlation: Option<RawCorrelation>,
}

/// `[enrich.correlation]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelation {
    /// After a blocked/malicious message, how long a sign-in, MFA change,
    /// consent or inbox rule by a recipient is `recent_phish_target`,
    /// seconds. Default 86400.
    pub phish_window_secs: Option<u64>,
    /// Window of failed sign-ins for `failed_signin_burst` and
    /// `brute_force_success`, seconds. Default 600.
    pub failure_window_secs: Option<u64>,
    /// Window of push denials before an approval (`mfa_fatigue`), seconds.
    /// Default 600.
    pub mfa_window_secs: Option<u64>,
    /// Window of `password_spray`, seconds. Default 600.
    pub spray_window_secs: Option<u64>,
    /// Distinct accounts failing from one IP for `password_spray`.
    /// Default 5.
    pub spray_min_entities: Option<u32>,
    /// Window between a risky sign-in and a forwarding rule or consent
    /// (`forwarding_after_risky_signin`), seconds. Default 7200.
    pub forwarding_window_secs: Option<u64>,
    /// Speed above which consecutive sign-ins are `impossible_travel`,
    /// km/h. Default 900.
    pub travel_max_kmh: Option<f64>,
    /// Distances below this never count as travel (geo-IP noise), km.
    /// Default 300.
    pub travel_min_km: Option<f64>,
    /// How late (in event time) an event from another source may arrive and
    /// still be correlated, seconds. Default 900.
    pub lateness_secs: Option<u64>,
    /// Most entities held in correlation state. Default 20000; raise it for large tenants (memory grows with it).
    pub max_entities: Option<usize>,
    /// Most source IPs held for spray detection. Default 10000.
    pub max_source_ips: Option<usize>,
    /// Thresholds for standard users.
    pub standard: Option<RawThresholds>,
    /// Thresholds for privileged identities (identity map `privileged`).
    pub privileged: Option<RawThresholds>,
    /// Thresholds for executives (identity map `executive`).
    pub executive: Option<RawThresholds>,
    /// Thresholds for service identities.
    pub service: Option<RawThresholds>,
    /// Thresholds for shared mailboxes.
    pub shared_mailbox: Option<RawThresholds>,
}

/// `[enrich.correlation.<profile>]`. Defaults: standard 10 / 5 / 3,
/// privileged and executive and shared mailbox 5 / 3 / 2, service 3 / 3 / 1.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    /// Failed sign-ins within `failure_window_secs` for
    /// `failed_signin_burst`.
    pub failed_signins: Option<u32>,
    /// Failed sign-ins before a success for `brute_force_success`.
    pub brute_force_failures: Option<u32>,
    /// Push denials before an approval for `mfa_fatigue`.
    pub mfa_push_denials: Option<u32>,
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
    /// Also write each record the parser does not recognise (and each
    /// stretch of input that is not a whole record: JSON framing errors,
    /// lines over `max_line_bytes`) to this NDJSON file, with the file,
    /// offset and reason, so `idlink replay --from-dead-letter` can parse it
    /// again once the cause is fixed. Such records still become OCSF Base
    /// Events with `raw_data`, as without this key. Fsynced before the
    /// checkpoint passes them. Format: `docs/delivery.md`. Default: none.
    pub dead_letter: Option<PathBuf>,
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
    /// `[buffer]`: memory (default) or disk (see [`crate::buffers`]).
    pub buffer: Option<crate::buffers::RawBuffer>,
}

/// `type = "stdout"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdoutSink {
    /// Source ids whose events this sink receives.
    pub inputs: Vec<String>,
    /// `[buffer]`: memory (default) or disk (see [`crate::buffers`]).
    pub buffer: Option<crate::buffers::RawBuffer>,
}
