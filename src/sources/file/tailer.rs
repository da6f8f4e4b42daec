//! Finds the files of a source, follows them through rotation, and reads
//! their new lines in blocks.
//!
//! Files are named by content ([`super::fingerprint`]), with device and inode
//! as a tie-breaker:
//! - **rename rotation**: the open file keeps being read through its file
//!   descriptor until its end, wherever it was moved (or if it was deleted);
//!   the new file at the old path is a new fingerprint, read from its start;
//! - **copytruncate**: the copy has the fingerprint of the file being read
//!   and is not read twice; when the original shrinks, the bytes between the
//!   last read position and the truncation are read from the copy, then the
//!   original is read again from its new first line. A file that grew back
//!   past the read position before it was looked at again (reading held
//!   back by a slow sink) is told by its first bytes, not its size;
//! - **truncation** without a copy: reading restarts at 0 (counted);
//! - **inode reuse**: a deleted file whose inode comes back with other content
//!   is noticed by link count and fingerprint, and the new file is read whole;
//! - **gzip** (magic bytes): read through a decoder; offsets are positions
//!   in the decompressed stream, so a file read as `x.1` and later seen as
//!   `x.1.gz` resumes where it was.
//!
//! Older files (by modification time) are read first, so the tail of a
//! rotated file comes before the head of its successor.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use flate2::read::MultiGzDecoder;

use super::checkpoint::Entry;
use super::fingerprint;
use super::framer::{Frame, Framer};
use crate::acks::FileKey;
use crate::config::{ReadFrom, SourceConfig};

/// Size of one read.
pub const READ_BLOCK: usize = 256 * 1024;
/// Most checkpoint entries kept for files that are no longer open.
const MAX_REMEMBERED: usize = 1024;

/// Lines read from one file in one go.
#[derive(Debug)]
pub struct Chunk {
    /// The file's identity.
    pub key: FileKey,
    /// Where it is now.
    pub path: PathBuf,
    /// Complete lines.
    pub frames: Vec<Frame>,
    /// Stream offset after the last complete record: where a restart resumes.
    pub end: u64,
    /// Framing context at `end` (JSON sources; 0 for lines).
    pub state: u8,
    /// Set on the first chunk after (re)opening: the position reading
    /// started from.
    pub opened_at: Option<u64>,
}

/// Things worth logging and counting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEvent {
    /// A file is being read.
    Opened {
        /// Path.
        path: PathBuf,
        /// Start offset.
        offset: u64,
        /// From a checkpoint.
        resumed: bool,
    },
    /// A file shrank under the read position.
    Truncated {
        /// Path.
        path: PathBuf,
        /// Read position before.
        offset: u64,
        /// Whether the missing tail was read from a copy.
        from_copy: bool,
    },
    /// A file was read to its end and is no longer at any matched path.
    Closed {
        /// Last path.
        path: PathBuf,
    },
    /// A line was over `max_line_bytes`.
    Oversize {
        /// Path.
        path: PathBuf,
        /// Offset of the line.
        offset: u64,
        /// Bytes cut.
        cut: u64,
    },
    /// A file could not be read.
    Error {
        /// Path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

enum Reader {
    Plain(File),
    Gzip(Box<MultiGzDecoder<File>>),
}

impl Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let r = match self {
                Reader::Plain(f) => f.read(buf),
                Reader::Gzip(g) => g.read(buf),
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    fn file(&self) -> &File {
        match self {
            Reader::Plain(f) => f,
            Reader::Gzip(g) => g.get_ref(),
        }
    }
}

/// A file opened and named by its content, as the descriptor holds it (see
/// [`fingerprint::of_open`]).
struct Found {
    file: File,
    /// Of the descriptor, not of the path.
    meta: Metadata,
    key: FileKey,
    gzip: bool,
    /// First bytes of a plain file, the ones its key was taken from.
    head: Vec<u8>,
}

impl Found {
    /// Open `path` and fingerprint what the descriptor holds. `None` while
    /// its first line is incomplete.
    fn open(path: &Path) -> io::Result<Option<Found>> {
        let file = File::open(path)?;
        let head = fingerprint::head_of(&file)?;
        let gzip = fingerprint::is_gzip(&head);
        let key = if gzip {
            fingerprint::of_gzip(&file)?
        } else {
            fingerprint::of_bytes(&head)
        };
        let Some(key) = key else {
            return Ok(None);
        };
        let meta = file.metadata()?;
        Ok(Some(Found {
            file,
            meta,
            key,
            gzip,
            head: if gzip { Vec::new() } else { head },
        }))
    }
}

struct Watched {
    key: FileKey,
    path: PathBuf,
    dev: u64,
    ino: u64,
    gzip: bool,
    reader: Reader,
    framer: Framer,
    /// Not at any matched path any more: close at end of file.
    gone: bool,
    /// Reached the end on the last read.
    at_eof: bool,
    mtime: SystemTime,
    opened_at: Option<u64>,
    /// The file's first bytes as read (up to [`fingerprint::HEAD_BYTES`]),
    /// kept to tell a copy of it from another file with the same first line
    /// even after the original was truncated.
    head: Vec<u8>,
}

impl Watched {
    /// Position a restart may resume from: after the last complete line.
    fn line_end(&self) -> u64 {
        self.framer.resume_point()
    }
}

/// The file-following half of a file source.
pub struct Tailer {
    cfg: SourceConfig,
    watched: Vec<Watched>,
    /// Last known entry per fingerprint: read position and where the file was
    /// seen. Seeded from the checkpoint; updated as files are read.
    entries: HashMap<FileKey, Entry>,
    /// Entries in the order they stopped being open (oldest first), to bound
    /// what is remembered.
    closed_order: Vec<FileKey>,
    scans: u64,
}

impl Tailer {
    /// A tailer for `cfg`, resuming from `checkpoint` entries.
    pub fn new(cfg: SourceConfig, checkpoint: HashMap<FileKey, Entry>) -> Self {
        let closed_order = checkpoint.keys().copied().collect();
        Tailer {
            cfg,
            watched: Vec::new(),
            entries: checkpoint,
            closed_order,
            scans: 0,
        }
    }

    /// Every file entry known (open or remembered), for the checkpoint.
    pub fn entries(&self) -> &HashMap<FileKey, Entry> {
        &self.entries
    }

    /// Files open now.
    pub fn open_files(&self) -> usize {
        self.watched.len()
    }

    /// True when every open file was read to its end on the last pass and
    /// holds no partial line (the `--once` exit condition).
    pub fn all_at_eof(&self) -> bool {
        self.scans > 0 && self.watched.iter().all(|w| w.at_eof)
    }

    /// Bytes waiting in partial last lines.
    pub fn partial_bytes(&self) -> usize {
        self.watched.iter().map(|w| w.framer.pending()).sum()
    }

    fn matched_paths(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for pat in &self.cfg.include {
            let Ok(paths) = glob::glob(pat.as_str()) else {
                continue;
            };
            for p in paths.flatten() {
                if self.cfg.exclude.iter().any(|x| x.matches_path(&p)) || !p.is_file() {
                    continue;
                }
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Look for new, moved, replaced and vanished files.
    pub fn scan(&mut self, events: &mut dyn FnMut(FileEvent)) {
        let startup = self.scans == 0;
        self.scans += 1;
        // Backwards: `truncated` may remove the file at `i`.
        for i in (0..self.watched.len()).rev() {
            if self.rewritten(i) {
                if let Err(e) = self.truncated(i, events) {
                    let w = self.watched.remove(i);
                    events(FileEvent::Error {
                        path: w.path.clone(),
                        reason: format!("read: {e}"),
                    });
                    let (end, state) = (w.line_end(), w.framer.state());
                    self.set_offset(w.key, end, state);
                    self.forget_open(w);
                }
            }
        }
        let paths = self.matched_paths();
        let mut seen = vec![false; self.watched.len()];
        let mut candidates = Vec::new();
        for path in paths {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            match self
                .watched
                .iter()
                .position(|w| w.dev == meta.dev() && w.ino == meta.ino())
            {
                Some(i) => {
                    let w = &mut self.watched[i];
                    let alive = w
                        .reader
                        .file()
                        .metadata()
                        .map(|m| m.nlink() > 0)
                        .unwrap_or(false);
                    // The path is this inode; whether the inode still holds
                    // the content read is asked of the open descriptor, not
                    // of the path, which a rotation may hand to another file
                    // at any moment.
                    let same_content = w.gzip
                        || meta.len() < w.line_end()
                        || fingerprint::same_first_line(w.reader.file(), &w.head);
                    if alive && same_content {
                        seen[i] = true;
                        if w.path != path {
                            w.path = path.clone();
                        }
                    } else {
                        // Deleted and the inode reused, or rewritten in
                        // place: the path now holds another file.
                        candidates.push(path);
                    }
                }
                None => candidates.push(path),
            }
        }
        for (i, w) in self.watched.iter_mut().enumerate() {
            w.gone = !seen[i];
        }
        for path in candidates {
            self.consider(path, startup, events);
        }
        self.watched.sort_by_key(|w| (w.mtime, w.path.clone()));
    }

    fn consider(&mut self, path: PathBuf, startup: bool, events: &mut dyn FnMut(FileEvent)) {
        // Opened first, then named by what the descriptor holds: the path
        // is only a way in, and a rotation may rename another file onto it
        // between any two looks at it.
        let found = match Found::open(&path) {
            Ok(Some(f)) => f,
            Ok(None) => return,
            // Moved or deleted since the directory was listed: the next scan
            // finds it where it went.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                events(FileEvent::Error {
                    path,
                    reason: format!("open: {e}"),
                });
                return;
            }
        };
        let (first_line, gzip) = (found.key, found.gzip);
        let (dev, ino, len) = (found.meta.dev(), found.meta.ino(), found.meta.len());
        let alt = fingerprint::alternate(first_line, dev, ino);
        let key = if let Some(w) = self.watched.iter().find(|w| w.key == first_line) {
            if gzip || w.gzip || fingerprint::heads_agree(&found.head, &w.head) {
                // A copy (or compressed copy) of a file being read: not read
                // twice.
                return;
            }
            // Another file that merely starts with the same line (two
            // daemons started in the same second): told apart by inode.
            alt
        } else {
            match self.entries.get(&first_line) {
                // After a restart: this file was the one told apart last time.
                Some(e) if e.ino != ino && self.entries.contains_key(&alt) => alt,
                _ => first_line,
            }
        };
        if self.watched.iter().any(|w| w.key == key) {
            return;
        }
        let (offset, state, resumed) = match self.entries.get(&key) {
            // Shorter than what was delivered from it: rewritten in place
            // with the same first line while nobody watched. What it holds
            // now is read from its start: repeats, never a line cut in two
            // or one skipped.
            Some(e) if !gzip && e.offset > len => {
                events(FileEvent::Truncated {
                    path: path.clone(),
                    offset: e.offset,
                    from_copy: false,
                });
                (0, 0, false)
            }
            Some(e) => (e.offset, e.state, true),
            None if startup && self.cfg.read_from == ReadFrom::End && !gzip => (len, 0, false),
            None => (0, 0, false),
        };
        match self.open(&path, found, key, offset, state) {
            Ok(w) => {
                events(FileEvent::Opened {
                    path: path.clone(),
                    offset,
                    resumed,
                });
                self.remember(&w, offset);
                self.watched.push(w);
            }
            Err(e) => events(FileEvent::Error {
                path,
                reason: format!("open: {e}"),
            }),
        }
    }

    /// Start reading `found` (at `path`) from stream offset `offset`.
    fn open(
        &self,
        path: &Path,
        found: Found,
        key: FileKey,
        offset: u64,
        state: u8,
    ) -> io::Result<Watched> {
        let Found {
            mut file,
            meta,
            gzip,
            head,
            ..
        } = found;
        let reader = if gzip {
            let mut gz = MultiGzDecoder::new(file);
            io::copy(&mut (&mut gz).take(offset), &mut io::sink())?;
            Reader::Gzip(Box::new(gz))
        } else {
            file.seek(SeekFrom::Start(offset))?;
            Reader::Plain(file)
        };
        Ok(Watched {
            key,
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            gzip,
            reader,
            framer: Framer::new(
                self.cfg.parser.framing(),
                offset,
                state,
                self.cfg.max_line_bytes,
            ),
            gone: false,
            at_eof: false,
            mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            opened_at: Some(offset),
            head,
        })
    }

    fn remember(&mut self, w: &Watched, offset: u64) {
        self.entries.insert(
            w.key,
            Entry {
                fingerprint: w.key,
                path: w.path.clone(),
                dev: w.dev,
                ino: w.ino,
                offset,
                state: w.framer.state(),
            },
        );
        self.closed_order.retain(|k| *k != w.key);
    }

    /// Read one block from each open file, passing complete lines to
    /// `on_chunk`. Returns the number of bytes read.
    pub fn read_some(
        &mut self,
        on_chunk: &mut dyn FnMut(Chunk),
        events: &mut dyn FnMut(FileEvent),
    ) -> usize {
        let mut total = 0;
        let mut i = 0;
        while i < self.watched.len() {
            match self.read_one(i, on_chunk, events) {
                Ok(Some(n)) => total += n,
                // The file was truncated and dropped: `i` is the next file now.
                Ok(None) => continue,
                Err(e) => {
                    let w = &mut self.watched[i];
                    events(FileEvent::Error {
                        path: w.path.clone(),
                        reason: format!("read: {e}"),
                    });
                    // Reopened from its last complete line at the next scan.
                    let (end, state) = (w.line_end(), w.framer.state());
                    let w = self.watched.remove(i);
                    self.set_offset(w.key, end, state);
                    self.forget_open(w);
                    continue;
                }
            }
            let w = &self.watched[i];
            if w.gone && w.at_eof {
                let w = self.watched.remove(i);
                events(FileEvent::Closed {
                    path: w.path.clone(),
                });
                self.forget_open(w);
                continue;
            }
            i += 1;
        }
        total
    }

    fn forget_open(&mut self, w: Watched) {
        self.closed_order.retain(|k| *k != w.key);
        self.closed_order.push(w.key);
        while self.closed_order.len() > MAX_REMEMBERED {
            let k = self.closed_order.remove(0);
            self.entries.remove(&k);
        }
    }

    fn set_offset(&mut self, key: FileKey, offset: u64, state: u8) {
        if let Some(e) = self.entries.get_mut(&key) {
            e.offset = offset;
            e.state = state;
        }
    }

    fn read_one(
        &mut self,
        i: usize,
        on_chunk: &mut dyn FnMut(Chunk),
        events: &mut dyn FnMut(FileEvent),
    ) -> io::Result<Option<usize>> {
        if !self.watched[i].gzip {
            let w = &self.watched[i];
            let len = w.reader.file().metadata()?.len();
            // A file gone from every path is read to its end and closed, its
            // last line taken even without a newline: first make sure it was
            // not rewritten in place before it went (its size cannot tell if
            // it grew back), or that line is only the start of one whose
            // rest is in a copy.
            if len < w.framer.received() || (w.gone && self.rewritten(i)) {
                let before = self.watched.len();
                self.truncated(i, events)?;
                if self.watched.len() < before {
                    return Ok(None);
                }
            }
        }
        let w = &mut self.watched[i];
        let reader = &mut w.reader;
        let head = &mut w.head;
        let plain = !w.gzip;
        let at = w.framer.received();
        let mut replaced = false;
        let n = w.framer.fill(READ_BLOCK, &mut |buf| {
            let n = reader.read(buf)?;
            // Bytes read after the file was truncated and written again are
            // not the rest of this stream: drop them and go on from a copy.
            // Checked after the read, so a rewrite during it is caught too.
            if n > 0 && plain && !fingerprint::same_first_line(reader.file(), head) {
                replaced = true;
                return Ok(0);
            }
            fingerprint::extend_head(head, at, &buf[..n]);
            Ok(n)
        })?;
        if replaced {
            let before = self.watched.len();
            self.truncated(i, events)?;
            return Ok(if self.watched.len() < before {
                None
            } else {
                Some(0)
            });
        }
        let w = &mut self.watched[i];
        // A short read is the end of a plain file (for now), but not of a
        // gzip stream: its decoder hands out less than asked whenever its
        // input buffer runs dry. Only a read that gives nothing is its end.
        w.at_eof = if w.gzip { n == 0 } else { n < READ_BLOCK };
        if n > 0 {
            if let Ok(m) = w.reader.file().metadata() {
                w.mtime = m.modified().unwrap_or(w.mtime);
            }
        }
        if w.gone && w.at_eof && w.framer.pending() > 0 {
            // A file that will not grow any more: its last record needs no
            // terminator.
            w.framer.end_of_input();
        }
        let mut frames = Vec::new();
        while let Some(f) = w.framer.next_frame() {
            if f.cut > 0 {
                events(FileEvent::Oversize {
                    path: w.path.clone(),
                    offset: f.start,
                    cut: f.cut,
                });
            }
            frames.push(f);
        }
        let end = w.line_end();
        let state = w.framer.state();
        let opened_at = w.opened_at.take();
        let (key, path) = (w.key, w.path.clone());
        if !frames.is_empty() || opened_at.is_some() {
            self.set_offset(key, end, state);
            on_chunk(Chunk {
                key,
                path,
                frames,
                end,
                state,
                opened_at,
            });
        }
        Ok(Some(n))
    }

    /// True if the content under the open descriptor of the file at `i` no
    /// longer starts as it did: it was truncated and written again. Its
    /// size cannot tell when it grew back past the read position before it
    /// was looked at (a copytruncate while a slow sink held reading back,
    /// or while the file was already renamed or deleted).
    fn rewritten(&self, i: usize) -> bool {
        let w = &self.watched[i];
        !w.gzip && !fingerprint::same_first_line(w.reader.file(), &w.head)
    }

    /// The file at `i` is shorter than what was read, or was rewritten. If a
    /// copy with the same fingerprint exists (copytruncate), read the missing
    /// tail from it first; then read the original again from its start as a
    /// new file.
    fn truncated(&mut self, i: usize, events: &mut dyn FnMut(FileEvent)) -> io::Result<()> {
        let (key, old_end, path) = {
            let w = &self.watched[i];
            (w.key, w.framer.received(), w.path.clone())
        };
        let copy = self.matched_paths().into_iter().find_map(|p| {
            if p == path {
                return None;
            }
            let found = Found::open(&p).ok().flatten()?;
            (found.key == key && (found.gzip || found.meta.len() >= old_end)).then_some((p, found))
        });
        let from_copy = copy.is_some();
        events(FileEvent::Truncated {
            path: path.clone(),
            offset: old_end,
            from_copy,
        });
        match copy {
            Some((p, found)) => {
                // Continue the same stream from the copy; the truncated file
                // is found again by the next scan under its new fingerprint.
                let state = self.watched[i].framer.state();
                let mut w = self.open(&p, found, key, old_end, state)?;
                let kind = self.cfg.parser.framing();
                w.framer = std::mem::replace(
                    &mut self.watched[i].framer,
                    Framer::new(kind, 0, 0, self.cfg.max_line_bytes),
                );
                w.opened_at = None;
                w.gone = true;
                self.watched[i] = w;
            }
            None => {
                // Read again from the start once the next scan finds it,
                // under the fingerprint of its new first line.
                let w = self.watched.remove(i);
                self.entries.remove(&w.key);
                self.closed_order.retain(|k| *k != w.key);
            }
        }
        Ok(())
    }
}
