//! File identity by content: a CRC-64 of the first line.
//!
//! Paths move (rename rotation) and inodes get reused, so neither names a
//! file. The first line of a log file carries a timestamp and rarely repeats,
//! so its checksum tells files apart across renames, inode reuse and copies.
//! A file whose first line is not complete yet (and shorter than
//! [`MAX_FINGERPRINT_BYTES`]) has no fingerprint and is not read until it has
//! one. Gzip files (recognised by their magic bytes, not their name) are
//! fingerprinted on their decompressed content, so `mail.log.1.gz` is the
//! same file as the `mail.log.1` it was made from.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crc::{Crc, CRC_64_ECMA_182};
use flate2::read::MultiGzDecoder;

use crate::acks::FileKey;

/// Bytes of the first line that are checksummed at most.
pub const MAX_FINGERPRINT_BYTES: usize = 1024;

const CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_ECMA_182);

/// True if `head` starts with the gzip magic bytes.
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// The fingerprint of `head`, the first bytes of a file's content: the
/// checksum of its first line (newline included), or of the first
/// [`MAX_FINGERPRINT_BYTES`] if the line is longer. `None` if the first line
/// is not complete yet.
pub fn of_bytes(head: &[u8]) -> Option<FileKey> {
    let end = match head.iter().position(|&b| b == b'\n') {
        Some(i) => (i + 1).min(MAX_FINGERPRINT_BYTES),
        None if head.len() >= MAX_FINGERPRINT_BYTES => MAX_FINGERPRINT_BYTES,
        None => return None,
    };
    Some(CRC64.checksum(&head[..end]))
}

/// Fingerprint the file at `path`, and say whether it is gzip.
pub fn of_file(path: &Path) -> io::Result<Option<(FileKey, bool)>> {
    of_open(&File::open(path)?)
}

/// Fingerprint the open `file`, and say whether it is gzip. The bytes are
/// taken with positioned reads, so the descriptor's read position is left
/// alone and the key names the file this descriptor reads, whatever its
/// path holds by now (a rotation may rename another file onto it at any
/// moment).
pub fn of_open(file: &File) -> io::Result<Option<(FileKey, bool)>> {
    let mut head = [0u8; MAX_FINGERPRINT_BYTES];
    let n = read_head_at(file, &mut head)?;
    if is_gzip(&head[..n]) {
        return Ok(of_gzip(file)?.map(|k| (k, true)));
    }
    Ok(of_bytes(&head[..n]).map(|k| (k, false)))
}

/// The fingerprint of the open gzip `file`'s decompressed content (as
/// [`of_open`]: positioned reads).
pub fn of_gzip(file: &File) -> io::Result<Option<FileKey>> {
    let mut gz = MultiGzDecoder::new(ReadAt { file, pos: 0 });
    let mut plain = [0u8; MAX_FINGERPRINT_BYTES];
    // A gzip file that is still being written may end early: no
    // fingerprint yet rather than an error.
    let n = match read_up_to(&mut gz, &mut plain) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(of_bytes(&plain[..n]))
}

/// A [`Read`] over a file by positioned reads from `pos`.
struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The identity of a file whose first line equals that of another live file
/// (`key`) but whose content differs: derived from its device and inode,
/// which a rename keeps, so it is stable while the file lives.
pub fn alternate(key: FileKey, dev: u64, ino: u64) -> FileKey {
    let mut d = CRC64.digest();
    d.update(&key.to_le_bytes());
    d.update(&dev.to_le_bytes());
    d.update(&ino.to_le_bytes());
    d.finalize()
}

/// How many first bytes of a file are kept to compare it with others.
pub const HEAD_BYTES: usize = 4096;

/// Grow a kept head with bytes read at stream offset `at`.
pub fn extend_head(head: &mut Vec<u8>, at: u64, data: &[u8]) {
    let len = head.len() as u64;
    if len >= HEAD_BYTES as u64 || at > len || at + data.len() as u64 <= len {
        return;
    }
    let from = (len - at) as usize;
    let take = (HEAD_BYTES - head.len()).min(data.len() - from);
    head.extend_from_slice(&data[from..from + take]);
}

/// True if two plain files whose first bytes are `a` and `b` agree over the
/// shorter of the two: one is a copy of the other (as copytruncate makes),
/// rather than another file that happens to start with the same line.
pub fn heads_agree(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// The first [`HEAD_BYTES`] of an open plain file, read at offset 0 without
/// moving its read position.
pub fn head_of(file: &File) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; HEAD_BYTES];
    let n = read_head_at(file, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// True unless the open plain `file` now starts with another first line
/// than `head` (its first bytes as read): it was truncated and written
/// again. A file shorter than the line, or unreadable now, counts as the
/// same (shrinking is noticed by its size).
pub fn same_first_line(file: &File, head: &[u8]) -> bool {
    let line = match head.iter().position(|&b| b == b'\n') {
        Some(i) => (i + 1).min(MAX_FINGERPRINT_BYTES),
        None => head.len().min(MAX_FINGERPRINT_BYTES),
    };
    let mut now = [0u8; MAX_FINGERPRINT_BYTES];
    match read_head_at(file, &mut now[..line]) {
        Ok(n) => now[..n] == head[..n],
        Err(_) => true,
    }
}

/// Fill `buf` from the start of `file` (positioned reads: the descriptor's
/// own read position is left alone). Returns the bytes read, fewer at the
/// end of the file.
pub fn read_head_at(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn first_line_decides() {
        assert_eq!(of_bytes(b"abc"), None);
        assert_eq!(of_bytes(b"abc\n"), of_bytes(b"abc\nmore lines\n"));
        assert_ne!(of_bytes(b"abc\n"), of_bytes(b"abd\n"));
        let long = vec![b'x'; 2000];
        assert!(of_bytes(&long).is_some());
        assert_eq!(of_bytes(&long), of_bytes(&long[..1500]));
    }

    #[test]
    fn head_grows_only_with_contiguous_bytes() {
        let mut h = b"abc".to_vec();
        extend_head(&mut h, 10, b"zzz");
        assert_eq!(h, b"abc");
        extend_head(&mut h, 1, b"bcdef");
        assert_eq!(h, b"abcdef");
        let mut big = Vec::new();
        extend_head(&mut big, 0, &vec![7u8; HEAD_BYTES + 10]);
        assert_eq!(big.len(), HEAD_BYTES);
    }

    #[test]
    fn gzip_matches_its_plain_form() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.log");
        std::fs::write(&plain, b"line one\nline two\n").unwrap();
        let gz = dir.path().join("a.log.gz");
        let mut enc = flate2::write::GzEncoder::new(
            File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(b"line one\nline two\n").unwrap();
        enc.finish().unwrap();
        let (k1, g1) = of_file(&plain).unwrap().unwrap();
        let (k2, g2) = of_file(&gz).unwrap().unwrap();
        assert_eq!(k1, k2);
        assert!(!g1 && g2);
    }
}
