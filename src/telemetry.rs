//! Internal telemetry: metric names (one place, so dashboards and tests
//! agree) and the typed events that both log and count.
//!
//! Labels stay low-cardinality: source id, sink id, reason. Never a file
//! path or a user.

use metrics::{counter, gauge};

/// Lines read by a source.
pub const SOURCE_LINES: &str = "idlink_source_lines_total";
/// Bytes read by a source.
pub const SOURCE_BYTES: &str = "idlink_source_bytes_total";
/// Lines over `max_line_bytes` (cut, still parsed).
pub const SOURCE_OVERSIZE: &str = "idlink_source_oversize_lines_total";
/// Files found shorter than the read position.
pub const SOURCE_TRUNCATIONS: &str = "idlink_source_truncations_total";
/// File open/read errors.
pub const SOURCE_ERRORS: &str = "idlink_source_errors_total";
/// Records not recognised by the parser (emitted as Base Event with raw_data).
pub const PARSE_UNPARSED: &str = "idlink_parse_unparsed_total";
/// OCSF events produced by a source.
pub const EVENTS_OUT: &str = "idlink_source_events_total";
/// Events written by a sink.
pub const SINK_EVENTS: &str = "idlink_sink_events_total";
/// Bytes written by a sink.
pub const SINK_BYTES: &str = "idlink_sink_bytes_total";
/// Sink failures.
pub const SINK_ERRORS: &str = "idlink_sink_errors_total";
/// Attempts an HTTP sink will repeat, by reason (`network`, `timeout`,
/// `http_429`, `http_5xx`, `hec_busy`, `auth`, `ack_timeout`, ...).
pub const SINK_RETRIES: &str = "idlink_sink_retries_total";
/// Events written to a sink's dead-letter file, by reason.
pub const SINK_DEAD_LETTERED: &str = "idlink_sink_dead_lettered_total";
/// Records a source wrote to its dead-letter file (`dead_letter` key), by
/// reason (the parser's error kind, or the framing error).
pub const SOURCE_DEAD_LETTERED: &str = "idlink_source_dead_lettered_total";
/// Writes to a source's dead-letter file that failed (the checkpoint then
/// stays before the records for the rest of the run).
pub const SOURCE_DEAD_LETTER_ERRORS: &str = "idlink_source_dead_letter_errors_total";
/// Files currently open by a source.
pub const SOURCE_OPEN_FILES: &str = "idlink_source_open_files";
/// 1 while a source waits for a full sink buffer (it is not reading).
pub const SOURCE_BLOCKED: &str = "idlink_source_blocked";
/// Seconds sources spent waiting for full sink buffers.
pub const SOURCE_BLOCKED_SECONDS: &str = "idlink_source_blocked_seconds_total";
/// Bytes in a sink's disk buffer.
pub const BUFFER_BYTES: &str = "idlink_buffer_bytes";
/// Events written to a sink's disk buffer.
pub const BUFFER_EVENTS: &str = "idlink_buffer_events_total";
/// 1 while a sink's disk buffer is full.
pub const BUFFER_FULL: &str = "idlink_buffer_full";
/// Events dropped because a sink's buffer was full (`when_full = "drop_newest"`).
pub const BUFFER_DROPPED: &str = "idlink_buffer_dropped_events_total";
/// Damaged disk-buffer records (or torn tails) skipped.
pub const BUFFER_CORRUPT_RECORDS: &str = "idlink_buffer_corrupt_records_total";
/// Bytes skipped with them.
pub const BUFFER_CORRUPT_BYTES: &str = "idlink_buffer_corrupt_bytes_total";
/// Disk-buffer I/O errors, by operation.
pub const BUFFER_ERRORS: &str = "idlink_buffer_errors_total";

/// Unparsed records are logged one in this many (after the first few), so a
/// flood of bad lines cannot flood the log; every one is counted.
const LOG_EVERY: u64 = 1000;

/// A record the parser did not recognise.
pub fn unparsed(source: &str, path: &std::path::Path, offset: u64, reason: &str, seen: u64) {
    counter!(PARSE_UNPARSED, "source" => source.to_string(), "reason" => reason.to_string())
        .increment(1);
    if seen <= 10 || seen.is_multiple_of(LOG_EVERY) {
        tracing::warn!(
            source,
            file = %path.display(),
            offset,
            reason,
            total = seen,
            "record not recognised; emitted as an OCSF Base Event with raw_data"
        );
    }
}

/// A line over the cap.
pub fn oversize(source: &str, path: &std::path::Path, offset: u64, cut: u64) {
    counter!(SOURCE_OVERSIZE, "source" => source.to_string()).increment(1);
    tracing::warn!(source, file = %path.display(), offset, cut_bytes = cut,
        "line longer than max_line_bytes; kept its head, skipped the rest");
}

/// Lines and bytes read.
pub fn read(source: &str, lines: u64, bytes: u64) {
    counter!(SOURCE_LINES, "source" => source.to_string()).increment(lines);
    counter!(SOURCE_BYTES, "source" => source.to_string()).increment(bytes);
}

/// Events produced.
pub fn produced(source: &str, events: u64) {
    counter!(EVENTS_OUT, "source" => source.to_string()).increment(events);
}

/// Open files gauge.
pub fn open_files(source: &str, n: usize) {
    gauge!(SOURCE_OPEN_FILES, "source" => source.to_string()).set(n as f64);
}

/// A file-level event of a source.
pub fn file_event(source: &str, ev: &crate::sources::file::tailer::FileEvent) {
    use crate::sources::file::tailer::FileEvent as F;
    match ev {
        F::Opened {
            path,
            offset,
            resumed,
        } => {
            tracing::info!(source, file = %path.display(), offset, resumed, "reading file")
        }
        F::Truncated {
            path,
            offset,
            from_copy,
        } => {
            counter!(SOURCE_TRUNCATIONS, "source" => source.to_string()).increment(1);
            tracing::warn!(source, file = %path.display(), offset, from_copy,
                "file shrank below the read position (truncated or copytruncate)");
        }
        F::Closed { path } => {
            tracing::info!(source, file = %path.display(), "file read to its end and gone; closed")
        }
        F::Oversize { path, offset, cut } => oversize(source, path, *offset, *cut),
        F::Error { path, reason } => {
            counter!(SOURCE_ERRORS, "source" => source.to_string()).increment(1);
            tracing::warn!(source, file = %path.display(), reason = %reason, "file error");
        }
    }
}

/// A batch written by a sink.
pub fn sink_written(sink: &str, events: u64, bytes: u64) {
    counter!(SINK_EVENTS, "sink" => sink.to_string()).increment(events);
    counter!(SINK_BYTES, "sink" => sink.to_string()).increment(bytes);
}

/// A sink failure.
pub fn sink_error(sink: &str, reason: &str, err: &dyn std::fmt::Display) {
    counter!(SINK_ERRORS, "sink" => sink.to_string(), "reason" => reason.to_string()).increment(1);
    tracing::error!(sink, reason, error = %err, "sink failed");
}

/// An HTTP attempt that will be repeated after `delay`. Logged at the first
/// attempts and then at powers of two, so an outage does not flood the log;
/// every one is counted.
pub fn sink_retry(
    sink: &str,
    reason: &str,
    detail: &str,
    attempt: u32,
    delay: std::time::Duration,
) {
    counter!(SINK_RETRIES, "sink" => sink.to_string(), "reason" => reason.to_string()).increment(1);
    if attempt <= 3 || attempt.is_power_of_two() {
        tracing::warn!(sink, reason, error = %detail, attempt, retry_in_ms = delay.as_millis() as u64,
            "request not accepted; retrying");
    }
}

/// Events dead-lettered by a sink.
pub fn sink_dead_lettered(sink: &str, reason: &str, events: u64) {
    counter!(SINK_DEAD_LETTERED, "sink" => sink.to_string(), "reason" => reason.to_string())
        .increment(events);
}

/// A source started waiting for the full buffer of `sink`.
pub fn source_blocked(source: &str, sink: &str) {
    gauge!(SOURCE_BLOCKED, "source" => source.to_string(), "sink" => sink.to_string()).set(1.0);
}

/// A source has been waiting for a while: it is not reading its files.
pub fn source_still_blocked(source: &str, sink: &str) {
    tracing::warn!(
        source,
        sink,
        "sink buffer full; the source stopped reading until the sink catches up"
    );
}

/// The source could hand its batch over again after `waited`;
/// `total_waited` is its running total for this sink.
pub fn source_resumed(
    source: &str,
    sink: &str,
    waited: std::time::Duration,
    total_waited: std::time::Duration,
    warned: bool,
) {
    gauge!(SOURCE_BLOCKED, "source" => source.to_string(), "sink" => sink.to_string()).set(0.0);
    // Whole seconds of the running total: short waits add up instead of
    // each rounding to zero.
    counter!(SOURCE_BLOCKED_SECONDS, "source" => source.to_string(), "sink" => sink.to_string())
        .absolute(total_waited.as_secs());
    if warned {
        tracing::info!(
            source,
            sink,
            waited_ms = waited.as_millis() as u64,
            "sink buffer has room again; the source reads again"
        );
    }
}

/// Bytes now in a disk buffer.
pub fn buffer_bytes(sink: &str, bytes: u64) {
    gauge!(BUFFER_BYTES, "sink" => sink.to_string()).set(bytes as f64);
}

/// Events stored in a disk buffer.
pub fn buffer_written(sink: &str, events: u64) {
    counter!(BUFFER_EVENTS, "sink" => sink.to_string()).increment(events);
}

/// A disk buffer became full.
pub fn buffer_full(sink: &str, when_full: crate::buffers::WhenFull, bytes: u64) {
    gauge!(BUFFER_FULL, "sink" => sink.to_string()).set(1.0);
    match when_full {
        crate::buffers::WhenFull::Block => tracing::warn!(
            sink,
            bytes,
            "disk buffer full; its sources stop reading until the sink catches up"
        ),
        crate::buffers::WhenFull::DropNewest => tracing::warn!(
            sink,
            bytes,
            "disk buffer full; dropping new events (when_full = \"drop_newest\")"
        ),
    }
}

/// A full disk buffer has room again.
pub fn buffer_resumed(sink: &str, when_full: crate::buffers::WhenFull) {
    gauge!(BUFFER_FULL, "sink" => sink.to_string()).set(0.0);
    tracing::info!(
        sink,
        when_full = when_full.as_str(),
        "disk buffer has room again"
    );
}

/// Events dropped by a full buffer. Logged at powers of two of the
/// process-wide count; every one is counted per sink.
pub fn buffer_dropped(sink: &str, events: u64) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static DROPPED: AtomicU64 = AtomicU64::new(0);
    counter!(BUFFER_DROPPED, "sink" => sink.to_string()).increment(events);
    let before = DROPPED.fetch_add(events, Ordering::Relaxed);
    let after = before + events;
    if before == 0 || (after.ilog2() > before.ilog2()) {
        tracing::warn!(
            sink,
            events,
            total = after,
            "sink buffer full; events dropped (when_full = \"drop_newest\")"
        );
    }
}

/// Damage skipped in a disk buffer.
pub fn buffer_corrupt(sink: &str, path: &std::path::Path, offset: u64, bytes: u64, why: &str) {
    counter!(BUFFER_CORRUPT_RECORDS, "sink" => sink.to_string()).increment(1);
    counter!(BUFFER_CORRUPT_BYTES, "sink" => sink.to_string()).increment(bytes);
    tracing::error!(sink, file = %path.display(), offset, skipped_bytes = bytes, reason = why,
        "damaged disk-buffer data skipped");
}

/// A disk-buffer I/O error.
pub fn buffer_error(sink: &str, path: &std::path::Path, op: &'static str, err: &std::io::Error) {
    counter!(BUFFER_ERRORS, "sink" => sink.to_string(), "op" => op).increment(1);
    tracing::error!(sink, file = %path.display(), op, error = %err, "disk buffer I/O error");
}

/// Records written to a source's dead-letter file.
pub fn source_dead_lettered(source: &str, reason: &str, records: u64) {
    counter!(SOURCE_DEAD_LETTERED, "source" => source.to_string(), "reason" => reason.to_string())
        .increment(records);
}

/// A source's dead-letter file could not be written.
pub fn source_dead_letter_error(
    source: &str,
    path: &std::path::Path,
    records: usize,
    err: &dyn std::fmt::Display,
) {
    counter!(SOURCE_DEAD_LETTER_ERRORS, "source" => source.to_string()).increment(1);
    tracing::error!(source, file = %path.display(), records, error = %err,
        "cannot write the dead-letter file; the checkpoint stays before these records \
         and they are read again on the next run");
}
