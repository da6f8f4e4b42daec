//! The thread that runs one file source: tail → parse → hand batches to the
//! sinks → checkpoint what they acknowledged.
//!
//! Reading, parsing and serialising are synchronous per line, so they run on
//! a plain thread; handing a batch to a full sink channel blocks it, which is
//! the backpressure: a slow sink slows reading, never grows memory.
//!
//! Checkpoint rule: a batch carries the file positions that become safe when
//! it is delivered. For a stateful parser that still holds lines (Postfix
//! assembly), the safe position of a file is the start of its oldest chunk
//! that may contain a held line, so a restart re-reads those lines instead
//! of losing them.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use idlink_parsers::sources::Framing;
use idlink_parsers::Options;
use tokio::sync::mpsc::error::TrySendError;

use super::checkpoint::{Entry, Loaded, Store};
use super::tailer::{Chunk, Tailer};
use crate::acks::{FileKey, Ledger, SafePoint};
use crate::buffers::SinkInput;
use crate::config::SourceConfig;
use crate::event::{Batch, Encoded};
use crate::telemetry;
use crate::transforms::parse::{ParseStage, ParseStats};

/// What a source needs from the rest of the agent.
pub struct SourceContext {
    /// Checkpoint directory.
    pub data_dir: PathBuf,
    /// Organisation mail domains.
    pub local_domains: Vec<String>,
    /// Enrichment shared by every source of the process (`None`: events
    /// leave as mapped).
    pub enrich: Option<Arc<crate::enrich::Shared>>,
    /// One input per sink this source feeds.
    pub outputs: Vec<SinkInput>,
    /// Set to stop reading.
    pub shutdown: Arc<AtomicBool>,
    /// Read every file to its end, then stop.
    pub once: bool,
    /// How long to wait for sinks to acknowledge after reading stopped
    /// (`None`: as long as it takes).
    pub drain_deadline: Option<Duration>,
}

/// A running file source.
pub struct SourceHandle {
    /// The source id.
    pub id: String,
    thread: JoinHandle<std::io::Result<ParseStats>>,
}

impl SourceHandle {
    /// Wait for the source to finish (after shutdown or, with `once`, at the
    /// end of its files). Returns its parse counts.
    pub fn join(self) -> std::io::Result<ParseStats> {
        match self.thread.join() {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::other(format!(
                "source `{}` panicked",
                self.id
            ))),
        }
    }
}

/// Start source `cfg` on its own thread.
pub fn run_file_source(cfg: SourceConfig, ctx: SourceContext) -> std::io::Result<SourceHandle> {
    let store = Store::new(&ctx.data_dir, &cfg.id);
    let loaded = store.load()?;
    let id = cfg.id.clone();
    let thread = std::thread::Builder::new()
        .name(format!("source-{id}"))
        .spawn(move || Runner::new(cfg, ctx, store, loaded).run())?;
    Ok(SourceHandle { id, thread })
}

/// A source waiting this long for a full sink buffer says so in the log.
const BLOCKED_WARN: Duration = Duration::from_secs(5);

/// Encoded bytes a batch gathers before it is sent while the files have
/// more to read. A batch per chunk read (256 KiB) woke the sink's thread,
/// and later the acknowledgement hook, for every few hundred events; a
/// wake-up is a system call, and on a virtual machine an interrupt
/// between processors. What is gathered goes out as soon as a read finds
/// nothing new, so a quiet file waits no longer than before, and at the
/// latest [`EMIT_WAIT`] after its first chunk.
const EMIT_BYTES: usize = 512 << 10;

/// Longest a processed chunk's events wait for the batch to fill (a file
/// that grows a little between every two reads never reads nothing new).
const EMIT_WAIT: Duration = Duration::from_millis(100);

/// Lines of one chunk, by parser position, for the held-line bookkeeping.
struct Span {
    end_pos: u64,
    key: FileKey,
    start: u64,
    state: u8,
}

struct Runner {
    cfg: SourceConfig,
    ctx: SourceContext,
    store: Store,
    tailer: Tailer,
    ledger: Ledger,
    stage: ParseStage,
    source: Arc<str>,
    spans: VecDeque<Span>,
    latest_end: HashMap<FileKey, (u64, u8)>,
    last_safe: HashMap<FileKey, (u64, u8)>,
    unparsed_seen: u64,
    /// The tailer's entries as last seen, for the fast checkpoint written by
    /// the ledger hook on a sink's thread.
    files: Arc<Mutex<HashMap<FileKey, Entry>>>,
    /// Sequence numbers of this run's saves are `seq_base + generation`.
    seq_base: u64,
    saved_generation: u64,
    last_save: Instant,
    /// Time spent waiting for each sink's full buffer.
    blocked_for: HashMap<Arc<str>, Duration>,
    /// Events of the chunks processed since the last batch was sent.
    pending: Vec<Encoded>,
    pending_bytes: usize,
    /// Since when chunks have been processed but not sent. Their safe
    /// points go with the next batch, even if they had no events.
    unsent: Option<Instant>,
}

/// The checkpoint entries for delivered positions `acked` of `files`.
fn entries_for(
    files: &HashMap<FileKey, Entry>,
    acked: &HashMap<FileKey, (u64, u8)>,
) -> HashMap<FileKey, Entry> {
    files
        .iter()
        .filter_map(|(k, e)| {
            acked.get(k).map(|&(offset, state)| {
                (
                    *k,
                    Entry {
                        offset,
                        state,
                        ..e.clone()
                    },
                )
            })
        })
        .collect()
}

impl Runner {
    fn new(cfg: SourceConfig, ctx: SourceContext, store: Store, loaded: Loaded) -> Self {
        let entries = loaded.entries;
        // Generations start at 0 each run; saves continue the loaded sequence.
        let seq_base = loaded.seq + 1;
        let files = Arc::new(Mutex::new(entries.clone()));
        let hook = {
            let files = files.clone();
            let store = store.clone();
            let id = cfg.id.clone();
            Box::new(
                move |generation: u64, acked: &HashMap<FileKey, (u64, u8)>| {
                    let files = files.lock().unwrap_or_else(PoisonError::into_inner);
                    let entries = entries_for(&files, acked);
                    drop(files);
                    if let Err(e) = store.save_fast(seq_base + generation, &entries) {
                        tracing::warn!(source = %id, error = %e,
                        "cannot write the fast checkpoint; the durable one follows within a second");
                    }
                },
            )
        };
        let ledger = Ledger::with_hook(
            entries
                .values()
                .map(|e| (e.fingerprint, (e.offset, e.state))),
            hook,
        );
        let opts = Options {
            reference_time_ms: now_ms(),
            year: cfg.year,
            utc_offset_secs: cfg.utc_offset_secs,
            local_domains: ctx.local_domains.clone(),
            raw_data: cfg.raw_data,
            max_open: cfg.max_open_messages,
            open_ttl_ms: cfg.message_ttl.as_millis() as i64,
        };
        let mut stage = ParseStage::new(cfg.parser, &opts);
        if let Some(sh) = &ctx.enrich {
            stage = stage.with_enricher(sh.enricher());
        }
        let source: Arc<str> = Arc::from(cfg.id.as_str());
        let tailer = Tailer::new(cfg.clone(), entries);
        Runner {
            cfg,
            ctx,
            store,
            tailer,
            ledger,
            stage,
            source,
            spans: VecDeque::new(),
            latest_end: HashMap::new(),
            last_safe: HashMap::new(),
            unparsed_seen: 0,
            files,
            seq_base,
            saved_generation: 0,
            last_save: Instant::now(),
            blocked_for: HashMap::new(),
            pending: Vec::new(),
            pending_bytes: 0,
            unsent: None,
        }
    }

    fn run(mut self) -> std::io::Result<ParseStats> {
        let id = self.cfg.id.clone();
        let mut last_scan: Option<Instant> = None;
        let mut last_data = Instant::now();
        loop {
            if self.ctx.shutdown.load(Ordering::Acquire) {
                break;
            }
            if last_scan.is_none_or(|t| t.elapsed() >= self.cfg.scan_interval) {
                self.tailer.scan(&mut |ev| telemetry::file_event(&id, &ev));
                last_scan = Some(Instant::now());
            }
            let mut chunks = Vec::new();
            let mut file_events = Vec::new();
            let n = self
                .tailer
                .read_some(&mut |c| chunks.push(c), &mut |e| file_events.push(e));
            for ev in &file_events {
                telemetry::file_event(&id, ev);
            }
            for chunk in chunks {
                self.process(chunk);
            }
            if self
                .unsent
                .is_some_and(|t| n == 0 || t.elapsed() >= EMIT_WAIT)
            {
                self.send_pending();
            }
            if n > 0 {
                last_data = Instant::now();
            } else {
                if self.ctx.once && self.tailer.all_at_eof() {
                    break;
                }
                if self.stage.oldest_held().is_some() && last_data.elapsed() >= self.cfg.idle_flush
                {
                    self.flush_held();
                }
                std::thread::sleep(self.cfg.poll_interval);
            }
            self.upkeep();
        }
        // Drain: what the parser holds goes out, then wait for the sinks.
        self.flush_held();
        if self.tailer.partial_bytes() > 0 && self.cfg.parser.framing() == Framing::Lines {
            tracing::info!(source = %id, bytes = self.tailer.partial_bytes(),
                "stopping with a partial last line (no newline yet); it is read on the next run");
        }
        self.ctx.outputs.clear();
        let started = Instant::now();
        while self.ledger.in_flight() > 0 {
            if self
                .ctx
                .drain_deadline
                .is_some_and(|d| started.elapsed() >= d)
            {
                tracing::warn!(source = %id, batches = self.ledger.in_flight(),
                    "sinks did not acknowledge everything before the deadline; \
                     the checkpoint stays before it and it is read again next run");
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.save();
        Ok(self.stage.stats())
    }

    fn process(&mut self, chunk: Chunk) {
        use super::framer::Frame;
        use crate::sinks::util::dead_letter::{framing_reason, DeadLetter, Failure, Origin};
        let mut events = Vec::with_capacity(chunk.frames.len());
        let mut bytes = 0u64;
        let first_pos = self.stage.next_pos();
        // Records to write to the source's dead-letter file, if it has one.
        let mut dead: Vec<Failure<'_>> = Vec::new();
        let keep = self.cfg.dead_letter.is_some();
        let source = self.source.clone();
        let at = |f: &Frame| Origin {
            source: &source,
            parser: self.cfg.parser.name(),
            file: &chunk.path,
            fingerprint: chunk.key,
            offset: f.start,
            length: f.end - f.start,
        };
        for f in &chunk.frames {
            bytes += f.end - f.start;
            if let Some(reason) = f.error {
                self.unparsed_seen += 1;
                let seen = self.unparsed_seen;
                telemetry::unparsed(&self.cfg.id, &chunk.path, f.start, reason, seen);
                self.stage.framing_error(
                    &chunk.path,
                    f.start,
                    f.end - f.start,
                    reason,
                    &mut events,
                );
                if keep {
                    dead.push(Failure::Framing {
                        at: at(f),
                        kind: reason,
                        reason: framing_reason(reason, f.end - f.start, self.cfg.max_line_bytes),
                    });
                }
                continue;
            }
            let outcome = self.stage.decode(&f.data, &mut events);
            if let idlink_parsers::Outcome::Unparsed(err) = outcome {
                self.unparsed_seen += 1;
                telemetry::unparsed(
                    &self.cfg.id,
                    &chunk.path,
                    f.start,
                    err.kind.as_str(),
                    self.unparsed_seen,
                );
            }
            // A cut line is kept whole for replay (read back from the
            // file); otherwise an unrecognised record is kept as it is.
            if keep && f.cut > 0 {
                dead.push(Failure::Framing {
                    at: at(f),
                    kind: "oversize",
                    reason: format!(
                        "line of {} bytes is longer than max_line_bytes ({}); its head was parsed, {} bytes were skipped",
                        f.data.len() as u64 + f.cut,
                        self.cfg.max_line_bytes,
                        f.cut
                    ),
                });
            } else if let (true, idlink_parsers::Outcome::Unparsed(err)) = (keep, outcome) {
                dead.push(Failure::Parse {
                    at: at(f),
                    record: &f.data,
                    kind: err.kind.as_str(),
                    reason: format!("not recognised by parser {}: {err}", self.cfg.parser),
                });
            }
        }
        if let (Some(path), false) = (&self.cfg.dead_letter, dead.is_empty()) {
            // Written (fsynced) before the batch exists, so before any
            // checkpoint can pass these records. If it fails, a failed
            // entry ahead of the batch pins the checkpoint before them:
            // the next run reads them again.
            if let Err(e) = DeadLetter::new(&self.cfg.id, path).append(&dead) {
                telemetry::source_dead_letter_error(&self.cfg.id, path, dead.len(), &e);
                self.ledger.register(Vec::new()).fail();
            }
        }
        drop(dead);
        telemetry::read(&self.cfg.id, chunk.frames.len() as u64, bytes);
        let start = chunk.frames.first().map_or(chunk.end, |f| f.start);
        let start_state = self.latest_end.get(&chunk.key).map_or(0, |&(_, st)| st);
        if self.stage.next_pos() > first_pos {
            self.spans.push_back(Span {
                end_pos: self.stage.next_pos(),
                key: chunk.key,
                start,
                state: start_state,
            });
        }
        self.latest_end.insert(chunk.key, (chunk.end, chunk.state));
        self.pending_bytes += events.iter().map(|e| e.json.len()).sum::<usize>();
        self.pending.append(&mut events);
        self.unsent.get_or_insert_with(Instant::now);
        if self.pending_bytes >= EMIT_BYTES {
            self.send_pending();
        }
    }

    fn flush_held(&mut self) {
        self.stage.flush(&mut self.pending);
        self.send_pending();
    }

    /// Send what the chunks processed so far produced, as one batch.
    fn send_pending(&mut self) {
        let events = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        self.unsent = None;
        self.emit(events);
    }

    /// Register the positions made safe by this batch and send it.
    fn emit(&mut self, events: Vec<Encoded>) {
        let held = self.stage.oldest_held().unwrap_or(u64::MAX);
        while self.spans.front().is_some_and(|s| s.end_pos <= held) {
            self.spans.pop_front();
        }
        let mut points = Vec::new();
        for (&key, &end) in &self.latest_end {
            let safe = self
                .spans
                .iter()
                .find(|s| s.key == key)
                .map_or(end, |s| (s.start, s.state));
            if self.last_safe.get(&key) != Some(&safe) {
                self.last_safe.insert(key, safe);
                points.push(SafePoint {
                    file: key,
                    offset: safe.0,
                    state: safe.1,
                });
            }
        }
        // Files no longer tracked by the tailer need no bookkeeping.
        let entries = self.tailer.entries();
        self.latest_end.retain(|k, _| entries.contains_key(k));
        self.last_safe.retain(|k, _| entries.contains_key(k));
        {
            let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
            if *files != *entries {
                files.clone_from(entries);
            }
        }

        telemetry::produced(&self.cfg.id, events.len() as u64);
        let ack = self.ledger.register(points);
        if events.is_empty() {
            return;
        }
        let batch = Batch {
            source: self.source.clone(),
            events,
            ack,
        };
        let outputs = self.ctx.outputs.clone();
        for out in &outputs {
            let mut item = batch.clone();
            let mut blocked: Option<Instant> = None;
            let mut warned = false;
            // A full channel is the backpressure: wait (or drop, if the
            // sink's buffer says so), but keep writing checkpoints for what
            // the sinks do acknowledge meanwhile.
            loop {
                match out.tx.try_send(item) {
                    Ok(()) => break,
                    Err(TrySendError::Full(b)) if out.drop_when_full => {
                        // Dropping acknowledges: the configuration chose to
                        // lose events rather than stop reading.
                        telemetry::buffer_dropped(&out.sink, b.events.len() as u64);
                        break;
                    }
                    Err(TrySendError::Full(b)) => {
                        item = b;
                        match blocked {
                            None => {
                                blocked = Some(Instant::now());
                                telemetry::source_blocked(&self.cfg.id, &out.sink);
                            }
                            Some(since) if !warned && since.elapsed() >= BLOCKED_WARN => {
                                warned = true;
                                telemetry::source_still_blocked(&self.cfg.id, &out.sink);
                            }
                            Some(_) => {}
                        }
                        self.upkeep();
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(TrySendError::Closed(b)) => {
                        // The sink stopped: this batch is not delivered there.
                        b.ack.fail();
                        break;
                    }
                }
            }
            if let Some(since) = blocked {
                let waited = since.elapsed();
                let total = self.blocked_for.entry(out.sink.clone()).or_default();
                *total += waited;
                telemetry::source_resumed(&self.cfg.id, &out.sink, waited, *total, warned);
            }
        }
    }

    /// Periodic work that must go on even while a sink holds the source
    /// back: the durable checkpoint, once a second (the fast one follows
    /// every acknowledgement, see [`super::checkpoint`]).
    fn upkeep(&mut self) {
        if self.last_save.elapsed() >= Duration::from_secs(1) {
            self.save();
            self.last_save = Instant::now();
            telemetry::open_files(&self.cfg.id, self.tailer.open_files());
        }
    }

    fn save(&mut self) {
        let (generation, acked) = self.ledger.snapshot();
        if generation == self.saved_generation {
            return;
        }
        let entries = entries_for(self.tailer.entries(), &acked);
        match self.store.save(self.seq_base + generation, &entries) {
            Ok(()) => self.saved_generation = generation,
            Err(e) => tracing::error!(source = %self.cfg.id, file = %self.store.path().display(),
                error = %e, "cannot write checkpoint"),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
