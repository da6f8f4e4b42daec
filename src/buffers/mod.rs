//! What sits between the sources and a sink: a bounded queue in memory (the
//! default) or on disk ([`disk`]), and what happens when it is full.
//!
//! ```toml
//! [sinks.splunk.buffer]
//! type = "disk"            # or "memory"
//! max_bytes = 1073741824   # disk: bound of the segment files together
//! when_full = "block"      # or "drop_newest"; required for a disk buffer
//! fsync = true             # disk: fsync before acknowledging to sources
//! ```
//!
//! `when_full = "block"` (the memory default) stops the sources feeding
//! that sink: they stop reading, their checkpoints stay put, nothing is
//! lost. `"drop_newest"` keeps them reading and drops the batches that do
//! not fit, counted per sink in `idlink_buffer_dropped_events_total`: for a
//! sink whose completeness matters less than the others'.

pub mod disk;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::mpsc;

use crate::event::Batch;

/// What a full buffer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait: the sources stop reading until there is room.
    Block,
    /// Drop what does not fit, count it, keep reading.
    DropNewest,
}

impl WhenFull {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WhenFull::Block => "block",
            WhenFull::DropNewest => "drop_newest",
        }
    }
}

/// `[sinks.<id>.buffer]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawBuffer {
    /// In memory.
    Memory {
        /// Batches queued before the buffer is full. Default 4.
        max_batches: Option<usize>,
        /// Default `block`.
        when_full: Option<WhenFull>,
    },
    /// On disk.
    Disk {
        /// Bound of the buffer's files together, bytes (at least 1 MiB).
        max_bytes: u64,
        /// `block` or `drop_newest`: no default, it is a choice between
        /// stopping the sources and losing events.
        when_full: WhenFull,
        /// fsync before acknowledging to the sources. Default true.
        fsync: Option<bool>,
    },
}

/// A checked buffer setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferConfig {
    /// A channel of `max_batches`.
    Memory {
        /// Capacity in batches.
        max_batches: usize,
        /// What a full buffer does.
        when_full: WhenFull,
    },
    /// Segment files under the data directory.
    Disk {
        /// Bound of the files together.
        max_bytes: u64,
        /// What a full buffer does.
        when_full: WhenFull,
        /// fsync before acknowledging.
        fsync: bool,
    },
}

/// Batches a memory buffer holds by default.
pub const DEFAULT_MAX_BATCHES: usize = 4;
/// Smallest disk buffer accepted.
pub const MIN_DISK_BYTES: u64 = 1024 * 1024;

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig::Memory {
            max_batches: DEFAULT_MAX_BATCHES,
            when_full: WhenFull::Block,
        }
    }
}

impl BufferConfig {
    /// Capacity of the sink's own channel: the whole memory buffer, or the
    /// read-ahead of a disk buffer.
    pub fn channel_batches(&self) -> usize {
        match *self {
            BufferConfig::Memory { max_batches, .. } => max_batches,
            BufferConfig::Disk { .. } => crate::sinks::CHANNEL_BATCHES,
        }
    }
}

impl RawBuffer {
    /// Check the keys; the error names the key and why.
    pub fn check(&self) -> Result<BufferConfig, (&'static str, String)> {
        match *self {
            RawBuffer::Memory {
                max_batches,
                when_full,
            } => {
                let max_batches = max_batches.unwrap_or(DEFAULT_MAX_BATCHES);
                if max_batches == 0 {
                    return Err(("max_batches", "must be at least 1".into()));
                }
                Ok(BufferConfig::Memory {
                    max_batches,
                    when_full: when_full.unwrap_or(WhenFull::Block),
                })
            }
            RawBuffer::Disk {
                max_bytes,
                when_full,
                fsync,
            } => {
                if max_bytes < MIN_DISK_BYTES {
                    return Err((
                        "max_bytes",
                        format!("{max_bytes} is below the minimum of {MIN_DISK_BYTES} bytes"),
                    ));
                }
                Ok(BufferConfig::Disk {
                    max_bytes,
                    when_full,
                    fsync: fsync.unwrap_or(true),
                })
            }
        }
    }
}

/// Where a source hands batches for one sink.
#[derive(Debug, Clone)]
pub struct SinkInput {
    /// The sink id.
    pub sink: Arc<str>,
    /// Its channel.
    pub tx: mpsc::Sender<Batch>,
    /// Drop a batch when the channel is full instead of waiting (a memory
    /// buffer with `when_full = "drop_newest"`; a disk buffer drops on its
    /// own side).
    pub drop_when_full: bool,
}

/// A running buffer stage, if the sink has one besides its channel.
pub enum Stage {
    /// Only the channel.
    Memory,
    /// A disk buffer's threads.
    Disk(disk::DiskBuffer),
}

impl Stage {
    /// Wait for it to end.
    pub fn join(self, sink: &str) {
        if let Stage::Disk(d) = self {
            d.join(sink);
        }
    }
}

/// Segment size for a disk buffer of `max_bytes`: small enough that space
/// is freed in steps of an eighth, large enough to keep files few.
pub fn segment_bytes(max_bytes: u64) -> u64 {
    (max_bytes / 8).clamp(64 * 1024, 128 * 1024 * 1024)
}

/// Build the buffer of sink `id` in front of `sink_tx` (the sink's own
/// channel, sized by [`BufferConfig::channel_batches`]): returns where
/// sources write and the stage to join.
pub fn start(
    id: &str,
    cfg: &BufferConfig,
    data_dir: &Path,
    stop: Arc<AtomicBool>,
    sink_tx: mpsc::Sender<Batch>,
) -> std::io::Result<(SinkInput, Stage)> {
    let sink: Arc<str> = Arc::from(id);
    match *cfg {
        BufferConfig::Memory { when_full, .. } => Ok((
            SinkInput {
                sink,
                tx: sink_tx,
                drop_when_full: when_full == WhenFull::DropNewest,
            },
            Stage::Memory,
        )),
        BufferConfig::Disk {
            max_bytes,
            when_full,
            fsync,
        } => {
            let (tx, rx) = mpsc::channel(crate::sinks::CHANNEL_BATCHES);
            let d = disk::start(
                id,
                disk::DiskConfig {
                    dir: data_dir.join("buffers").join(id),
                    max_bytes,
                    segment_bytes: segment_bytes(max_bytes),
                    when_full,
                    fsync,
                },
                stop,
                rx,
                sink_tx,
            )?;
            Ok((
                SinkInput {
                    sink,
                    tx,
                    drop_when_full: false,
                },
                Stage::Disk(d),
            ))
        }
    }
}
