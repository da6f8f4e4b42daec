//! `idlink replay --from-dead-letter FILE`: send dead letters again once
//! their cause is fixed (the far end's mapping, a credential, the parser
//! or a source setting).
//!
//! FILE is read line by line, so it may be of any size; it is never
//! modified. Each line is a dead-letter record
//! ([`crate::sinks::util::dead_letter`]):
//!
//! - `sink` (and unversioned) lines: the event goes to the sink named in
//!   the line, or to `--sink`.
//! - `parse` and `framing` lines: the record is parsed again with the named
//!   source's current settings ([`reparse`]) and its events go to that
//!   source's sinks, or to `--sink`.
//!
//! Events travel through the agent's own sinks ([`outlets`]), so they are
//! batched, retried and dead-lettered exactly as in `idlink run`. What
//! fails again is written to the sink's or source's dead-letter file as
//! usual; so FILE must not be one of them (the replay would append to the
//! file it is reading): [`replay`] refuses that.
//!
//! Lines that cannot be replayed (malformed, a version this build does not
//! know, an unknown sink or source, a file that no longer holds the
//! record) are skipped, each reported with its line number and why.

mod outlets;
mod reparse;
mod summary;

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;

pub use outlets::SinkCount;
pub use reparse::SourceCount;
pub use summary::{Skip, Summary};

use crate::config::{Config, SinkKind};
use crate::event::Encoded;
use crate::sinks::util::dead_letter::{self, Entry, SinkEntry};

/// Longest line read; a longer one is skipped (no dead-letter line is
/// near this: events are bounded by the sinks' request sizes).
const MAX_LINE: usize = 64 << 20;

/// Skips kept in the [`Summary`] (every one is reported as it happens).
const KEPT_SKIPS: usize = 1000;

/// What to replay, and how.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The dead-letter file to read.
    pub file: PathBuf,
    /// Send everything to this sink instead of the one each line names.
    pub sink: Option<String>,
    /// Read, check and parse again, but send and write nothing.
    pub dry_run: bool,
}

/// Replay `opts.file` through the sinks of `config`. `stop` ends reading
/// (and, after the drain deadline, the sinks' retries); `report` hears of
/// each skipped line as it happens. `Err`: nothing could be replayed
/// (FILE unreadable, or refused).
pub fn replay(
    config: &Config,
    opts: &ReplayOptions,
    stop: Arc<AtomicBool>,
    report: &mut dyn FnMut(&Skip),
) -> anyhow::Result<Summary> {
    if let Some(s) = &opts.sink {
        if !config.sinks.iter().any(|k| &k.id == s) {
            anyhow::bail!("--sink {s}: no such sink; configured: {}", sink_ids(config));
        }
    }
    let file =
        File::open(&opts.file).with_context(|| format!("cannot open {}", opts.file.display()))?;
    if !opts.dry_run {
        refuse_if_written(config, opts, &file)?;
    }
    let runtime = if opts.dry_run {
        None
    } else {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(crate::topology::SINK_WORKER_THREADS)
                .thread_name("idlink-replay")
                .enable_all()
                .build()
                .context("cannot start the sinks' async runtime")?,
        )
    };
    let mut outlets = outlets::Outlets::new(
        config,
        runtime.as_ref().map(|r| r.handle().clone()),
        stop.clone(),
    );
    let mut reparse = reparse::Reparse::new(config, opts.dry_run)?;
    let mut summary = Summary {
        file: opts.file.clone(),
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let mut skip = |summary: &mut Summary, line: Option<u64>, why: String| {
        let s = Skip { line, why };
        report(&s);
        summary.skipped += 1;
        if summary.skips.len() < KEPT_SKIPS {
            summary.skips.push(s);
        }
    };
    let mut lines = Lines::new(file, MAX_LINE);
    let mut events = Vec::new();
    loop {
        if stop.load(Ordering::Acquire) {
            summary.stopped = Some("stop requested".into());
            break;
        }
        // What was read so far is still sent and counted.
        let line = match lines.read_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                summary.stopped = Some(format!("cannot read {}: {e}", opts.file.display()));
                break;
            }
        };
        summary.lines += 1;
        let n = Some(summary.lines);
        let bytes = match line {
            Line::Whole(b) => b,
            Line::TooLong(len) => {
                skip(
                    &mut summary,
                    n,
                    format!("line of {len} bytes is too long to be a dead-letter record"),
                );
                continue;
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match dead_letter::parse_line(bytes) {
            Err(why) => skip(&mut summary, n, format!("malformed: {why}")),
            Ok(Entry::Sink(e)) => {
                let target = opts.sink.as_deref().unwrap_or(&e.sink);
                let Some(sink) = config.sinks.iter().find(|k| k.id == target) else {
                    skip(
                        &mut summary,
                        n,
                        format!("unknown sink `{target}`; configured: {}", sink_ids(config)),
                    );
                    continue;
                };
                // Unversioned lines do not name their source; a sink with a
                // single input can only have had it from that one.
                let source: Arc<str> = match (&e.source, sink.inputs.as_slice()) {
                    (Some(s), _) => Arc::from(s.as_str()),
                    (None, [only]) => Arc::from(only.as_str()),
                    (None, _) => Arc::from("unknown"),
                };
                if let Err(why) = outlets.send(target, &source, encoded(&e)) {
                    skip(&mut summary, n, why);
                }
            }
            Ok(Entry::Source(e)) => match reparse.record(&e, &mut events) {
                Err(why) => skip(&mut summary, n, why),
                Ok(source) => {
                    if let Err(why) = route(config, opts, &mut outlets, &source, &mut events) {
                        skip(&mut summary, n, why);
                    }
                }
            },
        }
    }
    let reparse::Finished { tails, counts } = reparse.finish();
    for (source, mut evs) in tails {
        if let Err(why) = route(config, opts, &mut outlets, &source, &mut evs) {
            // Held records (Postfix assembly) came from several lines.
            skip(&mut summary, None, why);
        }
    }
    summary.sources = counts.into_iter().collect();
    summary.sinks = outlets.finish();
    if let Some(rt) = runtime {
        rt.shutdown_timeout(std::time::Duration::from_secs(1));
    }
    Ok(summary)
}

/// Send a source's events to its sinks (or `--sink`).
fn route(
    config: &Config,
    opts: &ReplayOptions,
    outlets: &mut outlets::Outlets<'_>,
    source: &Arc<str>,
    events: &mut Vec<Encoded>,
) -> Result<(), String> {
    let mut result = Ok(());
    let targets: Vec<&str> = match &opts.sink {
        Some(s) => vec![s.as_str()],
        None => config
            .sinks
            .iter()
            .filter(|k| k.inputs.iter().any(|i| **i == **source))
            .map(|k| k.id.as_str())
            .collect(),
    };
    for ev in events.drain(..) {
        for t in &targets {
            if let Err(why) = outlets.send(t, source, ev.clone()) {
                result = Err(why);
            }
        }
    }
    result
}

/// A sink line's event, with what the sinks route and name by.
fn encoded(e: &SinkEntry) -> Encoded {
    #[derive(serde::Deserialize)]
    struct Head {
        class_uid: Option<i64>,
        time: Option<i64>,
    }
    let head: Option<Head> = serde_json::from_slice(&e.event).ok();
    Encoded {
        json: e.event.clone(),
        class_uid: head
            .as_ref()
            .and_then(|h| h.class_uid)
            .map_or(0, |c| c.max(0) as u32),
        time_ms: head.and_then(|h| h.time).unwrap_or(0),
    }
}

fn sink_ids(config: &Config) -> String {
    let ids: Vec<&str> = config.sinks.iter().map(|k| k.id.as_str()).collect();
    ids.join(", ")
}

/// Refuse if FILE is a file this replay may write to: the dead-letter file
/// of a sink it may send to or of any source, or a file sink's output.
fn refuse_if_written(config: &Config, opts: &ReplayOptions, file: &File) -> anyhow::Result<()> {
    let me = file.metadata()?;
    let mut written: Vec<(&Path, String)> = Vec::new();
    for k in &config.sinks {
        if opts.sink.as_ref().is_some_and(|s| *s != k.id) {
            continue;
        }
        match &k.kind {
            SinkKind::Remote(r) => written.push((
                &r.common.dead_letter,
                format!("the dead-letter file of sink `{}`", k.id),
            )),
            SinkKind::File { path, .. } => {
                written.push((path, format!("the output file of sink `{}`", k.id)))
            }
            SinkKind::Stdout => {}
        }
    }
    for s in &config.sources {
        if let Some(p) = &s.dead_letter {
            written.push((p, format!("the dead-letter file of source `{}`", s.id)));
        }
    }
    for (path, what) in written {
        let same =
            std::fs::metadata(path).is_ok_and(|m| m.dev() == me.dev() && m.ino() == me.ino());
        if same {
            anyhow::bail!(
                "{} is {what}: what fails again would be appended to the file being read. \
                 Move it away first (mv {0} {0}.replay) and replay the moved file",
                opts.file.display()
            );
        }
    }
    Ok(())
}

enum Line<'a> {
    Whole(&'a [u8]),
    TooLong(u64),
}

/// FILE, line by line, in bounded memory.
struct Lines<R> {
    r: BufReader<R>,
    buf: Vec<u8>,
    max: usize,
}

impl<R: io::Read> Lines<R> {
    fn new(r: R, max: usize) -> Self {
        Lines {
            r: BufReader::with_capacity(256 * 1024, r),
            buf: Vec::new(),
            max,
        }
    }

    /// The next line without its `\n` (and `\r`), `None` at the end.
    fn read_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut len = 0u64;
        let mut any = false;
        loop {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            len += take as u64;
            if len <= self.max as u64 {
                self.buf.extend_from_slice(&avail[..take]);
            } else {
                self.buf.clear();
            }
            self.r.consume(take + usize::from(done));
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if len > self.max as u64 {
            return Ok(Some(Line::TooLong(len)));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line::Whole(&self.buf)))
    }
}

#[cfg(test)]
mod tests;
