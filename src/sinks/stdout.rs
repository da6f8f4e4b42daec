//! NDJSON on standard output. A closed pipe (`| head`) ends the sink
//! quietly; its batches count as not delivered.

use std::io::{self, IoSlice, Write};

use tokio::sync::mpsc;

use crate::event::Batch;
use crate::telemetry;

/// Write batches until the inputs close.
pub fn run(id: &str, mut rx: mpsc::Receiver<Batch>) {
    let stdout = io::stdout();
    loop {
        let batches = super::recv_ready(&mut rx, 64);
        if batches.is_empty() {
            return;
        }
        let mut out = stdout.lock();
        let r = write_all(&mut out, &batches).and_then(|_| out.flush());
        match r {
            Ok(()) => {
                for b in &batches {
                    telemetry::sink_written(id, b.events.len() as u64, b.byte_len() as u64);
                }
            }
            Err(e) => {
                for b in &batches {
                    b.ack.fail();
                }
                if e.kind() != io::ErrorKind::BrokenPipe {
                    telemetry::sink_error(id, "write", &e);
                }
                // Keep receiving so sources are not blocked, but nothing
                // more is delivered.
                while let Some(b) = rx.blocking_recv() {
                    b.ack.fail();
                }
                return;
            }
        }
    }
}

/// Write every event of `batches` and its newline; returns the bytes
/// written. The pieces go to `out` as the slices of vectored writes, a
/// group of events at a time: a writer whose buffer is smaller than the
/// group (a `BufWriter` over a file, with a batch of 256 KiB) passes them
/// straight to the file instead of copying them into its buffer first.
pub(crate) fn write_all(out: &mut impl Write, batches: &[Batch]) -> io::Result<u64> {
    let mut n = 0;
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(WRITE_GROUP);
    for e in batches.iter().flat_map(|b| &b.events) {
        slices.push(IoSlice::new(&e.json));
        slices.push(IoSlice::new(b"\n"));
        n += e.json.len() as u64 + 1;
        if slices.len() >= WRITE_GROUP {
            write_all_vectored(out, &mut slices)?;
            slices.clear();
        }
    }
    write_all_vectored(out, &mut slices)?;
    Ok(n)
}

/// Slices per vectored write: Linux's `IOV_MAX`.
const WRITE_GROUP: usize = 1024;

/// `Write::write_all`, for slices.
fn write_all_vectored(out: &mut impl Write, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !bufs.is_empty() {
        match out.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(k) => IoSlice::advance_slices(&mut bufs, k),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acks::Ledger;
    use crate::event::Encoded;
    use bytes::Bytes;

    /// Takes at most `max` bytes per call, and only from the first slices,
    /// as a pipe or a file near a limit may.
    struct Stingy {
        got: Vec<u8>,
        max: usize,
        calls: usize,
    }

    impl Write for Stingy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            let mut n = 0;
            for b in bufs {
                let k = b.len().min(self.max - n);
                self.got.extend_from_slice(&b[..k]);
                n += k;
                if n == self.max {
                    break;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_event_and_newline_arrive_whole_through_short_writes() {
        let ledger = Ledger::new([]);
        let batch = |from: usize, to: usize| Batch {
            source: "s".into(),
            events: (from..to)
                .map(|i| Encoded {
                    json: Bytes::from(format!("{{\"n\":{i}}}")),
                    class_uid: 0,
                    time_ms: 0,
                })
                .collect(),
            ack: ledger.register(Vec::new()),
        };
        // More events than one vectored write carries.
        let batches = [batch(0, 700), batch(700, 1500)];
        let want: String = (0..1500).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        for max in [1, 7, 4096, usize::MAX] {
            let mut w = Stingy {
                got: Vec::new(),
                max,
                calls: 0,
            };
            let n = write_all(&mut w, &batches).unwrap();
            assert_eq!(n, want.len() as u64, "max {max}");
            assert_eq!(String::from_utf8(w.got).unwrap(), want, "max {max}");
            if max == usize::MAX {
                // 3,000 slices in groups of 1,024.
                assert_eq!(w.calls, 3);
            }
        }
    }
}
