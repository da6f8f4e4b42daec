//! Checkpoints of a file source on disk.
//!
//! One JSON file per source, `<data_dir>/checkpoints/<source id>.json`, a
//! versioned document so later formats can read old ones. Offsets are
//! delivered offsets (see [`crate::acks`]): every byte before them reached
//! every sink.
//!
//! Two writes keep it both current and durable:
//!
//! - [`Store::save_fast`] runs each time the sinks acknowledge more input
//!   (from the acknowledging thread, before a sink sends its next request).
//!   It writes `<id>.fast.json` through a temporary file and a rename, with
//!   no fsync: it survives the process being killed at any moment, which is
//!   what keeps the repeats after a `kill -9` to the batch that was in
//!   flight, and costs tens of microseconds.
//! - [`Store::save`] runs about once a second and at shutdown: temporary
//!   file, fsync, rename, directory fsync. After a power loss the fast file
//!   may be torn or stale; the durable one never is.
//!
//! Both carry a sequence number that only grows across runs; [`Store::load`]
//! takes the readable document with the higher one. A torn fast file costs
//! repeats (the durable checkpoint is older), never a loss.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::acks::FileKey;

/// The on-disk document.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "version")]
enum Document {
    /// Version 1.
    #[serde(rename = "1")]
    V1 {
        /// Grows with every save, across runs (absent in early files).
        #[serde(default)]
        seq: u64,
        /// One entry per file.
        files: Vec<Entry>,
    },
}

/// What is known about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Content fingerprint (hex in JSON, so no reader loses precision).
    #[serde(with = "hex_u64")]
    pub fingerprint: FileKey,
    /// Where the file was last seen.
    pub path: PathBuf,
    /// Device and inode last seen: tie-breaker between equal fingerprints.
    pub dev: u64,
    /// Inode last seen.
    pub ino: u64,
    /// Delivered offset (for gzip files, in the decompressed stream).
    pub offset: u64,
    /// Framing context at `offset` for JSON sources (inside an array or a
    /// `records` wrapper); 0 for line sources.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub state: u8,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// The checkpoint files of one source.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    fast: PathBuf,
}

/// What [`Store::load`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The entries, by fingerprint.
    pub entries: HashMap<FileKey, Entry>,
    /// Sequence number of the document they came from; later saves must use
    /// higher ones.
    pub seq: u64,
}

impl Store {
    /// The store of source `id` under `data_dir`.
    pub fn new(data_dir: &Path, id: &str) -> Self {
        let dir = data_dir.join("checkpoints");
        Store {
            path: dir.join(format!("{id}.json")),
            fast: dir.join(format!("{id}.fast.json")),
        }
    }

    /// The durable file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the checkpoint. Missing files are an empty checkpoint. An
    /// unreadable durable file is an error (the agent refuses to start rather
    /// than re-read or skip everything silently); an unreadable fast file is
    /// ignored with a warning, since the durable one is at most a second
    /// older.
    pub fn load(&self) -> io::Result<Loaded> {
        let durable = match read_doc(&self.path)? {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("checkpoint file {} is not valid: {e}", self.path.display()),
                ))
            }
            None => None,
        };
        let fast = match read_doc(&self.fast) {
            Ok(Some(Ok(d))) => Some(d),
            Ok(Some(Err(e))) => {
                tracing::warn!(file = %self.fast.display(), error = %e,
                    "ignoring a torn checkpoint; using the durable one (some input is read twice)");
                None
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(file = %self.fast.display(), error = %e,
                    "cannot read checkpoint; using the durable one");
                None
            }
        };
        let doc = match (durable, fast) {
            (Some(d), Some(f)) => {
                if seq_of(&f) > seq_of(&d) {
                    f
                } else {
                    d
                }
            }
            (Some(d), None) => d,
            (None, Some(f)) => f,
            (None, None) => return Ok(Loaded::default()),
        };
        let Document::V1 { seq, files } = doc;
        Ok(Loaded {
            entries: files.into_iter().map(|e| (e.fingerprint, e)).collect(),
            seq,
        })
    }

    /// Replace the durable checkpoint atomically.
    pub fn save(&self, seq: u64, entries: &HashMap<FileKey, Entry>) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&encode(seq, entries)?)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        File::open(dir)?.sync_all()
    }

    /// Replace the fast checkpoint (atomic against a process crash, not
    /// against a power loss).
    pub fn save_fast(&self, seq: u64, entries: &HashMap<FileKey, Entry>) -> io::Result<()> {
        let tmp = self.fast.with_extension("json.tmp");
        let bytes = encode(seq, entries)?;
        match fs::write(&tmp, &bytes) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(self.fast.parent().unwrap_or(Path::new(".")))?;
                fs::write(&tmp, &bytes)?;
            }
            r => r?,
        }
        fs::rename(&tmp, &self.fast)
    }
}

fn seq_of(d: &Document) -> u64 {
    let Document::V1 { seq, .. } = d;
    *seq
}

fn read_doc(path: &Path) -> io::Result<Option<Result<Document, serde_json::Error>>> {
    match fs::read(path) {
        Ok(t) => Ok(Some(serde_json::from_slice(&t))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn encode(seq: u64, entries: &HashMap<FileKey, Entry>) -> io::Result<Vec<u8>> {
    let mut files: Vec<Entry> = entries.values().cloned().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path).then(a.fingerprint.cmp(&b.fingerprint)));
    let mut out = serde_json::to_vec_pretty(&Document::V1 { seq, files })?;
    out.push(b'\n');
    Ok(out)
}

mod hex_u64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        u64::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_frozen_v1() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "mail");
        assert!(store.load().unwrap().entries.is_empty());
        let e = Entry {
            fingerprint: u64::MAX - 3,
            path: "/var/log/mail.log".into(),
            dev: 2049,
            ino: 77,
            offset: 123,
            state: 4,
        };
        let map = HashMap::from([(e.fingerprint, e.clone())]);
        store.save(1, &map).unwrap();
        assert_eq!(store.load().unwrap().entries, map);
        // A version-1 document as written by this release must stay readable.
        let v1 = r#"{"version":"1","files":[{"fingerprint":"00000000000000ff",
            "path":"/x","dev":1,"ino":2,"offset":9}]}"#;
        fs::write(store.path(), v1).unwrap();
        let got = store.load().unwrap();
        assert_eq!(got.entries[&255].offset, 9);
        assert_eq!(got.seq, 0);
        fs::write(store.path(), "{garbage").unwrap();
        assert!(store.load().is_err());
    }

    fn one(offset: u64) -> HashMap<FileKey, Entry> {
        let e = Entry {
            fingerprint: 5,
            path: "/var/log/mail.log".into(),
            dev: 1,
            ino: 2,
            offset,
            state: 0,
        };
        HashMap::from([(5, e)])
    }

    #[test]
    fn the_newer_of_fast_and_durable_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s");
        store.save(10, &one(100)).unwrap();
        store.save_fast(12, &one(300)).unwrap();
        let got = store.load().unwrap();
        assert_eq!((got.seq, got.entries[&5].offset), (12, 300));
        // A durable save after the fast one (shutdown) wins again.
        store.save(13, &one(350)).unwrap();
        assert_eq!(store.load().unwrap().entries[&5].offset, 350);
        // A stale fast file from an older run loses.
        store.save_fast(11, &one(1)).unwrap();
        assert_eq!(store.load().unwrap().entries[&5].offset, 350);
    }

    #[test]
    fn a_torn_fast_file_falls_back_to_the_durable_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "s");
        store.save(3, &one(100)).unwrap();
        let fast = dir.path().join("checkpoints/s.fast.json");
        fs::write(&fast, "{\"version\":\"1\",\"se").unwrap();
        assert_eq!(store.load().unwrap().entries[&5].offset, 100);
        // Only a fast file (the durable one was never written): it is used.
        fs::remove_file(store.path()).unwrap();
        store.save_fast(4, &one(200)).unwrap();
        assert_eq!(store.load().unwrap().entries[&5].offset, 200);
    }
}
