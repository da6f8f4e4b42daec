//! The dead-letter line, both ways: [`write_line`] for the writers,
//! [`parse_line`] for replay. The format itself is specified in the parent
//! module's documentation.

use std::borrow::Cow;
use std::path::PathBuf;

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{Failure, Origin, VERSION};

#[derive(Serialize)]
struct Out<'a> {
    v: u32,
    time: &'a str,
    stage: &'static str,
    kind: &'a str,
    reason: &'a str,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sink: Option<&'a str>,
    // `Some(None)` is written as `null`: a sink line always has `status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Option<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parser: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<EventOut<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum EventOut<'a> {
    Json(&'a RawValue),
    // Not JSON (cannot come from the parse stage): kept as text.
    Text(Cow<'a, str>),
}

/// Now, as the `time` field.
pub(super) fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn origin<'a>(out: &mut Out<'a>, at: &Origin<'a>) {
    out.parser = Some(at.parser);
    out.file = Some(at.file.to_string_lossy());
    out.fingerprint = Some(format!("{:016x}", at.fingerprint));
    out.offset = Some(at.offset);
    out.length = Some(at.length);
}

/// Append `f` as one line (with its `\n`) to `buf`.
pub(super) fn write_line(buf: &mut Vec<u8>, f: &Failure<'_>, time: &str) -> serde_json::Result<()> {
    let mut out = Out {
        v: VERSION,
        time,
        stage: "",
        kind: "",
        reason: "",
        source: "",
        sink: None,
        status: None,
        parser: None,
        file: None,
        fingerprint: None,
        offset: None,
        length: None,
        record: None,
        record_base64: None,
        event: None,
    };
    match f {
        Failure::Sink {
            sink,
            source,
            event,
            rejection,
        } => {
            out.stage = "sink";
            out.kind = rejection.kind;
            out.reason = &rejection.reason;
            out.source = source;
            out.sink = Some(sink);
            out.status = Some(rejection.status);
            out.event = Some(match serde_json::from_slice::<&RawValue>(&event.json) {
                Ok(raw) => EventOut::Json(raw),
                Err(_) => EventOut::Text(String::from_utf8_lossy(&event.json)),
            });
        }
        Failure::Parse {
            at,
            record,
            kind,
            reason,
        } => {
            out.stage = "parse";
            out.kind = kind;
            out.reason = reason;
            out.source = at.source;
            origin(&mut out, at);
            match std::str::from_utf8(record) {
                Ok(text) => out.record = Some(text),
                Err(_) => {
                    out.record_base64 =
                        Some(base64::engine::general_purpose::STANDARD.encode(record))
                }
            }
        }
        Failure::Framing { at, kind, reason } => {
            out.stage = "framing";
            out.kind = kind;
            out.reason = reason;
            out.source = at.source;
            origin(&mut out, at);
        }
    }
    serde_json::to_writer(&mut *buf, &out)?;
    buf.push(b'\n');
    Ok(())
}

/// Every field any version has, as read.
#[derive(Deserialize)]
struct In<'a> {
    v: Option<u64>,
    time: Option<String>,
    stage: Option<String>,
    kind: Option<String>,
    reason: Option<String>,
    source: Option<String>,
    sink: Option<String>,
    parser: Option<String>,
    file: Option<String>,
    fingerprint: Option<String>,
    offset: Option<u64>,
    length: Option<u64>,
    record: Option<String>,
    record_base64: Option<String>,
    #[serde(borrow)]
    event: Option<&'a RawValue>,
}

/// A dead-letter line read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A sink rejection (`stage = "sink"`, or an unversioned line).
    Sink(SinkEntry),
    /// A source's parse or framing failure.
    Source(SourceEntry),
}

/// A rejected event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkEntry {
    /// Format version (0: the unversioned format).
    pub version: u32,
    /// When it was written, epoch milliseconds.
    pub time_ms: Option<i64>,
    /// The sink that rejected it.
    pub sink: String,
    /// The source of the event (unversioned lines do not say).
    pub source: Option<String>,
    /// Short label.
    pub kind: String,
    /// What the far end said.
    pub reason: String,
    /// The event's JSON, exactly as written.
    pub event: Bytes,
}

/// What a source entry carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceStage {
    /// The record itself.
    Parse(Vec<u8>),
    /// No bytes: they are in `file` at `offset`.
    Framing,
}

/// A record a source could not parse or frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// When it was written, epoch milliseconds.
    pub time_ms: Option<i64>,
    /// Parse (with the record) or framing.
    pub stage: SourceStage,
    /// Source id.
    pub source: String,
    /// Parser in use then.
    pub parser: String,
    /// The file.
    pub file: PathBuf,
    /// Its identity.
    pub fingerprint: u64,
    /// Offset of the record.
    pub offset: u64,
    /// Bytes it spans.
    pub length: u64,
    /// Short label.
    pub kind: String,
    /// For a person.
    pub reason: String,
}

fn need<T>(v: Option<T>, field: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("missing field `{field}`"))
}

/// Read one line (without its `\n`). `Err` says why it cannot be replayed.
pub fn parse_line(line: &[u8]) -> Result<Entry, String> {
    let r: In<'_> =
        serde_json::from_slice(line).map_err(|e| format!("not a dead-letter line: {e}"))?;
    let time_ms = r
        .time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis());
    let version = match r.v {
        Some(v) if v == u64::from(VERSION) => VERSION,
        Some(v) => {
            return Err(format!(
                "format version {v}; this idlink reads version {VERSION} and unversioned lines"
            ))
        }
        // Written before the format had a version: sink rejections only.
        None if r.sink.is_some() && r.event.is_some() => 0,
        None => return Err("no `v` field, and not an unversioned sink rejection".into()),
    };
    let stage = if version == 0 {
        "sink"
    } else {
        r.stage.as_deref().ok_or("missing field `stage`")?
    };
    let kind = r.kind.unwrap_or_default();
    let reason = r.reason.unwrap_or_default();
    match stage {
        "sink" => {
            let event = need(r.event, "event")?;
            if !event.get().starts_with('{') {
                return Err("`event` is not a JSON object: there is no event to resend".into());
            }
            Ok(Entry::Sink(SinkEntry {
                version,
                time_ms,
                sink: need(r.sink, "sink")?,
                source: r.source,
                kind,
                reason,
                event: Bytes::copy_from_slice(event.get().as_bytes()),
            }))
        }
        "parse" | "framing" => {
            let fp = need(r.fingerprint, "fingerprint")?;
            let fingerprint = u64::from_str_radix(&fp, 16)
                .map_err(|_| format!("`fingerprint` {fp:?} is not 16 hex digits"))?;
            let stage = if stage == "framing" {
                SourceStage::Framing
            } else if let Some(text) = r.record {
                SourceStage::Parse(text.into_bytes())
            } else if let Some(b64) = r.record_base64 {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| format!("`record_base64` is not base64: {e}"))?;
                SourceStage::Parse(raw)
            } else {
                return Err("missing field `record` (or `record_base64`)".into());
            };
            Ok(Entry::Source(SourceEntry {
                time_ms,
                stage,
                source: need(r.source, "source")?,
                parser: need(r.parser, "parser")?,
                file: PathBuf::from(need(r.file, "file")?),
                fingerprint,
                offset: need(r.offset, "offset")?,
                length: need(r.length, "length")?,
                kind,
                reason,
            }))
        }
        other => Err(format!("unknown stage `{other}`")),
    }
}
