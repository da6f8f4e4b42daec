//! NDJSON file sink with size-based rotation.
//!
//! Batches are written in order, flushed and (unless `fsync = false`)
//! fsynced, and only then dropped, which acknowledges them. When the file
//! would grow past `max_bytes` it is renamed to `<path>.1` (older ones shift
//! up to `<path>.<max_files>`, the oldest is removed) and a new file is
//! started. A write error fails the batches in hand (their input is read again
//! after a restart) and the sink retries with the next batches after reopening
//! the file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use crate::event::Batch;
use crate::telemetry;

/// The file sink.
pub struct FileSink {
    id: String,
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    fsync: bool,
    out: Option<BufWriter<File>>,
    size: u64,
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

    /// Write batches until every input has closed.
    pub fn run(mut self, mut rx: mpsc::Receiver<Batch>) {
        loop {
            let batches = super::recv_ready(&mut rx, 64);
            if batches.is_empty() {
                return;
            }
            match self.write(&batches) {
                Ok(()) => {
                    for b in &batches {
                        telemetry::sink_written(
                            &self.id,
                            b.events.len() as u64,
                            b.byte_len() as u64,
                        );
                    }
                }
                Err(e) => {
                    telemetry::sink_error(&self.id, "write", &e);
                    for b in &batches {
                        b.ack.fail();
                    }
                    self.out = None;
                }
            }
            drop(batches);
        }
    }

    fn write(&mut self, batches: &[Batch]) -> io::Result<()> {
        for b in batches {
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
        }
        if let Some(out) = self.out.as_mut() {
            out.flush()?;
            if self.fsync {
                out.get_ref().sync_data()?;
            }
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut out) = self.out.take() {
            out.flush()?;
            out.get_ref().sync_all()?;
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

    fn batch(ledger: &Ledger, n: usize, off: u64) -> Batch {
        let events = (0..n)
            .map(|i| Encoded {
                json: Bytes::from(format!("{{\"n\":{i}}}")),
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
}
