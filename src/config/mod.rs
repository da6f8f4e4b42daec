//! Configuration: TOML files as written ([`raw`]) → checked [`Config`].
//!
//! `load` takes a file or a directory of `*.toml` (one file per data source
//! is the normal deployment), resolves `${VAR}` references, and reports every
//! problem at once, each naming the file, the key and the reason.

mod dead_letter;
pub mod interpolate;
pub mod raw;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use idlink_parsers::Source;

use crate::buffers::BufferConfig;

pub use raw::ReadFrom;
use raw::{RawFile, RawSink, RawSource};

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file it is in.
    pub file: PathBuf,
    /// The key (dotted path), empty for file-level problems.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.reason)
        }
    }
}

/// How long sinks drain after a stop signal unless configured.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The checked configuration the agent runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where checkpoints live.
    pub data_dir: PathBuf,
    /// How long sinks may drain after a stop signal.
    pub shutdown_timeout: Duration,
    /// Mail domains of the organisation (lower case).
    pub local_domains: Vec<String>,
    /// Entity resolution and risk tags.
    pub enrich: crate::enrich::EnrichConfig,
    /// Prometheus listener, if any.
    pub prometheus_listen: Option<std::net::SocketAddr>,
    /// Inputs.
    pub sources: Vec<SourceConfig>,
    /// Outputs.
    pub sinks: Vec<SinkConfig>,
}

/// A checked file source.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Config id.
    pub id: String,
    /// Glob patterns to read.
    pub include: Vec<glob::Pattern>,
    /// Glob patterns to leave out.
    pub exclude: Vec<glob::Pattern>,
    /// Start position for files without checkpoint.
    pub read_from: ReadFrom,
    /// The parser.
    pub parser: Source,
    /// Line cap.
    pub max_line_bytes: usize,
    /// Keep the original record in `raw_data`.
    pub raw_data: bool,
    /// Fixed year for year-less timestamps.
    pub year: Option<i32>,
    /// Offset of zone-less timestamps.
    pub utc_offset_secs: i32,
    /// Glob rescan period.
    pub scan_interval: Duration,
    /// Sleep when idle.
    pub poll_interval: Duration,
    /// Assembly bounds.
    pub max_open_messages: usize,
    /// Assembly TTL (event time).
    pub message_ttl: Duration,
    /// Flush held messages after this much idle time.
    pub idle_flush: Duration,
    /// Where unparsed records are also written for replay, if anywhere.
    pub dead_letter: Option<PathBuf>,
}

/// A checked sink.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Config id.
    pub id: String,
    /// Source ids it receives.
    pub inputs: Vec<String>,
    /// What it is.
    pub kind: SinkKind,
    /// Its buffer (memory unless configured).
    pub buffer: BufferConfig,
}

/// The sink types.
#[derive(Debug, Clone)]
pub enum SinkKind {
    /// NDJSON file with size rotation.
    File {
        /// Output path.
        path: PathBuf,
        /// Rotation size, 0 = never.
        max_bytes: u64,
        /// Rotated files kept.
        max_files: u32,
        /// fsync before acknowledging.
        fsync: bool,
    },
    /// NDJSON on stdout.
    Stdout,
    /// An HTTP sink (Splunk HEC, Elasticsearch, Sentinel, plain HTTP).
    Remote(Box<crate::sinks::RemoteSink>),
}

/// Load and check `path` (a `.toml` file or a directory of them) with the
/// process environment.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    load_with_env(path, &|k| std::env::var(k).ok())
}

/// [`load`] with an explicit environment (tests).
pub fn load_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigError>> {
    let files = config_files(path)?;
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for file in files {
        let err = |key: &str, reason: String| ConfigError {
            file: file.clone(),
            key: key.to_string(),
            reason,
        };
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(err("", format!("cannot read: {e}")));
                continue;
            }
        };
        let text = match interpolate::interpolate(&text, env) {
            Ok(t) => t,
            Err(es) => {
                errors.extend(es.into_iter().map(|r| err("", r)));
                continue;
            }
        };
        match toml::from_str::<RawFile>(&text) {
            Ok(raw) => parsed.push((file, raw)),
            Err(e) => {
                let mut key = e.span().map(|s| key_at(&text, s.start)).unwrap_or_default();
                // For a table-level error the span is the whole table; name
                // the offending field when the message does.
                if let Some(field) = e.message().split('`').nth(1) {
                    if e.message().starts_with("unknown field") && !key.ends_with(field) {
                        key = if key.is_empty() {
                            field.to_string()
                        } else {
                            format!("{key}.{field}")
                        };
                    }
                }
                errors.push(err(&key, e.message().to_string()));
            }
        }
    }
    let config = build(parsed, &mut errors);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

fn config_files(path: &Path) -> Result<Vec<PathBuf>, Vec<ConfigError>> {
    let err = |reason: String| {
        vec![ConfigError {
            file: path.to_path_buf(),
            key: String::new(),
            reason,
        }]
    };
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| err(format!("cannot list: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(err("no *.toml files in this directory".into()));
    }
    Ok(files)
}

/// The dotted key of the table/key that contains byte `pos` (for messages
/// about errors the TOML parser reports by position).
fn key_at(text: &str, pos: usize) -> String {
    let pos = pos.min(text.len());
    let header = text[pos..].lines().next().unwrap_or("").trim();
    if header.starts_with('[') && header.ends_with(']') {
        return header
            .trim_matches(|c| c == '[' || c == ']')
            .trim()
            .to_string();
    }
    let before = &text[..pos];
    let mut table = String::new();
    for line in before.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
    }
    let line = before.rsplit('\n').next().unwrap_or("");
    let full_line = text[before.len() - line.len()..]
        .lines()
        .next()
        .unwrap_or("");
    let key = full_line.split('=').next().unwrap_or("").trim();
    match (table.is_empty(), key.is_empty() || key.starts_with('[')) {
        (true, _) => key.to_string(),
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

fn build(files: Vec<(PathBuf, RawFile)>, errors: &mut Vec<ConfigError>) -> Config {
    let mut data_dir: Option<(PathBuf, PathBuf)> = None;
    let mut shutdown_timeout: Option<(PathBuf, f64)> = None;
    let mut enrich: Option<(PathBuf, raw::RawEnrich)> = None;
    let mut telemetry: Option<(PathBuf, raw::RawTelemetry)> = None;
    let mut sources: BTreeMap<String, (PathBuf, RawSource)> = BTreeMap::new();
    let mut sinks: BTreeMap<String, (PathBuf, RawSink)> = BTreeMap::new();

    fn once<T>(
        slot: &mut Option<(PathBuf, T)>,
        file: &Path,
        key: &str,
        value: Option<T>,
        errors: &mut Vec<ConfigError>,
    ) {
        let Some(v) = value else { return };
        if let Some((first, _)) = slot {
            errors.push(ConfigError {
                file: file.to_path_buf(),
                key: key.into(),
                reason: format!("already set in {}", first.display()),
            });
        } else {
            *slot = Some((file.to_path_buf(), v));
        }
    }

    for (file, raw) in files {
        once(&mut data_dir, &file, "data_dir", raw.data_dir, errors);
        once(
            &mut shutdown_timeout,
            &file,
            "shutdown_timeout_secs",
            raw.shutdown_timeout_secs,
            errors,
        );
        once(&mut enrich, &file, "enrich", raw.enrich, errors);
        once(&mut telemetry, &file, "telemetry", raw.telemetry, errors);
        for (id, s) in raw.sources {
            dedupe(&mut sources, &file, "sources", id, s, errors);
        }
        for (id, s) in raw.sinks {
            dedupe(&mut sinks, &file, "sinks", id, s, errors);
        }
    }

    let data_dir = data_dir
        .map(|(_, d)| d)
        .unwrap_or_else(|| PathBuf::from("/var/lib/idlink"));
    let shutdown_timeout = match shutdown_timeout {
        None => DEFAULT_SHUTDOWN_TIMEOUT,
        Some((_, secs)) if secs.is_finite() && (0.0..=3600.0).contains(&secs) => {
            Duration::from_secs_f64(secs)
        }
        Some((file, secs)) => {
            errors.push(ConfigError {
                file,
                key: "shutdown_timeout_secs".into(),
                reason: format!("{secs} is not between 0 and 3600 seconds"),
            });
            DEFAULT_SHUTDOWN_TIMEOUT
        }
    };
    let enrich_cfg = match enrich {
        Some((file, e)) => build_enrich(&file, e, errors),
        None => crate::enrich::EnrichConfig::default(),
    };
    let local_domains = enrich_cfg.local_domains.clone();
    let prometheus_listen = telemetry.and_then(|(file, t)| {
        let addr = t.prometheus_listen?;
        match addr.parse() {
            Ok(a) => Some(a),
            Err(e) => {
                errors.push(ConfigError {
                    file,
                    key: "telemetry.prometheus_listen".into(),
                    reason: format!("`{addr}` is not a socket address: {e}"),
                });
                None
            }
        }
    });

    let mut built_sources = Vec::new();
    for (id, (file, raw)) in &sources {
        let RawSource::File(f) = raw;
        let key = |k: &str| format!("sources.{id}.{k}");
        let mut err = |k: &str, reason: String| {
            errors.push(ConfigError {
                file: file.clone(),
                key: key(k),
                reason,
            })
        };
        let parser = match Source::from_name(&f.parser) {
            Some(p) => p,
            None => {
                let known: Vec<&str> = Source::ALL.iter().map(|s| s.name()).collect();
                err(
                    "parser",
                    format!("unknown parser `{}`; known: {}", f.parser, known.join(", ")),
                );
                continue;
            }
        };
        if f.include.is_empty() {
            err("include", "needs at least one glob pattern".into());
        }
        let mut patterns = |k: &str, list: &[String]| -> Vec<glob::Pattern> {
            list.iter()
                .filter_map(|p| match glob::Pattern::new(p) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        err(k, format!("bad glob `{p}`: {e}"));
                        None
                    }
                })
                .collect()
        };
        let include = patterns("include", &f.include);
        let exclude = patterns("exclude", &f.exclude);
        let utc_offset_secs = match f.utc_offset.as_deref().map(parse_offset) {
            None => 0,
            Some(Ok(s)) => s,
            Some(Err(())) => {
                err("utc_offset", "expected `+HH:MM` or `-HH:MM`".into());
                0
            }
        };
        let max_line_bytes = f.max_line_bytes.unwrap_or(64 * 1024);
        if max_line_bytes < 256 {
            err("max_line_bytes", "must be at least 256".into());
        }
        let scan = f.scan_interval_secs.unwrap_or(1.0);
        if !(scan.is_finite() && scan > 0.0) {
            err("scan_interval_secs", "must be a positive number".into());
        }
        built_sources.push(SourceConfig {
            id: id.clone(),
            include,
            exclude,
            read_from: f.read_from,
            parser,
            max_line_bytes,
            raw_data: f.raw_data.unwrap_or(false),
            year: f.year,
            utc_offset_secs,
            scan_interval: Duration::from_secs_f64(if scan > 0.0 && scan.is_finite() {
                scan
            } else {
                1.0
            }),
            poll_interval: Duration::from_millis(f.poll_interval_ms.unwrap_or(100).max(1)),
            max_open_messages: f.max_open_messages.unwrap_or(50_000).max(1),
            message_ttl: Duration::from_secs(f.message_ttl_secs.unwrap_or(600)),
            idle_flush: Duration::from_secs(f.idle_flush_secs.unwrap_or(30)),
            dead_letter: f.dead_letter.clone(),
        });
    }

    let mut built_sinks = Vec::new();
    for (id, (file, raw)) in sinks {
        let raw_buffer = match &raw {
            RawSink::File(f) => f.buffer.clone(),
            RawSink::Stdout(s) => s.buffer.clone(),
            RawSink::SplunkHec(c) => c.buffer.clone(),
            RawSink::Elasticsearch(c) => c.buffer.clone(),
            RawSink::Sentinel(c) => c.buffer.clone(),
            RawSink::Http(c) => c.buffer.clone(),
        };
        let buffer = match raw_buffer.map(|b| b.check()).transpose() {
            Ok(b) => b.unwrap_or_default(),
            Err((key, reason)) => {
                errors.push(ConfigError {
                    file: file.clone(),
                    key: format!("sinks.{id}.buffer.{key}"),
                    reason,
                });
                BufferConfig::default()
            }
        };
        let (inputs, kind) = match raw {
            RawSink::File(f) => (
                f.inputs,
                SinkKind::File {
                    path: f.path,
                    max_bytes: f.max_bytes.unwrap_or(0),
                    max_files: f.max_files.unwrap_or(5).max(1),
                    fsync: f.fsync.unwrap_or(true),
                },
            ),
            RawSink::Stdout(s) => (s.inputs, SinkKind::Stdout),
            RawSink::SplunkHec(c) => remote(
                &file,
                &id,
                c.inputs.clone(),
                c.check(&id, &data_dir),
                errors,
            ),
            RawSink::Elasticsearch(c) => remote(
                &file,
                &id,
                c.inputs.clone(),
                c.check(&id, &data_dir),
                errors,
            ),
            RawSink::Sentinel(c) => remote(
                &file,
                &id,
                c.inputs.clone(),
                c.check(&id, &data_dir),
                errors,
            ),
            RawSink::Http(c) => remote(
                &file,
                &id,
                c.inputs.clone(),
                c.check(&id, &data_dir),
                errors,
            ),
        };
        if inputs.is_empty() {
            errors.push(ConfigError {
                file: file.clone(),
                key: format!("sinks.{id}.inputs"),
                reason: "needs at least one source id".into(),
            });
        }
        for input in &inputs {
            if !sources.contains_key(input) {
                errors.push(ConfigError {
                    file: file.clone(),
                    key: format!("sinks.{id}.inputs"),
                    reason: format!("no source with id `{input}`"),
                });
            }
        }
        built_sinks.push(SinkConfig {
            id,
            inputs,
            kind,
            buffer,
        });
    }
    dead_letter::check(&sources, &built_sources, &built_sinks, errors);
    for s in &built_sources {
        if !built_sinks.iter().any(|k| k.inputs.contains(&s.id)) {
            let file = sources
                .get(&s.id)
                .map(|(f, _)| f.clone())
                .unwrap_or_default();
            errors.push(ConfigError {
                file,
                key: format!("sources.{}", s.id),
                reason: "no sink takes this source as input (its events would go nowhere)".into(),
            });
        }
    }
    if built_sources.is_empty() && errors.is_empty() {
        errors.push(ConfigError {
            file: PathBuf::new(),
            key: "sources".into(),
            reason: "no sources configured".into(),
        });
    }

    Config {
        data_dir,
        shutdown_timeout,
        local_domains,
        enrich: enrich_cfg,
        prometheus_listen,
        sources: built_sources,
        sinks: built_sinks,
    }
}

/// The checked `[enrich]` section.
fn build_enrich(
    file: &Path,
    e: raw::RawEnrich,
    errors: &mut Vec<ConfigError>,
) -> crate::enrich::EnrichConfig {
    use crate::enrich::correlate::Thresholds;
    let mut err = |k: &str, reason: String| {
        errors.push(ConfigError {
            file: file.to_path_buf(),
            key: format!("enrich.{k}"),
            reason,
        })
    };
    let mut c = crate::enrich::EnrichConfig {
        local_domains: e
            .local_domains
            .iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect(),
        ..Default::default()
    };
    c.enabled = e.enabled.unwrap_or(true);
    if let Some(t) = e.tenant {
        if t.trim().is_empty() {
            err("tenant", "must not be empty".into());
        }
        c.tenant = t;
    }
    c.domain_aliases = e
        .domain_aliases
        .into_iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
        .collect();
    for (k, v) in &c.domain_aliases {
        if k.is_empty() || v.is_empty() {
            err(
                "domain_aliases",
                format!("`{k}` = `{v}`: both sides must be set"),
            );
        }
    }
    c.protected_domains = e.protected_domains.unwrap_or_default();
    if let Some(p) = &e.identity_map {
        if let Err(why) = std::fs::metadata(p) {
            err(
                "identity_map",
                format!("cannot read {}: {why}", p.display()),
            );
        }
    }
    c.identity_map = e.identity_map;
    let mut secs = |k: &str, v: Option<f64>, default: Duration| match v {
        None => default,
        Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
        Some(_) => {
            err(k, "must be a positive number".into());
            default
        }
    };
    c.reload_interval = secs(
        "identity_map_reload_secs",
        e.identity_map_reload_secs,
        c.reload_interval,
    );
    c.snapshot_interval = secs(
        "snapshot_interval_secs",
        e.snapshot_interval_secs,
        c.snapshot_interval,
    );
    if let Some(r) = e.correlation {
        let cc = &mut c.correlation;
        let ms = |v: Option<u64>, d: i64| v.map_or(d, |s| (s as i64).saturating_mul(1000));
        cc.phish_window_ms = ms(r.phish_window_secs, cc.phish_window_ms);
        cc.failure_window_ms = ms(r.failure_window_secs, cc.failure_window_ms);
        cc.mfa_window_ms = ms(r.mfa_window_secs, cc.mfa_window_ms);
        cc.spray_window_ms = ms(r.spray_window_secs, cc.spray_window_ms);
        cc.forwarding_window_ms = ms(r.forwarding_window_secs, cc.forwarding_window_ms);
        cc.lateness_ms = ms(r.lateness_secs, cc.lateness_ms);
        cc.spray_min_entities = r.spray_min_entities.unwrap_or(cc.spray_min_entities).max(2);
        cc.travel_max_kmh = r.travel_max_kmh.unwrap_or(cc.travel_max_kmh);
        cc.travel_min_km = r.travel_min_km.unwrap_or(cc.travel_min_km);
        if !(cc.travel_max_kmh.is_finite() && cc.travel_max_kmh > 0.0) {
            err(
                "correlation.travel_max_kmh",
                "must be a positive number".into(),
            );
        }
        cc.max_entities = r.max_entities.unwrap_or(cc.max_entities).max(2);
        cc.max_source_ips = r.max_source_ips.unwrap_or(cc.max_source_ips).max(2);
        let profiles = [
            r.standard,
            r.privileged,
            r.executive,
            r.service,
            r.shared_mailbox,
        ];
        for (slot, raw) in cc.thresholds.iter_mut().zip(profiles) {
            if let Some(t) = raw {
                *slot = Thresholds {
                    failed_signins: t.failed_signins.unwrap_or(slot.failed_signins).max(1),
                    brute_force_failures: t
                        .brute_force_failures
                        .unwrap_or(slot.brute_force_failures)
                        .max(1),
                    mfa_push_denials: t.mfa_push_denials.unwrap_or(slot.mfa_push_denials).max(1),
                };
            }
        }
    }
    c
}

/// An HTTP sink's checked settings, its problems reported under
/// `sinks.<id>.<key>`.
fn remote(
    file: &Path,
    id: &str,
    inputs: Vec<String>,
    (sink, problems): (
        crate::sinks::RemoteSink,
        crate::sinks::util::config::Problems,
    ),
    errors: &mut Vec<ConfigError>,
) -> (Vec<String>, SinkKind) {
    for (key, reason) in problems.0 {
        errors.push(ConfigError {
            file: file.to_path_buf(),
            key: format!("sinks.{id}.{key}"),
            reason,
        });
    }
    (inputs, SinkKind::Remote(Box::new(sink)))
}

fn dedupe<T>(
    map: &mut BTreeMap<String, (PathBuf, T)>,
    file: &Path,
    table: &str,
    id: String,
    value: T,
    errors: &mut Vec<ConfigError>,
) {
    if let Some((first, _)) = map.get(&id) {
        errors.push(ConfigError {
            file: file.to_path_buf(),
            key: format!("{table}.{id}"),
            reason: format!("duplicate id, already defined in {}", first.display()),
        });
    } else {
        map.insert(id, (file.to_path_buf(), value));
    }
}

fn parse_offset(s: &str) -> Result<i32, ()> {
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(()),
    };
    let (h, m) = rest.split_once(':').ok_or(())?;
    let h: i32 = h.parse().map_err(|_| ())?;
    let m: i32 = m.parse().map_err(|_| ())?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(());
    }
    Ok(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests;
