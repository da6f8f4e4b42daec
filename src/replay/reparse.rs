//! Parse and framing dead letters, parsed again with the named source's
//! current settings (parser, `year`, `utc_offset`, `raw_data`,
//! `max_line_bytes`, `[enrich]`).
//!
//! A `parse` line carries its record. A `framing` line does not: its bytes
//! are read back from the file it names, and only if that file still has
//! the fingerprint (first line) it had, so a rotated or replaced file is
//! never read at the wrong place. The bytes then go through the same framer
//! as in `idlink run`, so a line still over `max_line_bytes` is still cut.
//!
//! A record that fails again is handled as `idlink run` handles it: with a
//! source `dead_letter` file, it is written there again (and its OCSF Base
//! Event, delivered the first time, is not sent twice); without one, its
//! Base Event is sent to the sinks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use idlink_parsers::{Options, Outcome};

use crate::config::{Config, SourceConfig};
use crate::event::Encoded;
use crate::sinks::util::dead_letter::{
    framing_reason, DeadLetter, Failure, Origin, SourceEntry, SourceStage,
};
use crate::sources::file::fingerprint;
use crate::sources::file::framer::{Frame, Framer};
use crate::transforms::parse::ParseStage;

/// Failures written to a source's dead-letter file per write (each write is
/// fsynced).
const WRITE_EVERY: usize = 1000;

/// What became of one source's records.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SourceCount {
    /// Records (a `framing` line read back may hold several) parsed again.
    pub records: u64,
    /// Recognised this time.
    pub parsed: u64,
    /// OCSF events they became (sent to the source's sinks).
    pub events: u64,
    /// Not recognised, or not a whole record, again.
    pub failed_again: u64,
    /// Where those were written (`None`: the source has no `dead_letter`;
    /// they were sent as Base Events, as `idlink run` does).
    pub dead_letter: Option<PathBuf>,
    /// Failed-again records that could not be written there, and why.
    pub unwritten: Option<(u64, String)>,
}

/// A failure waiting to be written.
struct Again {
    file: PathBuf,
    fingerprint: u64,
    offset: u64,
    length: u64,
    /// `None`: a framing failure.
    record: Option<Vec<u8>>,
    kind: &'static str,
    reason: String,
}

struct Source<'c> {
    cfg: &'c SourceConfig,
    id: Arc<str>,
    stage: ParseStage,
    dead: Option<DeadLetter>,
    /// Decide as for real, write nothing.
    dry_run: bool,
    again: Vec<Again>,
    counts: SourceCount,
}

/// What [`Reparse::finish`] leaves.
pub(super) struct Finished {
    /// Each source's last events (messages its parser held).
    pub tails: Vec<(Arc<str>, Vec<Encoded>)>,
    /// Counts per source id.
    pub counts: HashMap<String, SourceCount>,
}

/// The parse stages of one replay, one per source met.
pub(super) struct Reparse<'c> {
    config: &'c Config,
    enrich: Arc<crate::enrich::Shared>,
    sources: HashMap<String, Source<'c>>,
    dry_run: bool,
}

impl<'c> Reparse<'c> {
    /// Stages for the sources of `config`; a dry run writes nothing.
    pub(super) fn new(config: &'c Config, dry_run: bool) -> anyhow::Result<Self> {
        // The same enrichment as `run`, with correlation state in memory
        // only (the agent's state file is left alone), as `idlink parse`.
        let enrich = crate::enrich::Shared::new(config.enrich.clone(), None)
            .map_err(|e| anyhow::anyhow!("enrich: {e}"))?;
        Ok(Reparse {
            config,
            enrich,
            sources: HashMap::new(),
            dry_run,
        })
    }

    /// Parse `e` again; its events are appended to `out`. `Err` says why
    /// it cannot be (unknown source, the file no longer holds it).
    pub(super) fn record(
        &mut self,
        e: &SourceEntry,
        out: &mut Vec<Encoded>,
    ) -> Result<Arc<str>, String> {
        let src = self.source(&e.source, e.time_ms)?;
        let before = out.len();
        match &e.stage {
            SourceStage::Parse(record) => src.decode(record, e.offset, e.length, e, out),
            // Still too long: no need to read it to know.
            SourceStage::Framing if e.length > src.cfg.max_line_bytes as u64 + 2 => {
                src.counts.records += 1;
                let reason = framing_reason("oversize", e.length, src.cfg.max_line_bytes);
                src.fail(e, e.offset, e.length, None, "oversize", reason);
            }
            SourceStage::Framing => {
                let bytes = read_back(e)?;
                for f in frames(src.cfg, e.offset, &bytes) {
                    src.frame(&f, e, out);
                }
            }
        }
        src.counts.events += (out.len() - before) as u64;
        src.write_again(false);
        Ok(src.id.clone())
    }

    fn source(&mut self, id: &str, time_ms: Option<i64>) -> Result<&mut Source<'c>, String> {
        if !self.sources.contains_key(id) {
            let cfg = self
                .config
                .sources
                .iter()
                .find(|s| s.id == id)
                .ok_or_else(|| format!("no source `{id}` in the configuration"))?;
            // Year-less timestamps get their year as when the record was
            // first read: the line's `time` is the reference, not today.
            let opts = Options {
                reference_time_ms: time_ms.unwrap_or_else(now_ms),
                year: cfg.year,
                utc_offset_secs: cfg.utc_offset_secs,
                local_domains: self.config.local_domains.clone(),
                raw_data: cfg.raw_data,
                max_open: cfg.max_open_messages,
                open_ttl_ms: cfg.message_ttl.as_millis() as i64,
            };
            let stage = ParseStage::new(cfg.parser, &opts).with_enricher(self.enrich.enricher());
            let src = Source {
                cfg,
                id: Arc::from(id),
                stage,
                dead: cfg
                    .dead_letter
                    .as_deref()
                    .map(|p| DeadLetter::new(&cfg.id, p)),
                dry_run: self.dry_run,
                again: Vec::new(),
                counts: SourceCount {
                    dead_letter: cfg.dead_letter.clone(),
                    ..Default::default()
                },
            };
            self.sources.insert(id.to_string(), src);
        }
        self.sources
            .get_mut(id)
            .ok_or_else(|| format!("no source `{id}`"))
    }

    /// Emit what the parsers hold (Postfix assembly), write the last
    /// failures, and count.
    pub(super) fn finish(mut self) -> Finished {
        let mut tails = Vec::new();
        let mut counts = HashMap::new();
        for (id, mut src) in self.sources.drain() {
            let mut events = Vec::new();
            src.stage.flush(&mut events);
            src.counts.events += events.len() as u64;
            src.write_again(true);
            tails.push((src.id.clone(), events));
            counts.insert(id, src.counts);
        }
        Finished { tails, counts }
    }
}

impl Source<'_> {
    /// One frame of bytes read back.
    fn frame(&mut self, f: &Frame, e: &SourceEntry, out: &mut Vec<Encoded>) {
        let length = f.end - f.start;
        if let Some(kind) = f.error {
            self.counts.records += 1;
            let reason = framing_reason(kind, length, self.cfg.max_line_bytes);
            if self.dead.is_none() {
                self.stage
                    .framing_error(&e.file, f.start, length, kind, out);
            }
            self.fail(e, f.start, length, None, kind, reason);
        } else if f.cut > 0 {
            self.counts.records += 1;
            let reason = framing_reason("oversize", length, self.cfg.max_line_bytes);
            if self.dead.is_none() {
                self.stage.decode(&f.data, out);
            }
            self.fail(e, f.start, length, None, "oversize", reason);
        } else {
            self.decode(&f.data, f.start, length, e, out);
        }
    }

    fn decode(
        &mut self,
        record: &[u8],
        offset: u64,
        length: u64,
        e: &SourceEntry,
        out: &mut Vec<Encoded>,
    ) {
        self.counts.records += 1;
        let before = out.len();
        match self.stage.decode(record, out) {
            Outcome::Parsed => self.counts.parsed += 1,
            Outcome::Unparsed(err) => {
                // The decoder's last event is its Base Event for the
                // record; it was delivered when the record first failed.
                if self.dead.is_some()
                    && out.len() > before
                    && out.last().is_some_and(|ev| ev.class_uid == 0)
                {
                    out.pop();
                }
                let reason = format!("not recognised by parser {}: {err}", self.cfg.parser);
                self.fail(
                    e,
                    offset,
                    length,
                    Some(record.to_vec()),
                    err.kind.as_str(),
                    reason,
                );
            }
        }
    }

    fn fail(
        &mut self,
        e: &SourceEntry,
        offset: u64,
        length: u64,
        record: Option<Vec<u8>>,
        kind: &'static str,
        reason: String,
    ) {
        self.counts.failed_again += 1;
        if self.dead.is_some() {
            self.again.push(Again {
                file: e.file.clone(),
                fingerprint: e.fingerprint,
                offset,
                length,
                record,
                kind,
                reason,
            });
        }
    }

    /// Write the failures gathered so far (all of them with `all`, else
    /// once there are enough for one write).
    fn write_again(&mut self, all: bool) {
        if self.again.is_empty() || (!all && self.again.len() < WRITE_EVERY) {
            return;
        }
        let Some(dl) = self.dead.as_ref().filter(|_| !self.dry_run) else {
            self.again.clear();
            return;
        };
        let parser = self.cfg.parser.name();
        let failures: Vec<Failure<'_>> = self
            .again
            .iter()
            .map(|a| {
                let at = Origin {
                    source: &self.id,
                    parser,
                    file: &a.file,
                    fingerprint: a.fingerprint,
                    offset: a.offset,
                    length: a.length,
                };
                match &a.record {
                    Some(r) => Failure::Parse {
                        at,
                        record: r,
                        kind: a.kind,
                        reason: a.reason.clone(),
                    },
                    None => Failure::Framing {
                        at,
                        kind: a.kind,
                        reason: a.reason.clone(),
                    },
                }
            })
            .collect();
        if let Err(err) = dl.append(&failures) {
            let n = failures.len() as u64;
            let (before, _) = self.counts.unwritten.take().unwrap_or_default();
            self.counts.unwritten = Some((before + n, err.to_string()));
        }
        drop(failures);
        self.again.clear();
    }
}

/// The bytes of a `framing` line, from the file it names, if that file is
/// still the one it was.
fn read_back(e: &SourceEntry) -> Result<Vec<u8>, String> {
    let path = &e.file;
    let shown = path.display();
    // One descriptor is fingerprinted and read: the path may be given to
    // another file (a rotation) between two opens.
    let mut f = File::open(path).map_err(|err| format!("cannot read {shown}: {err}"))?;
    let (key, gzip) = match fingerprint::of_open(&f) {
        Ok(Some(k)) => k,
        Ok(None) => {
            return Err(format!(
                "{shown} no longer holds this record: its first line is incomplete"
            ))
        }
        Err(err) => return Err(format!("cannot read {shown}: {err}")),
    };
    if key != e.fingerprint {
        return Err(format!(
            "{shown} no longer holds this record: it is another file now (rotated or replaced)"
        ));
    }
    let read = || -> io::Result<Vec<u8>> {
        let mut r: Box<dyn Read> = if gzip {
            let mut gz = flate2::read::MultiGzDecoder::new(f);
            io::copy(&mut (&mut gz).take(e.offset), &mut io::sink())?;
            Box::new(gz)
        } else {
            f.seek(SeekFrom::Start(e.offset))?;
            Box::new(f)
        };
        let mut buf = Vec::with_capacity(e.length as usize);
        r.by_ref().take(e.length).read_to_end(&mut buf)?;
        Ok(buf)
    };
    let buf = read().map_err(|err| format!("cannot read {shown}: {err}"))?;
    if (buf.len() as u64) < e.length {
        return Err(format!(
            "{shown} no longer holds this record: it ends before byte {}",
            e.offset + e.length
        ));
    }
    Ok(buf)
}

/// Cut `bytes` (found at `offset`) the way the source's framer does.
fn frames(cfg: &SourceConfig, offset: u64, bytes: &[u8]) -> Vec<Frame> {
    let mut framer = Framer::new(cfg.parser.framing(), offset, 0, cfg.max_line_bytes);
    let mut rest = bytes;
    loop {
        let n = framer
            .fill(rest.len().max(1), &mut |buf| rest.read(buf))
            .unwrap_or(0);
        if n == 0 {
            break;
        }
    }
    framer.end_of_input();
    std::iter::from_fn(|| framer.next_frame()).collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
