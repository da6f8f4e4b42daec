//! Dead letters: every permanent failure, one NDJSON line each, in one
//! versioned format that `idlink replay --from-dead-letter` reads back.
//!
//! # Format, version 1
//!
//! One JSON object per line (UTF-8, `\n` after each). The file is only ever
//! appended to; each write is flushed and fsynced before the failed item
//! counts as handled (a sink's batch is acknowledged, a source's checkpoint
//! may pass the record). If the write fails, the item is not handled: the
//! sink's batch fails, the source's checkpoint stops before the record, and
//! the next run meets it again. Nothing is lost either way.
//!
//! Every line has:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `v` | `1` | format version. A reader skips versions it does not know. |
//! | `time` | string | when the line was written, RFC 3339, UTC, milliseconds |
//! | `stage` | string | what failed: `"sink"`, `"parse"` or `"framing"` |
//! | `kind` | string | a short fixed label (also the metric's `reason`) |
//! | `reason` | string | what went wrong, for a person |
//! | `source` | string | id of the source the event or record came from |
//!
//! `stage = "sink"`: a far end rejected an event for good (HTTP 400, a
//! Splunk invalid-data code, an Elasticsearch per-item 4xx, an event over
//! the Sentinel limit; see [`crate::sinks::util::classify_status`] and each
//! sink). Written to the sink's `dead_letter.path`.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `sink` | string | id of the sink that rejected it; replay sends it there |
//! | `status` | number or null | the HTTP status, if the rejection had one |
//! | `event` | object | the OCSF event exactly as it was to be sent |
//!
//! `stage = "parse"`: the source's parser did not recognise a record (the
//! record still became an OCSF Base Event with `raw_data`, as without a
//! dead-letter file; this line is for replay). `stage = "framing"`: input
//! that did not become a whole record: a JSON stretch that is too long, not
//! JSON or cut off, or a line over `max_line_bytes` (its head was parsed;
//! the rest is in the file only). Both are written to the source's
//! `dead_letter` file, when it has one, and carry:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `parser` | string | the parser that was in use |
//! | `file` | string | the file, by the path it had when read |
//! | `fingerprint` | string | the file's identity (16 hex digits: CRC-64 of its first line) |
//! | `offset` | number | stream offset of the record's first byte (decompressed, for `.gz`) |
//! | `length` | number | bytes the record spans there (a line of a line-based source: with its newline) |
//! | `record` | string | `parse` only: the record as read, when it is UTF-8 |
//! | `record_base64` | string | `parse` only, instead of `record`: the record, base64, when it is not UTF-8 |
//!
//! A `framing` line holds no bytes: they are larger than any line should be,
//! or were never held. Replay reads them back from `file` at `offset`, if
//! the file at that path still has `fingerprint`.
//!
//! The file and stdout sinks have no permanent failures (a failed write
//! fails the batch and the input is read again), so they write no dead
//! letters.
//!
//! Readers ignore fields they do not know, so a later version 1 writer may
//! add some. Lines written before the format had a version (sink
//! rejections only: `{"time","sink","status","kind","reason","event"}`,
//! no `v`, no `source`) are still read as `stage = "sink"`.

mod format;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, PoisonError};

pub use format::{parse_line, Entry, SinkEntry, SourceEntry, SourceStage};

use crate::event::Encoded;
use crate::telemetry;

/// Version of the format written.
pub const VERSION: u32 = 1;

/// One rejected event.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// HTTP status, if the rejection came with one.
    pub status: Option<u16>,
    /// Short, fixed label (also the metric's `reason`).
    pub kind: &'static str,
    /// What the far end said.
    pub reason: String,
}

/// Where a source's record was: what replay needs to find it again.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Source id.
    pub source: &'a str,
    /// Parser name.
    pub parser: &'a str,
    /// The file, as read.
    pub file: &'a Path,
    /// The file's identity.
    pub fingerprint: u64,
    /// Stream offset of the record's first byte.
    pub offset: u64,
    /// Bytes it spans.
    pub length: u64,
}

/// A permanent failure, as written (one line).
#[derive(Debug, Clone)]
pub enum Failure<'a> {
    /// A far end rejected an event for good.
    Sink {
        /// Sink id.
        sink: &'a str,
        /// Source id of the event.
        source: &'a str,
        /// The event.
        event: &'a Encoded,
        /// Why.
        rejection: &'a Rejection,
    },
    /// The parser did not recognise a record.
    Parse {
        /// Where it was.
        at: Origin<'a>,
        /// The record.
        record: &'a [u8],
        /// Short label (the parser's error kind).
        kind: &'a str,
        /// For a person.
        reason: String,
    },
    /// Input that did not become a whole record.
    Framing {
        /// Where it was.
        at: Origin<'a>,
        /// Short label (`oversize`, `garbage`, `truncated`).
        kind: &'a str,
        /// For a person.
        reason: String,
    },
}

impl Failure<'_> {
    fn kind(&self) -> &str {
        match self {
            Failure::Sink { rejection, .. } => rejection.kind,
            Failure::Parse { kind, .. } | Failure::Framing { kind, .. } => kind,
        }
    }
}

/// The `reason` of a framing failure of `kind` (`oversize`, `garbage`,
/// `truncated`) over `length` bytes, with the source's `max_line_bytes`.
pub fn framing_reason(kind: &str, length: u64, max_line_bytes: usize) -> String {
    match kind {
        "oversize" => {
            format!("record of {length} bytes is longer than max_line_bytes ({max_line_bytes})")
        }
        "garbage" => format!("{length} bytes that are not JSON where a record should start"),
        "truncated" => {
            format!("record of {length} bytes is cut off (its line or the input ended inside it)")
        }
        other => format!("{length} bytes are not a record: {other}"),
    }
}

/// Records appended by this process, per file. `idlink replay` compares
/// them before and after to tell which of the events it resent were
/// rejected again; another process writing the same file (a running agent)
/// does not count here.
static APPENDED: LazyLock<Mutex<HashMap<PathBuf, u64>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Records this process has appended to the dead-letter file `path`.
pub fn appended(path: &Path) -> u64 {
    let map = APPENDED.lock().unwrap_or_else(PoisonError::into_inner);
    map.get(path).copied().unwrap_or(0)
}

/// A dead-letter file, opened on first use.
#[derive(Debug)]
pub struct DeadLetter {
    owner: String,
    path: PathBuf,
    file: Mutex<Option<Open>>,
}

#[derive(Debug)]
struct Open {
    file: File,
    dev: u64,
    ino: u64,
}

impl DeadLetter {
    /// The dead-letter file of sink or source `owner` at `path`.
    pub fn new(owner: &str, path: &Path) -> Self {
        DeadLetter {
            owner: owner.to_string(),
            path: path.to_path_buf(),
            file: Mutex::new(None),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append events this sink's far end rejected (with the source each
    /// came from), flush and fsync.
    pub fn write<'a>(
        &self,
        events: impl IntoIterator<Item = (&'a Encoded, &'a str, &'a Rejection)>,
    ) -> io::Result<usize> {
        let failures: Vec<Failure<'_>> = events
            .into_iter()
            .map(|(event, source, rejection)| Failure::Sink {
                sink: &self.owner,
                source,
                event,
                rejection,
            })
            .collect();
        self.append(&failures)
    }

    /// Append `failures` as one write, flush and fsync. Only after `Ok` do
    /// they count as handled.
    pub fn append(&self, failures: &[Failure<'_>]) -> io::Result<usize> {
        if failures.is_empty() {
            return Ok(0);
        }
        let time = format::now_rfc3339();
        let mut buf = Vec::new();
        for f in failures {
            format::write_line(&mut buf, f, &time)?;
        }
        let mut guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let r = self.write_synced(&mut guard, &buf);
        if r.is_err() {
            // Reopen next time (the disk may be back, the file recreated).
            *guard = None;
        }
        drop(guard);
        r?;
        let mut map = APPENDED.lock().unwrap_or_else(PoisonError::into_inner);
        *map.entry(self.path.clone()).or_insert(0) += failures.len() as u64;
        drop(map);
        for f in failures {
            match f {
                Failure::Sink { sink, .. } => telemetry::sink_dead_lettered(sink, f.kind(), 1),
                Failure::Parse { at, .. } | Failure::Framing { at, .. } => {
                    telemetry::source_dead_lettered(at.source, f.kind(), 1)
                }
            }
        }
        Ok(failures.len())
    }

    fn write_synced(&self, slot: &mut Option<Open>, buf: &[u8]) -> io::Result<()> {
        // The operator moves the file away to replay it: from then on new
        // failures go to a new file at the configured path, not on to the
        // moved one. Writes are rare, so one stat per write is cheap.
        let current = fs::metadata(&self.path).ok().map(|m| (m.dev(), m.ino()));
        if slot
            .as_ref()
            .is_some_and(|o| current != Some((o.dev, o.ino)))
        {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(self.open(current.is_none())?);
        }
        let open = slot
            .as_mut()
            .ok_or_else(|| io::Error::other("dead-letter file not open"))?;
        open.file.write_all(buf)?;
        open.file.sync_data()
    }

    fn open(&self, creating: bool) -> io::Result<Open> {
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        if creating {
            // A new file's name must be as durable as its first line.
            File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
        }
        let m = file.metadata()?;
        Ok(Open {
            file,
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

#[cfg(test)]
mod tests;
