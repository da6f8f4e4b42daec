//! NDJSON on standard output. A closed pipe (`| head`) ends the sink
//! quietly; its batches count as not delivered.

use std::io::{self, Write};

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

pub(crate) fn write_all(out: &mut impl Write, batches: &[Batch]) -> io::Result<u64> {
    let mut n = 0;
    for b in batches {
        for e in &b.events {
            out.write_all(&e.json)?;
            out.write_all(b"\n")?;
            n += e.json.len() as u64 + 1;
        }
    }
    Ok(n)
}
