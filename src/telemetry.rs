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
/// Files currently open by a source.
pub const SOURCE_OPEN_FILES: &str = "idlink_source_open_files";

/// Unparsed records are logged one in this many (after the first few), so a
/// flood of bad lines cannot flood the log; every one is counted.
const LOG_EVERY: u64 = 1000;

/// A record the parser did not recognise.
pub fn unparsed(source: &str, path: &std::path::Path, offset: u64, reason: &str, seen: u64) {
    counter!(PARSE_UNPARSED, "source" => source.to_string(), "reason" => reason.to_string())
        .increment(1);
    if seen <= 10 || seen % LOG_EVERY == 0 {
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
