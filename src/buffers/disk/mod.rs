//! The disk buffer: a sink's queue kept in segment files, so a long outage
//! of the far end fills the disk instead of memory, and what the sources
//! handed over survives a crash.
//!
//! # Layout
//!
//! `<data_dir>/buffers/<sink id>/` holds numbered segment files
//! (`00000000000000000007.seg`) and `acked`, the position of the first
//! record the sink has not yet acknowledged (`<segment> <offset>`). Each
//! record is one source batch ([`record`] has the byte layout: marker,
//! length, CRC-32C, payload).
//!
//! # Flow
//!
//! - The **writer** thread takes batches from the sources' channel, appends
//!   one record per batch to the head segment and, once the channel is
//!   momentarily empty (or 256 batches are waiting), flushes, fsyncs (unless
//!   `fsync = false`) and only then drops the batches: that acknowledges them
//!   to their sources, whose checkpoints may then pass them. A batch in the
//!   buffer is the buffer's responsibility.
//! - The **reader** thread reads records in order, from the acknowledged
//!   position onwards, and hands them to the sink as batches registered in
//!   the buffer's own [`Ledger`] (one "file" per segment). When the sink
//!   acknowledges, the ledger's hook rewrites `acked` and deletes the
//!   segments before it, which frees space for the writer.
//! - A new segment starts when the head one reaches `segment_bytes`, when the
//!   writer must wait for space (so the full segment can be freed), and at
//!   every start: a segment is never appended to after a restart, so a torn
//!   tail from a crash stays a tail.
//!
//! # Limits
//!
//! `max_bytes` bounds the segment files together. A record that does not
//! fit waits (`when_full = "block"`: the writer stops taking batches, the
//! channel fills and the sources stop reading, and the metric
//! `idlink_buffer_blocked` says so) or is dropped and counted
//! (`"drop_newest"`, `idlink_buffer_dropped_events_total`). A single batch
//! larger than `max_bytes` is still written when the buffer is empty, so it
//! cannot wedge the pipeline. In memory the buffer holds at most one read
//! window and the batches in the sink's channel.
//!
//! # fsync policy
//!
//! With `fsync = true` (the default) a batch is acknowledged to its source
//! only after `fdatasync` of the segment: nothing acknowledged is lost to a
//! power failure. With `fsync = false` it is acknowledged once written to the
//! page cache: safe against the process crashing or being killed, not
//! against the machine losing power. `acked` is written by rename without
//! fsync either way: after a power loss it may be older than it should,
//! which re-sends records (duplicates), never skips them.
//!
//! # Recovery
//!
//! On start the writer opens a fresh segment and the reader resumes at
//! `acked`. Damage is found by the reader: a record whose marker, length or
//! checksum is wrong is skipped up to the next marker, and an incomplete
//! record at the end of a sealed segment (a torn tail) is skipped to the
//! segment's end. Both are counted (`idlink_buffer_corrupt_records_total`,
//! `idlink_buffer_corrupt_bytes_total`) and logged with the file, offset and
//! reason, and reading goes on: damage never stops the buffer or makes it
//! crash-loop. A missing or unreadable `acked` means starting at the
//! oldest segment (duplicates, not loss).

pub mod record;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use super::WhenFull;
use crate::acks::{Ledger, SafePoint};
use crate::event::Batch;
use crate::telemetry;

/// Bytes the reader reads at a time.
const READ_WINDOW: usize = 1024 * 1024;
/// Batches written before an fsync even if more are waiting.
const GROUP_COMMIT: usize = 256;
/// How often waiting threads look at the stop flag.
const TICK: Duration = Duration::from_millis(50);

/// Settings of one disk buffer.
#[derive(Debug, Clone)]
pub struct DiskConfig {
    /// Directory of the segment files.
    pub dir: PathBuf,
    /// Bound of all segment files together.
    pub max_bytes: u64,
    /// Size at which a new segment starts.
    pub segment_bytes: u64,
    /// What a full buffer does.
    pub when_full: WhenFull,
    /// fsync before acknowledging to the sources.
    pub fsync: bool,
}

/// Counts a running buffer keeps (also exported as metrics).
#[derive(Debug, Default)]
pub struct Stats {
    /// Records written.
    pub written_records: AtomicU64,
    /// Events dropped because the buffer was full (`drop_newest`).
    pub dropped_events: AtomicU64,
    /// Damaged records (or torn tails) skipped.
    pub corrupt_records: AtomicU64,
    /// Bytes skipped with them.
    pub corrupt_bytes: AtomicU64,
    /// Records handed to the sink.
    pub read_records: AtomicU64,
}

/// A running disk buffer.
pub struct DiskBuffer {
    writer: JoinHandle<()>,
    reader: JoinHandle<()>,
    stats: Arc<Stats>,
}

impl DiskBuffer {
    /// Its counts.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Wait for both threads (the writer ends when its input closes, the
    /// reader when everything written was handed over, or at stop).
    pub fn join(self, sink: &str) {
        for (what, t) in [("writer", self.writer), ("reader", self.reader)] {
            if t.join().is_err() {
                tracing::error!(sink, thread = what, "disk buffer thread panicked");
            }
        }
    }
}

struct State {
    /// The segment being written and its committed length: the reader reads
    /// it up to there.
    head_seg: u64,
    head_len: u64,
    /// Sizes of the segment files on disk, by id.
    sizes: BTreeMap<u64, u64>,
    /// The writer has ended: nothing more comes.
    writer_done: bool,
}

impl State {
    fn total(&self) -> u64 {
        self.sizes.values().sum()
    }
}

struct Shared {
    sink: Arc<str>,
    dir: PathBuf,
    max_bytes: u64,
    state: Mutex<State>,
    changed: Condvar,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait_timeout(g, TICK)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0)
    }

    fn publish_size(&self, st: &State) {
        telemetry::buffer_bytes(&self.sink, st.total());
    }
}

fn seg_path(dir: &Path, seg: u64) -> PathBuf {
    dir.join(format!("{seg:020}.seg"))
}

fn ack_path(dir: &Path) -> PathBuf {
    dir.join("acked")
}

/// Start the buffer of `sink`: batches from `input` are stored, then sent
/// to `output`.
pub fn start(
    sink: &str,
    cfg: DiskConfig,
    stop: Arc<AtomicBool>,
    input: mpsc::Receiver<Batch>,
    output: mpsc::Sender<Batch>,
) -> io::Result<DiskBuffer> {
    fs::create_dir_all(&cfg.dir).map_err(|e| with_path(e, &cfg.dir))?;
    let mut sizes = BTreeMap::new();
    for entry in fs::read_dir(&cfg.dir).map_err(|e| with_path(e, &cfg.dir))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name
            .strip_suffix(".seg")
            .and_then(|n| n.parse::<u64>().ok())
        {
            sizes.insert(id, entry.metadata()?.len());
        } else if name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
    let (mut ack_seg, mut ack_off) = read_acked(&cfg.dir, sink);
    // Segments wholly before the acknowledged position were delivered.
    let old: Vec<u64> = sizes.range(..ack_seg).map(|(k, _)| *k).collect();
    for seg in old {
        let _ = fs::remove_file(seg_path(&cfg.dir, seg));
        sizes.remove(&seg);
    }
    match sizes.get(&ack_seg) {
        Some(&len) if ack_off > len => {
            tracing::warn!(
                sink,
                segment = ack_seg,
                offset = ack_off,
                len,
                "acknowledged position past the end of its segment; re-reading the segment"
            );
            ack_off = 0;
        }
        Some(_) => {}
        None => {
            // Its segment is gone (fully delivered): the next one, from 0.
            ack_seg = sizes.keys().next().copied().unwrap_or(ack_seg);
            ack_off = 0;
        }
    }
    let head_seg = sizes.keys().next_back().map_or(ack_seg, |&s| s + 1);
    let head = open_segment(&cfg.dir, head_seg)?;
    sizes.insert(head_seg, 0);
    let stats = Arc::new(Stats::default());
    let shared = Arc::new(Shared {
        sink: Arc::from(sink),
        dir: cfg.dir.clone(),
        max_bytes: cfg.max_bytes,
        state: Mutex::new(State {
            head_seg,
            head_len: 0,
            sizes,
            writer_done: false,
        }),
        changed: Condvar::new(),
        stats: stats.clone(),
        stop,
    });
    shared.publish_size(&shared.lock());
    let ledger = Ledger::with_hook(
        [(ack_seg, (ack_off, 0))],
        Box::new({
            let shared = shared.clone();
            move |_, acked| on_acked(&shared, acked)
        }),
    );
    let writer = {
        let shared = shared.clone();
        let w = Writer {
            shared,
            file: head,
            seg: head_seg,
            len: 0,
            segment_bytes: cfg.segment_bytes.max(record::HEADER as u64 + 1),
            when_full: cfg.when_full,
            fsync: cfg.fsync,
            pending: Vec::new(),
            buf: Vec::new(),
            full: false,
        };
        std::thread::Builder::new()
            .name(format!("buffer-w-{sink}"))
            .spawn(move || w.run(input))?
    };
    let reader = {
        let r = Reader {
            shared,
            ledger,
            output,
            seg: ack_seg,
            off: ack_off,
            file: None,
            window: Bytes::new(),
            window_off: 0,
            sources: HashMap::new(),
        };
        std::thread::Builder::new()
            .name(format!("buffer-r-{sink}"))
            .spawn(move || r.run())?
    };
    Ok(DiskBuffer {
        writer,
        reader,
        stats,
    })
}

fn with_path(e: io::Error, p: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

fn open_segment(dir: &Path, seg: u64) -> io::Result<File> {
    let p = seg_path(dir, seg);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(|e| with_path(e, &p))
}

fn read_acked(dir: &Path, sink: &str) -> (u64, u64) {
    let p = ack_path(dir);
    let text = match fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (0, 0),
        Err(e) => {
            tracing::warn!(sink, file = %p.display(), error = %e,
                "cannot read the buffer position; starting at the oldest segment");
            return (0, 0);
        }
    };
    let mut it = text.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next()) {
        (Some(Ok(s)), Some(Ok(o))) => (s, o),
        _ => {
            tracing::warn!(sink, file = %p.display(),
                "unreadable buffer position; starting at the oldest segment");
            (0, 0)
        }
    }
}

/// The ledger's hook: the sink acknowledged up to the highest position in
/// `acked`. Record it and free the segments before it.
fn on_acked(shared: &Shared, acked: &HashMap<u64, (u64, u8)>) {
    let Some((&seg, &(off, _))) = acked.iter().max_by_key(|(s, _)| **s) else {
        return;
    };
    let p = ack_path(&shared.dir);
    let tmp = p.with_extension("tmp");
    let r = fs::write(&tmp, format!("{seg} {off}\n")).and_then(|()| fs::rename(&tmp, &p));
    if let Err(e) = r {
        tracing::warn!(sink = %shared.sink, file = %p.display(), error = %e,
            "cannot record the buffer position; records may be sent twice after a restart");
    }
    let mut st = shared.lock();
    let done: Vec<u64> = st.sizes.range(..seg).map(|(k, _)| *k).collect();
    if done.is_empty() {
        return;
    }
    for s in done {
        let sp = seg_path(&shared.dir, s);
        match fs::remove_file(&sp) {
            Ok(()) => {
                st.sizes.remove(&s);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                st.sizes.remove(&s);
            }
            Err(e) => tracing::warn!(sink = %shared.sink, file = %sp.display(), error = %e,
                "cannot delete a delivered buffer segment"),
        }
    }
    shared.publish_size(&st);
    drop(st);
    shared.changed.notify_all();
}

struct Writer {
    shared: Arc<Shared>,
    file: File,
    seg: u64,
    /// Bytes written to `file`, committed or not.
    len: u64,
    segment_bytes: u64,
    when_full: WhenFull,
    fsync: bool,
    /// Written, not yet committed: acknowledged to the sources on commit.
    pending: Vec<Batch>,
    buf: Vec<u8>,
    /// Inside a full episode (logged once per episode).
    full: bool,
}

impl Writer {
    fn run(mut self, mut input: mpsc::Receiver<Batch>) {
        loop {
            let next = if self.pending.is_empty() {
                input.blocking_recv()
            } else {
                match input.try_recv() {
                    Ok(b) => Some(b),
                    Err(TryRecvError::Empty) => {
                        self.commit();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => None,
                }
            };
            let Some(batch) = next else { break };
            self.store(batch);
            if self.pending.len() >= GROUP_COMMIT {
                self.commit();
            }
        }
        self.commit();
        let mut st = self.shared.lock();
        st.writer_done = true;
        drop(st);
        self.shared.changed.notify_all();
    }

    fn store(&mut self, batch: Batch) {
        self.buf.clear();
        let n = record::encode(&batch.source, &batch.events, &mut self.buf) as u64;
        loop {
            let total = {
                // The head segment counts with what is written but not yet
                // committed.
                let st = self.shared.lock();
                st.total() - st.sizes.get(&self.seg).copied().unwrap_or(0) + self.len
            };
            if total == 0 || total + n <= self.shared.max_bytes {
                break;
            }
            // Make what is written readable (and so freeable) first.
            if !self.pending.is_empty() {
                self.commit();
                continue;
            }
            if !self.full {
                self.full = true;
                telemetry::buffer_full(&self.shared.sink, self.when_full, total);
            }
            match self.when_full {
                WhenFull::DropNewest => {
                    let events = batch.events.len() as u64;
                    self.shared
                        .stats
                        .dropped_events
                        .fetch_add(events, Ordering::Relaxed);
                    telemetry::buffer_dropped(&self.shared.sink, events);
                    return; // dropping acknowledges: the user chose to lose it
                }
                WhenFull::Block => {
                    if self.len > 0 {
                        // The head segment can only be freed once sealed.
                        self.roll();
                    }
                    if self.shared.stop.load(Ordering::Acquire) {
                        // Stopping with no room: the source reads it again
                        // next run.
                        batch.ack.fail();
                        return;
                    }
                    let st = self.shared.lock();
                    drop(self.shared.wait(st));
                }
            }
        }
        if self.full {
            self.full = false;
            telemetry::buffer_resumed(&self.shared.sink, self.when_full);
        }
        if self.len > 0 && self.len + n > self.segment_bytes {
            self.roll();
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            let p = seg_path(&self.shared.dir, self.seg);
            telemetry::buffer_error(&self.shared.sink, &p, "write", &e);
            // Not stored: the source must not checkpoint past it. A new
            // segment is tried for the next batch.
            batch.ack.fail();
            self.roll();
            return;
        }
        self.len += n;
        self.shared
            .stats
            .written_records
            .fetch_add(1, Ordering::Relaxed);
        telemetry::buffer_written(&self.shared.sink, batch.events.len() as u64);
        self.pending.push(batch);
    }

    /// Make the written records durable (per the fsync policy) and readable,
    /// then acknowledge them to their sources.
    fn commit(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if self.fsync {
            if let Err(e) = self.file.sync_data() {
                let p = seg_path(&self.shared.dir, self.seg);
                telemetry::buffer_error(&self.shared.sink, &p, "fsync", &e);
                for b in &self.pending {
                    b.ack.fail();
                }
            }
        }
        let mut st = self.shared.lock();
        st.head_len = self.len;
        st.sizes.insert(self.seg, self.len);
        self.shared.publish_size(&st);
        drop(st);
        self.shared.changed.notify_all();
        self.pending.clear();
    }

    /// Seal the head segment and start the next.
    fn roll(&mut self) {
        self.commit();
        let next = self.seg + 1;
        match open_segment(&self.shared.dir, next) {
            Ok(f) => {
                self.file = f;
                self.seg = next;
                self.len = 0;
                let mut st = self.shared.lock();
                st.head_seg = next;
                st.head_len = 0;
                st.sizes.insert(next, 0);
                drop(st);
                self.shared.changed.notify_all();
            }
            Err(e) => {
                let p = seg_path(&self.shared.dir, next);
                telemetry::buffer_error(&self.shared.sink, &p, "open", &e);
            }
        }
    }
}

struct Reader {
    shared: Arc<Shared>,
    ledger: Ledger,
    output: mpsc::Sender<Batch>,
    seg: u64,
    off: u64,
    file: Option<File>,
    /// Bytes of `seg` from `window_off`.
    window: Bytes,
    window_off: u64,
    sources: HashMap<String, Arc<str>>,
}

enum Step {
    /// A batch to hand over, ending at the new offset.
    Batch(Batch),
    /// Nothing to read yet.
    Wait,
    /// Moved on (past damage or to the next segment).
    Moved,
    /// Everything written was read and nothing more will come.
    Done,
}

impl Reader {
    fn run(mut self) {
        loop {
            if self.shared.stop.load(Ordering::Acquire) {
                break;
            }
            match self.step() {
                Step::Batch(b) => {
                    if !self.hand_over(b) {
                        break;
                    }
                }
                Step::Wait => {
                    let st = self.shared.lock();
                    if st.head_seg == self.seg && st.head_len <= self.off && !st.writer_done {
                        drop(self.shared.wait(st));
                    } else {
                        // Waiting for something other than the writer (a
                        // segment that could not be opened yet): do not spin.
                        drop(st);
                        std::thread::sleep(TICK);
                    }
                }
                Step::Moved => {}
                Step::Done => break,
            }
        }
    }

    /// Send `b` to the sink, waiting while its channel is full. False if
    /// the sink is gone or the agent is stopping (the batch is then marked
    /// undelivered, so the buffer position stays before it).
    fn hand_over(&mut self, mut b: Batch) -> bool {
        loop {
            match self.output.try_send(b) {
                Ok(()) => return true,
                Err(mpsc::error::TrySendError::Full(back)) => {
                    if self.shared.stop.load(Ordering::Acquire) {
                        back.ack.fail();
                        return false;
                    }
                    b = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(mpsc::error::TrySendError::Closed(back)) => {
                    back.ack.fail();
                    return false;
                }
            }
        }
    }

    fn step(&mut self) -> Step {
        let (mut limit, is_head, done) = {
            let st = self.shared.lock();
            if self.seg == st.head_seg {
                (st.head_len, true, st.writer_done)
            } else {
                (st.sizes.get(&self.seg).copied().unwrap_or(0), false, false)
            }
        };
        if self.off >= limit {
            if is_head {
                return if done { Step::Done } else { Step::Wait };
            }
            return self.next_segment();
        }
        let mut need = record::HEADER;
        let mut last_have = 0;
        loop {
            if let Err(e) = self.fill(need, limit) {
                let p = seg_path(&self.shared.dir, self.seg);
                telemetry::buffer_error(&self.shared.sink, &p, "read", &e);
                // An unreadable segment: count it as damage and go on.
                let skipped = limit - self.off;
                self.damaged(skipped, "unreadable segment");
                return self.next_segment();
            }
            let at = (self.off - self.window_off) as usize;
            let view = self.window.slice(at..);
            match record::scan(&view) {
                record::Scan::Record { size, payload } => {
                    let end = self.off + size as u64;
                    let intern = &mut |s: &str| -> Arc<str> {
                        if let Some(a) = self.sources.get(s) {
                            return a.clone();
                        }
                        let a: Arc<str> = Arc::from(s);
                        self.sources.insert(s.to_string(), a.clone());
                        a
                    };
                    // Copied out so a batch in flight keeps only its own
                    // bytes alive, not the read window.
                    let payload = Bytes::copy_from_slice(&payload);
                    let Some(d) = record::decode(&payload, intern) else {
                        self.damaged(size as u64, "record contents do not add up");
                        self.off = end;
                        return Step::Moved;
                    };
                    self.off = end;
                    self.shared
                        .stats
                        .read_records
                        .fetch_add(1, Ordering::Relaxed);
                    let ack = self.ledger.register(vec![SafePoint {
                        file: self.seg,
                        offset: end,
                        state: 0,
                    }]);
                    return Step::Batch(Batch {
                        source: d.source,
                        events: d.events,
                        ack,
                    });
                }
                record::Scan::Incomplete => {
                    let have = self.window_off + self.window.len() as u64;
                    if have < limit && have > last_have {
                        last_have = have;
                        // More is on disk: read the whole record.
                        need = if view.len() >= record::HEADER {
                            record::HEADER
                                + u32::from_le_bytes([view[4], view[5], view[6], view[7]]) as usize
                        } else {
                            record::HEADER
                        };
                        need = need.max(view.len() + 1);
                        continue;
                    }
                    if is_head && have >= limit {
                        return Step::Wait;
                    }
                    // A sealed segment ends in the middle of a record (or
                    // the file is shorter than recorded).
                    limit = limit.max(have);
                    let skipped = limit - self.off;
                    self.damaged(skipped, "torn record at the end of the segment");
                    return self.next_segment();
                }
                record::Scan::Damaged { skip, why } => {
                    self.damaged(skip as u64, why);
                    self.off += skip as u64;
                    return Step::Moved;
                }
            }
        }
    }

    /// Make the window cover at least `need` bytes from `off` (fewer if the
    /// segment's readable part ends sooner).
    fn fill(&mut self, need: usize, limit: u64) -> io::Result<()> {
        let start = self.off;
        let have_end = self.window_off + self.window.len() as u64;
        let want_end = (start + need.max(READ_WINDOW) as u64).min(limit);
        if start >= self.window_off && have_end >= (start + need as u64).min(limit) {
            return Ok(());
        }
        if self.file.is_none() {
            let p = seg_path(&self.shared.dir, self.seg);
            self.file = Some(File::open(&p).map_err(|e| with_path(e, &p))?);
        }
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        f.seek(SeekFrom::Start(start))?;
        let mut buf = vec![0u8; (want_end - start) as usize];
        let mut got = 0;
        while got < buf.len() {
            match f.read(&mut buf[got..])? {
                0 => break,
                n => got += n,
            }
        }
        buf.truncate(got);
        self.window = Bytes::from(buf);
        self.window_off = start;
        Ok(())
    }

    fn damaged(&self, bytes: u64, why: &'static str) {
        let s = &self.shared.stats;
        s.corrupt_records.fetch_add(1, Ordering::Relaxed);
        s.corrupt_bytes.fetch_add(bytes, Ordering::Relaxed);
        let p = seg_path(&self.shared.dir, self.seg);
        telemetry::buffer_corrupt(&self.shared.sink, &p, self.off, bytes, why);
    }

    /// Go to the next segment on disk.
    fn next_segment(&mut self) -> Step {
        let next = {
            let st = self.shared.lock();
            st.sizes.range(self.seg + 1..).next().map(|(k, _)| *k)
        };
        let Some(next) = next else {
            return Step::Wait;
        };
        self.seg = next;
        self.off = 0;
        self.file = None;
        self.window = Bytes::new();
        self.window_off = 0;
        // Settles at once, in order: once everything before it is
        // acknowledged, the previous segments can go.
        drop(self.ledger.register(vec![SafePoint {
            file: next,
            offset: 0,
            state: 0,
        }]));
        let (_, acked) = self.ledger.snapshot();
        if let Some(&top) = acked.keys().max() {
            for old in acked.keys().filter(|k| **k < top) {
                self.ledger.forget(*old);
            }
        }
        Step::Moved
    }
}
