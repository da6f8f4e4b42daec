//! The dead-letter file: events the far end rejected for good, one NDJSON
//! line each, with the sink, the HTTP status, a short kind and the reason:
//!
//! ```json
//! {"time":"2026-01-02T03:04:05.678Z","sink":"splunk","status":400,"kind":"hec_invalid_data","reason":"HEC code 6: Invalid data format","event":{...}}
//! ```
//!
//! A write is flushed and fsynced before it returns; only then do the events
//! count as handled (their batches may be acknowledged). Writes are rare
//! (permanent rejections only) and small, so they are done in place on the
//! sink's task.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::event::Encoded;
use crate::telemetry;

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

/// An open dead-letter file.
#[derive(Debug)]
pub struct DeadLetter {
    sink: String,
    path: PathBuf,
    file: Mutex<Option<File>>,
}

#[derive(Serialize)]
struct Head<'a> {
    time: String,
    sink: &'a str,
    status: Option<u16>,
    kind: &'a str,
    reason: &'a str,
}

impl DeadLetter {
    /// A dead-letter file for `sink` at `path` (opened on first use).
    pub fn new(sink: &str, path: &Path) -> Self {
        DeadLetter {
            sink: sink.to_string(),
            path: path.to_path_buf(),
            file: Mutex::new(None),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append `events` with their rejection, flush and fsync.
    pub fn write<'a>(
        &self,
        events: impl IntoIterator<Item = (&'a Encoded, &'a Rejection)>,
    ) -> io::Result<usize> {
        let now = chrono::DateTime::from_timestamp_millis(now_ms())
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        let mut buf = Vec::new();
        let mut n = 0;
        for (ev, rej) in events {
            let head = Head {
                time: now.clone(),
                sink: &self.sink,
                status: rej.status,
                kind: rej.kind,
                reason: &rej.reason,
            };
            let mut line = serde_json::to_vec(&head)?;
            line.pop(); // the closing brace; the event follows
            line.extend_from_slice(b",\"event\":");
            if serde_json::from_slice::<serde::de::IgnoredAny>(&ev.json).is_ok() {
                line.extend_from_slice(&ev.json);
            } else {
                // Not JSON (cannot come from the parse stage): keep it as text.
                serde_json::to_writer(&mut line, &String::from_utf8_lossy(&ev.json))?;
            }
            line.extend_from_slice(b"}\n");
            buf.extend_from_slice(&line);
            telemetry::sink_dead_lettered(&self.sink, rej.kind, 1);
            n += 1;
        }
        if n == 0 {
            return Ok(0);
        }
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            *guard = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let r = guard.as_mut().map(|f| {
            f.write_all(&buf)?;
            f.sync_data()
        });
        match r {
            Some(Ok(())) => Ok(n),
            Some(Err(e)) => {
                // Reopen next time (the file may have been moved away).
                *guard = None;
                Err(e)
            }
            None => Err(io::Error::other("dead-letter file not open")),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
