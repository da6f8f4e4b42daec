//! NDJSON file sink with size-based rotation.
//!
//! Batches are written in order and acknowledged only once they are on
//! disk: flushed and (unless `fsync = false`) fdatasync'ed. One fsync
//! covers every batch written since the previous one (group commit): the
//! sink syncs when [`SYNC_BYTES`] are waiting, when the oldest waiting batch
//! has waited [`SYNC_DELAY`], and when its inputs close. A checkpoint
//! therefore never passes an event that a power loss could take back, and
//! a fast source pays one fsync per few megabytes instead of one per read.
//! When the file would grow past `max_bytes` it is renamed to `<path>.1`
//! (older ones shift up to `<path>.<max_files>`, the oldest is removed) and a
//! new file is started. A write or sync error fails the batches not yet
//! synced (their input is read again after a restart) and the sink retries
//! with the next batches after reopening the file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::acks::AckHandle;
use crate::event::Batch;
use crate::telemetry;

/// Bytes written since the last sync that trigger the next one.
pub const SYNC_BYTES: u64 = 8 << 20;

/// The longest a written batch waits for its sync (and acknowledgement).
pub const SYNC_DELAY: Duration = Duration::from_millis(100);

/// Batches taken from the input at once.
const READY_MAX: usize = 64;

/// The file sink.
pub struct FileSink {
    id: String,
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    fsync: bool,
    out: Option<BufWriter<File>>,
    size: u64,
    unsynced: Unsynced,
    syncs: u64,
    /// [`SYNC_DELAY`], but for tests.
    sync_delay: Duration,
}

/// Batches written but not yet on disk: their acknowledgements wait here.
#[derive(Default)]
struct Unsynced {
    acks: Vec<AckHandle>,
    events: u64,
    bytes: u64,
    since: Option<Instant>,
}

/// What waiting for input gave.
enum Input {
    Batches(Vec<Batch>),
    /// The oldest unsynced batch is due.
    Due,
    /// Every input has closed.
    Closed,
}

impl FileSink {
    /// Open (append to) `path`, creating its directory.
    pub fn open(
        id: &str,
        path: &Path,
        max_bytes: u64,
        max_files: u32,
        fsync: bool,
    ) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let mut s = FileSink {
            id: id.to_string(),
            path: path.to_path_buf(),
            max_bytes,
            max_files,
            fsync,
            out: None,
            size: 0,
            unsynced: Unsynced::default(),
            syncs: 0,
            sync_delay: SYNC_DELAY,
        };
        s.reopen()?;
        Ok(s)
    }

    fn reopen(&mut self) -> io::Result<()> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = f.metadata()?.len();
        self.out = Some(BufWriter::with_capacity(256 * 1024, f));
        Ok(())
    }

    /// Write batches until every input has closed; returns the number of
    /// syncs it made.
    pub fn run(mut self, mut rx: mpsc::Receiver<Batch>) -> u64 {
        // A timer for waiting on the input with a deadline; this thread is
        // not on the topology's runtime.
        let timer = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(rt) => Some(rt),
            Err(e) => {
                // Without a timer every batch is synced on its own.
                telemetry::sink_error(&self.id, "timer", &e);
                None
            }
        };
        loop {
            let input = match (self.unsynced.since, &timer) {
                (Some(since), Some(rt)) => {
                    let due = since + self.sync_delay;
                    rt.block_on(async {
                        match tokio::time::timeout_at(due.into(), rx.recv()).await {
                            Ok(Some(b)) => Input::Batches(super::with_ready(&mut rx, b, READY_MAX)),
                            Ok(None) => Input::Closed,
                            Err(_) => Input::Due,
                        }
                    })
                }
                _ => match super::recv_ready(&mut rx, READY_MAX) {
                    b if b.is_empty() => Input::Closed,
                    b => Input::Batches(b),
                },
            };
            match input {
                Input::Closed => {
                    self.sync();
                    return self.syncs;
                }
                Input::Due => self.sync(),
                Input::Batches(batches) => {
                    self.take(batches);
                    let due = self
                        .unsynced
                        .since
                        .is_some_and(|t| t.elapsed() >= self.sync_delay);
                    if timer.is_none() || due {
                        self.sync();
                    }
                }
            }
        }
    }

    /// Write `batches`; their acknowledgements wait for the next sync,
    /// which comes as soon as [`SYNC_BYTES`] are waiting, however the
    /// batches were grouped.
    fn take(&mut self, batches: Vec<Batch>) {
        let mut rest = batches.into_iter();
        while let Some(b) = rest.next() {
            if let Err(e) = self.write(&b) {
                telemetry::sink_error(&self.id, "write", &e);
                b.ack.fail();
                for b in rest {
                    b.ack.fail();
                }
                self.fail_unsynced();
                return;
            }
            let u = &mut self.unsynced;
            u.since.get_or_insert_with(Instant::now);
            u.events += b.events.len() as u64;
            u.bytes += b.byte_len() as u64 + b.events.len() as u64;
            u.acks.push(b.ack);
            if u.bytes >= SYNC_BYTES {
                self.sync();
            }
        }
    }

    /// Flush and fsync what was written, then acknowledge it.
    fn sync(&mut self) {
        if self.unsynced.acks.is_empty() {
            return;
        }
        let r = match self.out.as_mut() {
            Some(out) => out.flush().and_then(|()| {
                if self.fsync {
                    self.syncs += 1;
                    out.get_ref().sync_data()
                } else {
                    Ok(())
                }
            }),
            None => Err(io::Error::other("file not open")),
        };
        match r {
            Ok(()) => {
                self.acknowledge();
            }
            Err(e) => {
                telemetry::sink_error(&self.id, "fsync", &e);
                self.fail_unsynced();
            }
        }
    }

    /// What was unsynced is on disk: count it and settle its batches (one
    /// checkpoint update for the whole group).
    fn acknowledge(&mut self) {
        let u = std::mem::take(&mut self.unsynced);
        telemetry::sink_written(&self.id, u.events, u.bytes - u.events);
        crate::acks::settle_all(u.acks);
    }

    /// Fail everything not yet synced and start over with a reopened file.
    fn fail_unsynced(&mut self) {
        for a in std::mem::take(&mut self.unsynced).acks {
            a.fail();
        }
        self.out = None;
    }

    fn write(&mut self, b: &Batch) -> io::Result<()> {
        let incoming = b.byte_len() as u64 + b.events.len() as u64;
        if self.max_bytes > 0 && self.size > 0 && self.size + incoming > self.max_bytes {
            self.rotate()?;
        }
        if self.out.is_none() {
            self.reopen()?;
        }
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("file not open"))?;
        self.size += super::stdout::write_all(out, std::slice::from_ref(b))?;
        Ok(())
    }

    /// Start a new file; what was written to the old one is synced (and
    /// acknowledged) first.
    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut out) = self.out.take() {
            out.flush()?;
            out.get_ref().sync_all()?;
            self.syncs += 1;
            self.acknowledge();
        }
        let name = |i: u32| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{i}"));
            PathBuf::from(p)
        };
        let _ = fs::remove_file(name(self.max_files));
        for i in (1..self.max_files).rev() {
            let from = name(i);
            if from.exists() {
                fs::rename(&from, name(i + 1))?;
            }
        }
        fs::rename(&self.path, name(1))?;
        self.reopen()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acks::Ledger;
    use crate::event::Encoded;
    use bytes::Bytes;

    /// `n` small events making file 1 safe up to `off`.
    fn batch(ledger: &Ledger, n: usize, off: u64) -> Batch {
        let jsons = (0..n).map(|i| Bytes::from(format!("{{\"n\":{i}}}")));
        batch_of(ledger, jsons.collect(), off)
    }

    fn batch_of(ledger: &Ledger, jsons: Vec<Bytes>, off: u64) -> Batch {
        let events = jsons
            .into_iter()
            .map(|json| Encoded {
                json,
                class_uid: 0,
                time_ms: 0,
            })
            .collect();
        let ack = ledger.register(vec![crate::acks::SafePoint {
            file: 1,
            offset: off,
            state: 0,
        }]);
        Batch {
            source: "s".into(),
            events,
            ack,
        }
    }

    /// A sink at `<dir>/ocsf.ndjson`, no rotation, fsync on (`dir` keeps
    /// it alive).
    fn plain_sink() -> (tempfile::TempDir, std::path::PathBuf, FileSink) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ocsf.ndjson");
        let sink = FileSink::open("t", &path, 0, 0, true).unwrap();
        (dir, path, sink)
    }

    /// One event of 256 KiB (newline included) making file 1 safe up to
    /// `off`.
    fn quarter_mib(ledger: &Ledger, off: u64) -> Batch {
        batch_of(ledger, vec![Bytes::from(vec![b'x'; 256 * 1024 - 1])], off)
    }

    #[test]
    fn writes_rotates_and_acknowledges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/ocsf.ndjson");
        let sink = FileSink::open("t", &path, 40, 2, true).unwrap();
        let (tx, rx) = mpsc::channel(8);
        let ledger = Ledger::new([]);
        for i in 0..4 {
            tx.blocking_send(batch(&ledger, 3, i + 1)).unwrap();
        }
        drop(tx);
        sink.run(rx);
        assert_eq!(ledger.acked(1), Some(4));
        let mut lines = 0;
        for p in [
            path.clone(),
            dir.path().join("out/ocsf.ndjson.1"),
            dir.path().join("out/ocsf.ndjson.2"),
        ] {
            let text = fs::read_to_string(&p).unwrap_or_default();
            assert!(text.len() <= 40 || lines == 0, "{p:?} too big");
            lines += text.lines().count();
        }
        assert!(!dir.path().join("out/ocsf.ndjson.3").exists());
        assert!(
            lines >= 6,
            "kept files hold at least two batches, got {lines}"
        );
    }

    #[test]
    fn one_sync_covers_the_batches_written_before_it() {
        let (_dir, path, sink) = plain_sink();
        let (tx, rx) = mpsc::channel(64);
        let ledger = Ledger::new([]);
        for i in 0..40 {
            tx.blocking_send(batch(&ledger, 5, i + 1)).unwrap();
        }
        drop(tx);
        assert_eq!(sink.run(rx), 1);
        assert_eq!(ledger.acked(1), Some(40));
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 200);
    }

    #[test]
    fn a_sync_every_few_megabytes() {
        let (_dir, path, mut sink) = plain_sink();
        // Only the byte count may trigger a sync here, however slow the
        // machine and however the batches are grouped when taken.
        sink.sync_delay = Duration::from_secs(3600);
        let (tx, rx) = mpsc::channel(4);
        let ledger = Ledger::new([]);
        let feeder = std::thread::spawn(move || {
            // 48 batches of 256 KiB: 12 MiB; SYNC_BYTES is reached after
            // the 32nd, the rest is synced when the input closes.
            for i in 0..48u64 {
                tx.blocking_send(quarter_mib(&ledger, i + 1)).unwrap();
            }
            ledger
        });
        let syncs = sink.run(rx);
        let ledger = feeder.join().unwrap();
        assert_eq!(ledger.acked(1), Some(48));
        assert_eq!(syncs, 2);
        assert_eq!(fs::metadata(&path).unwrap().len(), 12 << 20);
    }

    #[test]
    fn a_group_taken_at_once_is_synced_where_it_crosses_the_threshold() {
        let (_dir, path, mut sink) = plain_sink();
        sink.sync_delay = Duration::from_secs(3600);
        // 48 batches of 256 KiB all waiting before the sink starts: one
        // group of 48; the sync comes after the 32nd, the last 16 are
        // synced at close.
        let (tx, rx) = mpsc::channel(READY_MAX);
        let ledger = Ledger::new([]);
        for i in 0..48u64 {
            tx.blocking_send(quarter_mib(&ledger, i + 1)).unwrap();
        }
        drop(tx);
        assert_eq!(sink.run(rx), 2);
        assert_eq!(ledger.acked(1), Some(48));
        assert_eq!(fs::metadata(&path).unwrap().len(), 12 << 20);
    }

    #[test]
    fn a_lone_batch_is_acknowledged_without_waiting_for_more() {
        let (_dir, path, sink) = plain_sink();
        let (tx, rx) = mpsc::channel(8);
        let ledger = Ledger::new([]);
        let t = std::thread::spawn(move || sink.run(rx));
        tx.blocking_send(batch(&ledger, 3, 7)).unwrap();
        let start = std::time::Instant::now();
        while ledger.acked(1).is_none() {
            assert!(
                start.elapsed() < SYNC_DELAY * 50,
                "not acknowledged while the input stays open"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(ledger.acked(1), Some(7));
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 3);
        drop(tx);
        assert_eq!(t.join().unwrap(), 1);
    }
}
