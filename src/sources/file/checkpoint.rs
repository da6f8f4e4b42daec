//! Checkpoints of a file source on disk.
//!
//! One JSON file per source, `<data_dir>/checkpoints/<source id>.json`, a
//! versioned document so later formats can read old ones. Written to a
//! temporary file, fsynced, renamed over the old one, and the directory
//! fsynced: a crash leaves either the old or the new checkpoint, never a torn
//! one. Offsets are delivered offsets (see [`crate::acks`]): every byte before
//! them reached every sink.

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

/// The checkpoint file of one source.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The store of source `id` under `data_dir`.
    pub fn new(data_dir: &Path, id: &str) -> Self {
        Store {
            path: data_dir.join("checkpoints").join(format!("{id}.json")),
        }
    }

    /// The file it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the entries. A missing file is an empty checkpoint; an unreadable
    /// one is an error (the agent refuses to start rather than re-read or
    /// skip everything silently).
    pub fn load(&self) -> io::Result<HashMap<FileKey, Entry>> {
        let text = match fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(e),
        };
        let doc: Document = serde_json::from_slice(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("checkpoint file {} is not valid: {e}", self.path.display()),
            )
        })?;
        let Document::V1 { files } = doc;
        Ok(files.into_iter().map(|e| (e.fingerprint, e)).collect())
    }

    /// Replace the checkpoint atomically.
    pub fn save(&self, entries: &HashMap<FileKey, Entry>) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let mut files: Vec<Entry> = entries.values().cloned().collect();
        files.sort_by(|a, b| a.path.cmp(&b.path).then(a.fingerprint.cmp(&b.fingerprint)));
        let doc = Document::V1 { files };
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut f = File::create(&tmp)?;
            serde_json::to_writer_pretty(&mut f, &doc)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        File::open(dir)?.sync_all()
    }
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
        assert!(store.load().unwrap().is_empty());
        let e = Entry {
            fingerprint: u64::MAX - 3,
            path: "/var/log/mail.log".into(),
            dev: 2049,
            ino: 77,
            offset: 123,
            state: 4,
        };
        let map = HashMap::from([(e.fingerprint, e.clone())]);
        store.save(&map).unwrap();
        assert_eq!(store.load().unwrap(), map);
        // A version-1 document as written by this release must stay readable.
        let v1 = r#"{"version":"1","files":[{"fingerprint":"00000000000000ff",
            "path":"/x","dev":1,"ino":2,"offset":9}]}"#;
        fs::write(store.path(), v1).unwrap();
        let got = store.load().unwrap();
        assert_eq!(got[&255].offset, 9);
        fs::write(store.path(), "{garbage").unwrap();
        assert!(store.load().is_err());
    }
}
