//! What a replay did: counts per sink and per source, the skipped lines,
//! and the summary printed for the operator.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::{SinkCount, SourceCount};

/// A line that was not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// Its line number in FILE (from 1); `None` for events assembled at the
    /// end from several lines (Postfix messages).
    pub line: Option<u64>,
    /// Why.
    pub why: String,
}

/// What a replay did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// FILE.
    pub file: PathBuf,
    /// Nothing was sent or written.
    pub dry_run: bool,
    /// Lines read (blank ones included).
    pub lines: u64,
    /// Per sink.
    pub sinks: BTreeMap<String, SinkCount>,
    /// Per source, for `parse` and `framing` lines.
    pub sources: BTreeMap<String, SourceCount>,
    /// Lines skipped.
    pub skipped: u64,
    /// The first skipped lines.
    pub skips: Vec<Skip>,
    /// Why the replay ended before the end of FILE (a stop signal, a read
    /// error), if it did.
    pub stopped: Option<String>,
}

impl Summary {
    /// Events accepted by a far end (or written by a file sink).
    pub fn acknowledged(&self) -> u64 {
        self.sinks.values().map(|s| s.acknowledged).sum()
    }

    /// Events rejected again plus records that failed to parse again.
    pub fn failed_again(&self) -> u64 {
        self.sinks.values().map(|s| s.failed_again).sum::<u64>()
            + self.sources.values().map(|s| s.failed_again).sum::<u64>()
    }

    /// Events neither accepted nor written anywhere (FILE still has them).
    pub fn not_delivered(&self) -> u64 {
        self.sinks.values().map(|s| s.not_delivered).sum::<u64>()
            + self
                .sources
                .values()
                .filter_map(|s| s.unwritten.as_ref().map(|(n, _)| n))
                .sum::<u64>()
    }

    /// Everything read was resent and acknowledged.
    pub fn is_clean(&self) -> bool {
        self.stopped.is_none()
            && self.skipped == 0
            && self.failed_again() == 0
            && self.not_delivered() == 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let per_sink = |pick: fn(&SinkCount) -> u64| -> String {
            let parts: Vec<String> = self
                .sinks
                .iter()
                .filter(|(_, c)| pick(c) > 0)
                .map(|(id, c)| format!("{id} {}", pick(c)))
                .collect();
            if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            }
        };
        writeln!(
            f,
            "replay of {file}{}:",
            if self.dry_run {
                " (dry run: nothing sent or written)"
            } else {
                ""
            }
        )?;
        writeln!(f, "  read:                    {} lines", self.lines)?;
        if self.dry_run {
            let n: u64 = self.sinks.values().map(|s| s.sent).sum();
            writeln!(
                f,
                "  would resend:            {n} events{}",
                per_sink(|c| c.sent)
            )?;
        } else {
            writeln!(
                f,
                "  resent and acknowledged: {} events{}",
                self.acknowledged(),
                per_sink(|c| c.acknowledged)
            )?;
        }
        for (id, s) in &self.sources {
            writeln!(
                f,
                "  parsed again (source {id}): {} records, {} recognised, {} events",
                s.records, s.parsed, s.events
            )?;
        }
        writeln!(f, "  failed again:            {}", self.failed_again())?;
        for (id, s) in self.sinks.iter().filter(|(_, s)| s.failed_again > 0) {
            let to = s
                .dead_letter
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            writeln!(
                f,
                "    {} events rejected again by sink {id}, written to {to}",
                s.failed_again
            )?;
        }
        for (id, s) in self.sources.iter().filter(|(_, s)| s.failed_again > 0) {
            match (&s.dead_letter, self.dry_run) {
                (_, true) => writeln!(f, "    {} records of source {id} would not be recognised", s.failed_again)?,
                (Some(p), false) => writeln!(
                    f,
                    "    {} records of source {id} not recognised, written to {}",
                    s.failed_again,
                    p.display()
                )?,
                (None, false) => writeln!(
                    f,
                    "    {} records of source {id} not recognised, sent as OCSF Base Events (the source has no dead_letter)",
                    s.failed_again
                )?,
            }
        }
        writeln!(
            f,
            "  not delivered:           {} events{}",
            self.not_delivered(),
            per_sink(|c| c.not_delivered)
        )?;
        for (id, s) in &self.sources {
            if let Some((n, why)) = &s.unwritten {
                writeln!(
                    f,
                    "    {n} failed-again records of source {id} could not be written: {why}"
                )?;
            }
        }
        writeln!(
            f,
            "  skipped:                 {} lines{}",
            self.skipped,
            if self.skipped > 0 {
                " (each reported above)"
            } else {
                ""
            }
        )?;
        if let Some(why) = &self.stopped {
            writeln!(f, "  stopped before the end of the file: {why}")?;
        }
        if self.dry_run {
            write!(f, "{file} was not changed.")
        } else if self.is_clean() {
            write!(f, "{file} was not changed; everything in it was delivered again, so it may be removed.")
        } else {
            write!(
                f,
                "{file} was not changed; it still holds every line, including those not delivered or skipped."
            )
        }
    }
}
