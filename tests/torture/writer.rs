//! The writer: appends records at a steady rate and rotates the file the
//! ways logrotate and applications do. Every record carries a sequence
//! number that the parser keeps in the OCSF event (Postfix: the client host
//! name; Okta: the event uuid, which becomes `metadata.uid`).
//!
//! Files of one stream, newest first: `base`, `base.1` (plain), then
//! `base.2.gz`, `base.3.gz`, … Each holds a contiguous range of sequences,
//! which the writer tracks so it only ever deletes a file whose records
//! have all been received: anything lost is the agent's doing.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::receiver::Delivered;
use super::rng::Rng;

/// The kind of log a stream writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Postfix syslog lines, alternately smtpd `connect from` and `NOQUEUE:
    /// reject`: each gives its own event at once (no queue-ID assembly).
    Postfix,
    /// Okta System Log events, one JSON object per line.
    Okta,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Postfix, Format::Okta];

    pub fn tag(self) -> u8 {
        match self {
            Format::Postfix => b'm',
            Format::Okta => b'o',
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Postfix => "postfix",
            Format::Okta => "okta",
        }
    }

    /// The live file's name; the source globs are `<base>*`.
    pub fn base(self) -> &'static str {
        match self {
            Format::Postfix => "mail.log",
            Format::Okta => "okta.ndjson",
        }
    }

    /// Record number `seq`, newline included.
    pub fn record(self, seq: u64) -> String {
        let (m, s) = ((seq / 60) % 60, seq % 60);
        match self {
            Format::Postfix if seq.is_multiple_of(2) => format!(
                "Mar  1 10:{m:02}:{s:02} mx1 postfix/smtpd[{pid}]: connect from \
                 m{seq:010}.torture.test[10.{a}.{b}.{c}]\n",
                pid = 1000 + seq % 5000,
                a = (seq >> 16) & 255,
                b = (seq >> 8) & 255,
                c = seq & 255,
            ),
            Format::Postfix => format!(
                "Mar  1 10:{m:02}:{s:02} mx1 postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from \
                 m{seq:010}.torture.test[10.{a}.{b}.{c}]: 554 5.7.1 <u{u}@torture.test>: \
                 Relay access denied; from=<s{seq}@sender.test> to=<u{u}@torture.test> \
                 proto=ESMTP helo=<m{seq:010}.torture.test>\n",
                pid = 1000 + seq % 5000,
                a = (seq >> 16) & 255,
                b = (seq >> 8) & 255,
                c = seq & 255,
                u = seq % 100,
            ),
            Format::Okta => format!(
                concat!(
                    r#"{{"uuid":"00000000-0000-4000-8000-{seq:012}","published":"2026-03-01T10:{m:02}:{s:02}.000Z","#,
                    r#""eventType":"user.session.start","version":"0","severity":"INFO","#,
                    r#""displayMessage":"User login to Okta","#,
                    r#""actor":{{"id":"00u{u}","type":"User","alternateId":"user{u}@torture.test","displayName":"User {u}"}},"#,
                    r#""client":{{"ipAddress":"10.9.{b}.{c}","zone":"null","userAgent":{{"rawUserAgent":"torture/1.0"}}}},"#,
                    r#""outcome":{{"result":"SUCCESS"}},"transaction":{{"type":"WEB","id":"tx{seq}"}},"#,
                    r#""authenticationContext":{{"externalSessionId":"sess{seq}"}}}}"#,
                    "\n"
                ),
                seq = seq,
                m = m,
                s = s,
                u = seq % 100,
                b = (seq >> 8) & 255,
                c = seq & 255,
            ),
        }
    }
}

/// The (stream tag, sequence) an OCSF event carries, if any.
pub fn token_of(v: &serde_json::Value) -> Option<(u8, u64)> {
    if let Some(uid) = v["metadata"]["uid"].as_str() {
        if let Some(n) = uid.strip_prefix("00000000-0000-4000-8000-") {
            return n.parse().ok().map(|s| (b'o', s));
        }
    }
    let host = v["src_endpoint"]["hostname"].as_str()?;
    let n = host.strip_prefix('m')?.strip_suffix(".torture.test")?;
    n.parse().ok().map(|s| (b'm', s))
}

/// How a live file is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// `base` → `base.1`; the next write creates a new `base`.
    Rename,
    /// `base` copied to `base.1`, then truncated in place.
    CopyTruncate,
    /// `base` deleted once all of it was received, and created again as
    /// soon as the agent has let go of it: the new file usually gets the
    /// old inode (checked and counted).
    InodeReuse,
}

/// Counters shared with the scenario (read while the writers run).
#[derive(Debug, Default)]
pub struct Stats {
    /// Records written, per [`Format::ALL`] index: sequences `0..n`.
    pub written: [AtomicU64; 2],
    /// Bytes of those records.
    pub bytes: AtomicU64,
    pub renames: AtomicU64,
    pub copytruncates: AtomicU64,
    /// `base.1` compressed to `base.2.gz`.
    pub gzips: AtomicU64,
    /// Live files deleted and created again.
    pub reuse_deletes: AtomicU64,
    /// … whose new file got the old inode.
    pub reuse_hits: AtomicU64,
    /// Inode-reuse turns done as a rename because the file was not all
    /// received in time (the receiver was down or slow).
    pub reuse_fallbacks: AtomicU64,
    /// Oldest `.gz` generations deleted (all received).
    pub dropped: AtomicU64,
}

/// Writer settings.
#[derive(Debug, Clone)]
pub struct WriterPlan {
    pub records_per_sec: f64,
    /// Time between rotations (`None`: never rotate).
    pub rotate_every: Option<Range<Duration>>,
    /// Rotation kinds, used in turn.
    pub kinds: Vec<Rotation>,
    /// Generations kept beyond the live file before the oldest may go.
    pub keep: usize,
}

/// What a writer thread shares with the rest of the run.
#[derive(Clone)]
pub struct WriterCtx {
    pub stop: Arc<AtomicBool>,
    /// The running agent's pid (0: none), to see when it let go of a file.
    pub agent_pid: Arc<AtomicU32>,
    pub delivered: Delivered,
    pub stats: Arc<Stats>,
}

struct Stream {
    dir: PathBuf,
    format: Format,
    plan: WriterPlan,
    ctx: WriterCtx,
    next: u64,
    /// Sequences per generation: `[0]` live, `[1]` `.1`, `[n]` `.n.gz`.
    gens: Vec<Range<u64>>,
}

pub fn spawn(
    dir: &Path,
    format: Format,
    plan: WriterPlan,
    mut rng: Rng,
    ctx: WriterCtx,
) -> JoinHandle<()> {
    let mut s = Stream {
        dir: dir.to_path_buf(),
        format,
        plan,
        ctx,
        next: 0,
        gens: std::iter::once(0..0).collect(),
    };
    std::thread::Builder::new()
        .name(format!("writer-{}", format.name()))
        .spawn(move || s.run(&mut rng))
        .unwrap()
}

impl Stream {
    fn path(&self, generation: usize) -> PathBuf {
        let base = self.format.base();
        match generation {
            0 => self.dir.join(base),
            1 => self.dir.join(format!("{base}.1")),
            n => self.dir.join(format!("{base}.{n}.gz")),
        }
    }

    fn idx(&self) -> usize {
        Format::ALL.iter().position(|f| *f == self.format).unwrap()
    }

    fn run(&mut self, rng: &mut Rng) {
        let tick = Duration::from_millis(10);
        let mut credit = 0.0f64;
        let mut last = Instant::now();
        let mut next_rotation = self
            .plan
            .rotate_every
            .as_ref()
            .map(|r| last + rng.duration(r));
        let mut turn = 0usize;
        while !self.ctx.stop.load(Relaxed) {
            std::thread::sleep(tick);
            let now = Instant::now();
            // Steady rate; a pause (waiting for a file to be received)
            // is not made up for with a burst.
            credit = (credit + now.duration_since(last).as_secs_f64() * self.plan.records_per_sec)
                .min(self.plan.records_per_sec * 0.2 + 1.0);
            last = now;
            let n = credit as u64;
            if n > 0 {
                self.append(n, rng);
                credit -= n as f64;
            }
            if next_rotation.is_some_and(|t| now >= t) && !self.plan.kinds.is_empty() {
                let kind = self.plan.kinds[turn % self.plan.kinds.len()];
                turn += 1;
                self.rotate(kind, rng);
                let r = self.plan.rotate_every.as_ref().unwrap();
                next_rotation = Some(Instant::now() + rng.duration(r));
                last = Instant::now();
            }
        }
    }

    /// Append `n` records, in two writes split at a random byte (as a
    /// logger's buffer flushes do) with a pause between them, so the agent
    /// often finds a record cut short at the end of the file. A record is
    /// counted as written only once all of it is in the file.
    fn append(&mut self, n: u64, rng: &mut Rng) {
        let mut buf = String::new();
        for seq in self.next..self.next + n {
            buf.push_str(&self.format.record(seq));
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(0))
            .unwrap();
        let cut = rng.below(buf.len() as u64) as usize;
        f.write_all(&buf.as_bytes()[..cut]).unwrap();
        std::thread::sleep(Duration::from_millis(1));
        f.write_all(&buf.as_bytes()[cut..]).unwrap();
        self.ctx.stats.bytes.fetch_add(buf.len() as u64, Relaxed);
        self.next += n;
        self.gens[0].end = self.next;
        self.ctx.stats.written[self.idx()].store(self.next, Relaxed);
    }

    /// One line per file operation in `<dir>/../writer-<name>.log`, to
    /// tell afterwards which file held a missing record.
    fn journal(&self, what: &str) {
        let path = self
            .dir
            .with_file_name(format!("writer-{}.log", self.format.name()));
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let _ = writeln!(f, "{t:.3} next={} {what} gens={:?}", self.next, self.gens);
        }
    }

    fn rotate(&mut self, kind: Rotation, rng: &mut Rng) {
        if self.gens[0].is_empty() {
            return;
        }
        self.journal(&format!("rotate {kind:?}"));
        let stats = self.ctx.stats.clone();
        if kind == Rotation::InodeReuse {
            if self.reuse_inode(rng) {
                return;
            }
            stats.reuse_fallbacks.fetch_add(1, Relaxed);
        }
        self.shift_generations();
        match kind {
            Rotation::Rename | Rotation::InodeReuse => {
                fs::rename(self.path(0), self.path(1)).unwrap();
                stats.renames.fetch_add(1, Relaxed);
            }
            Rotation::CopyTruncate => {
                // Nothing is appended between the copy and the truncation
                // (the real race of copytruncate loses such lines whatever
                // the reader does).
                fs::copy(self.path(0), self.path(1)).unwrap();
                OpenOptions::new()
                    .write(true)
                    .open(self.path(0))
                    .unwrap()
                    .set_len(0)
                    .unwrap();
                stats.copytruncates.fetch_add(1, Relaxed);
            }
        }
        let live = std::mem::replace(&mut self.gens[0], self.next..self.next);
        self.gens.insert(1, live);
    }

    /// Make room for a new `.1`: drop the oldest generation if there are
    /// enough and it was all received, move the `.gz` files up one, and
    /// compress `.1` into `.2.gz` (in pieces, so the agent may find a
    /// half-written gzip file, as with a slow logrotate).
    fn shift_generations(&mut self) {
        let last = self.gens.len() - 1;
        if last >= 2
            && last > self.plan.keep
            && self
                .ctx
                .delivered
                .all(self.format.tag(), self.gens[last].clone())
        {
            fs::remove_file(self.path(last)).unwrap();
            self.journal(&format!("dropped generation {last}"));
            self.gens.pop();
            self.ctx.stats.dropped.fetch_add(1, Relaxed);
        }
        for g in (2..self.gens.len()).rev() {
            fs::rename(self.path(g), self.path(g + 1)).unwrap();
        }
        if self.gens.len() >= 2 {
            let plain = fs::read(self.path(1)).unwrap();
            let mut gz = flate2::write::GzEncoder::new(
                File::create(self.path(2)).unwrap(),
                flate2::Compression::fast(),
            );
            let piece = plain.len() / 3 + 1;
            for part in plain.chunks(piece) {
                gz.write_all(part).unwrap();
                gz.flush().unwrap();
                std::thread::sleep(Duration::from_millis(15));
            }
            gz.finish().unwrap().sync_all().unwrap();
            fs::remove_file(self.path(1)).unwrap();
            self.ctx.stats.gzips.fetch_add(1, Relaxed);
        }
    }

    /// Delete the live file once all of it was received, wait for the agent
    /// to close it, and create it again. False if it was not all received
    /// in time.
    fn reuse_inode(&mut self, rng: &mut Rng) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        let live = self.gens[0].clone();
        while !self.ctx.delivered.all(self.format.tag(), live.clone()) {
            if Instant::now() >= deadline || self.ctx.stop.load(Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let path = self.path(0);
        let old = fs::metadata(&path).unwrap().ino();
        fs::remove_file(&path).unwrap();
        // The inode is free only once no descriptor holds it.
        let deadline = Instant::now() + Duration::from_secs(3);
        while agent_holds(self.ctx.agent_pid.load(Relaxed), &path) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.gens[0] = self.next..self.next;
        self.append(1, rng);
        let new = fs::metadata(&path).unwrap().ino();
        self.journal(&format!("re-created, inode {old} -> {new}"));
        self.ctx.stats.reuse_deletes.fetch_add(1, Relaxed);
        if new == old {
            self.ctx.stats.reuse_hits.fetch_add(1, Relaxed);
        }
        true
    }
}

/// Whether process `pid` has the deleted file `path` open.
fn agent_holds(pid: u32, path: &Path) -> bool {
    if pid == 0 {
        return false;
    }
    let want = format!("{} (deleted)", path.display());
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .any(|t| t.as_os_str() == want.as_str())
}
