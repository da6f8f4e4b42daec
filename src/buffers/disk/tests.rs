use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::*;
use crate::acks::{Ledger, SafePoint};
use crate::buffers::WhenFull;
use crate::event::{Batch, Encoded};

struct Rig {
    input: mpsc::Sender<Batch>,
    output: mpsc::Receiver<Batch>,
    stop: Arc<AtomicBool>,
    buffer: DiskBuffer,
    /// What the source side sees acknowledged.
    source: Ledger,
}

fn cfg(dir: &Path, max_bytes: u64, when_full: WhenFull) -> DiskConfig {
    DiskConfig {
        dir: dir.to_path_buf(),
        max_bytes,
        segment_bytes: 4096,
        when_full,
        fsync: true,
    }
}

fn rig(c: DiskConfig) -> Rig {
    let (input, rx) = mpsc::channel(4);
    let (tx, output) = mpsc::channel(4);
    let stop = Arc::new(AtomicBool::new(false));
    let buffer = start("out", c, stop.clone(), rx, tx).unwrap();
    Rig {
        input,
        output,
        stop,
        buffer,
        source: Ledger::new([]),
    }
}

/// A batch of `n` events `{"id":"<tag>-<i>"}` padded to about `pad` bytes.
fn batch(source: &Ledger, seq: u64, tag: &str, n: usize, pad: usize) -> Batch {
    let events = (0..n)
        .map(|i| Encoded {
            json: Bytes::from(format!(
                "{{\"id\":\"{tag}-{i}\",\"pad\":\"{}\"}}",
                "x".repeat(pad)
            )),
            class_uid: 4009,
            time_ms: seq as i64,
        })
        .collect();
    Batch {
        source: Arc::from("src"),
        events,
        ack: source.register(vec![SafePoint {
            file: 1,
            offset: seq,
            state: 0,
        }]),
    }
}

fn ids(b: &Batch) -> Vec<String> {
    b.events
        .iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_slice(&e.json).unwrap();
            v["id"].as_str().unwrap().to_string()
        })
        .collect()
}

fn recv(rx: &mut mpsc::Receiver<Batch>) -> Option<Batch> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match rx.try_recv() {
            Ok(b) => return Some(b),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) if Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(_) => panic!("nothing came out of the buffer within 10 s"),
        }
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

/// Stop a rig the way the agent does: inputs close, stop flag, join.
fn shut(r: Rig) -> (Ledger, Vec<Batch>) {
    let Rig {
        input,
        mut output,
        stop,
        buffer,
        source,
    } = r;
    drop(input);
    stop.store(true, Ordering::Release);
    let mut left = Vec::new();
    // The reader stops; what it already handed over is still in the
    // channel: undelivered.
    let join = std::thread::spawn(move || buffer.join("out"));
    while let Some(b) = output.blocking_recv() {
        b.ack.fail();
        left.push(b);
    }
    join.join().unwrap();
    (source, left)
}

#[test]
fn stores_acknowledges_to_sources_and_frees_delivered_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(cfg(dir.path(), 1 << 20, WhenFull::Block));
    for i in 1..=20u64 {
        r.input
            .blocking_send(batch(&r.source, i, &format!("b{i}"), 3, 300))
            .unwrap();
    }
    // Sources are acknowledged once the records are on disk, before the
    // sink has anything.
    wait_for("source acks", || r.source.acked(1) == Some(20));
    assert!(segments(dir.path()).len() > 1, "4 KiB segments roll over");
    let mut got = Vec::new();
    for _ in 0..20 {
        let b = recv(&mut r.output).unwrap();
        got.extend(ids(&b));
        drop(b); // delivered
    }
    let want: Vec<String> = (1..=20)
        .flat_map(|i| (0..3).map(move |j| format!("b{i}-{j}")))
        .collect();
    assert_eq!(got, want);
    // Everything delivered: only the head segment is left.
    wait_for("segments freed", || segments(dir.path()).len() == 1);
    let stats = r.buffer.stats();
    assert_eq!(stats.written_records.load(Ordering::Relaxed), 20);
    assert_eq!(stats.corrupt_records.load(Ordering::Relaxed), 0);
    let (_, left) = shut(r);
    assert!(left.is_empty());
}

#[test]
fn undelivered_records_come_back_after_a_restart_and_delivered_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(cfg(dir.path(), 1 << 20, WhenFull::Block));
    for i in 1..=10u64 {
        r.input
            .blocking_send(batch(&r.source, i, &format!("b{i}"), 2, 500))
            .unwrap();
    }
    wait_for("source acks", || r.source.acked(1) == Some(10));
    for _ in 0..4 {
        drop(recv(&mut r.output).unwrap());
    }
    let (_, _) = shut(r);
    let mut r = rig(cfg(dir.path(), 1 << 20, WhenFull::Block));
    let mut got = Vec::new();
    for _ in 0..6 {
        got.extend(ids(&recv(&mut r.output).unwrap()));
    }
    let want: Vec<String> = (5..=10)
        .flat_map(|i| (0..2).map(move |j| format!("b{i}-{j}")))
        .collect();
    assert_eq!(got, want);
    // New input goes on after the old.
    r.input
        .blocking_send(batch(&r.source, 1, "new", 1, 10))
        .unwrap();
    assert_eq!(ids(&recv(&mut r.output).unwrap()), vec!["new-0"]);
    shut(r);
}

/// Write `n` single-event records and stop without delivering any.
fn fill_and_stop(dir: &Path, n: u64) {
    let r = rig(cfg(dir, 1 << 20, WhenFull::Block));
    for i in 1..=n {
        r.input
            .blocking_send(batch(&r.source, i, &format!("r{i}"), 1, 200))
            .unwrap();
    }
    wait_for("source acks", || r.source.acked(1) == Some(n));
    shut(r);
}

#[test]
fn a_torn_tail_and_flipped_bytes_are_skipped_counted_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    fill_and_stop(dir.path(), 30);
    let segs = segments(dir.path());
    let full: Vec<&PathBuf> = segs
        .iter()
        .filter(|p| fs::metadata(p).unwrap().len() > 0)
        .collect();
    assert!(full.len() >= 2, "{segs:?}");
    // Flip bytes inside the second record of the first segment.
    let first = full[0];
    let mut bytes = fs::read(first).unwrap();
    let rec = 12 + u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let at = rec + rec / 2;
    bytes[at] ^= 0xFF;
    bytes[at + 1] ^= 0x55;
    fs::write(first, &bytes).unwrap();
    // Cut the last segment in the middle of its last record.
    let last = full[full.len() - 1];
    let len = fs::metadata(last).unwrap().len();
    let f = OpenOptions::new().write(true).open(last).unwrap();
    f.set_len(len - 37).unwrap();
    drop(f);

    let mut r = rig(cfg(dir.path(), 1 << 20, WhenFull::Block));
    let mut got = Vec::new();
    // Then new input, which must still get through.
    r.input
        .blocking_send(batch(&r.source, 1, "after", 1, 10))
        .unwrap();
    loop {
        let b = recv(&mut r.output).unwrap();
        let i = ids(&b);
        let end = i.contains(&"after-0".to_string());
        got.extend(i);
        if end {
            break;
        }
    }
    let stats = r.buffer.stats();
    assert_eq!(stats.corrupt_records.load(Ordering::Relaxed), 2, "{got:?}");
    assert!(stats.corrupt_bytes.load(Ordering::Relaxed) > 37);
    // Exactly the two damaged records are missing, everything else came
    // back in order.
    assert_eq!(got.len(), 30 - 2 + 1, "{got:?}");
    assert!(!got.contains(&"r30-0".to_string()), "the torn record");
    assert!(!got.contains(&"r2-0".to_string()), "the flipped record");
    assert_eq!(got[0], "r1-0");
    assert_eq!(got[1], "r3-0");
    shut(r);
}

#[test]
fn garbage_segments_do_not_stop_the_buffer() {
    let dir = tempfile::tempdir().unwrap();
    fill_and_stop(dir.path(), 3);
    // A segment of noise after the records, and an unreadable position.
    fs::write(dir.path().join("00000000000000000005.seg"), vec![7u8; 5000]).unwrap();
    fs::write(dir.path().join("acked"), "not a position").unwrap();
    let mut r = rig(cfg(dir.path(), 1 << 20, WhenFull::Block));
    r.input
        .blocking_send(batch(&r.source, 1, "after", 1, 10))
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.extend(ids(&recv(&mut r.output).unwrap()));
    }
    assert_eq!(got, vec!["r1-0", "r2-0", "r3-0", "after-0"]);
    assert_eq!(r.buffer.stats().corrupt_bytes.load(Ordering::Relaxed), 5000);
    shut(r);
}

#[test]
fn a_full_buffer_blocks_its_sources_until_the_sink_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(cfg(dir.path(), 64 * 1024, WhenFull::Block));
    // 100 records of ~2 KiB: three times the bound.
    let producer = {
        let input = r.input.clone();
        let source = r.source.clone();
        std::thread::spawn(move || {
            for i in 1..=100u64 {
                input
                    .blocking_send(batch(&source, i, &format!("b{i}"), 1, 2000))
                    .unwrap();
            }
        })
    };
    wait_for("the buffer to fill", || {
        let n = r.source.acked(1).unwrap_or(0);
        std::thread::sleep(Duration::from_millis(100));
        r.source.acked(1).unwrap_or(0) == n && n > 0
    });
    let stalled = r.source.acked(1).unwrap();
    assert!(
        stalled < 60,
        "sources must stop at the bound, got to {stalled}"
    );
    let used: u64 = segments(dir.path())
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    assert!(used <= 64 * 1024, "{used} bytes on disk");
    let mut got = Vec::new();
    while got.len() < 100 {
        got.extend(ids(&recv(&mut r.output).unwrap()));
    }
    producer.join().unwrap();
    let want: Vec<String> = (1..=100).map(|i| format!("b{i}-0")).collect();
    assert_eq!(got, want);
    assert_eq!(r.buffer.stats().dropped_events.load(Ordering::Relaxed), 0);
    shut(r);
}

#[test]
fn drop_newest_keeps_sources_going_and_counts_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(cfg(dir.path(), 64 * 1024, WhenFull::DropNewest));
    for i in 1..=100u64 {
        r.input
            .blocking_send(batch(&r.source, i, &format!("b{i}"), 1, 2000))
            .unwrap();
    }
    // Every batch is settled (stored or dropped) without the sink reading.
    wait_for("source acks", || r.source.acked(1) == Some(100));
    let dropped = r.buffer.stats().dropped_events.load(Ordering::Relaxed);
    let stored = r.buffer.stats().written_records.load(Ordering::Relaxed);
    assert_eq!(dropped + stored, 100);
    assert!(dropped >= 50, "{dropped} dropped");
    let mut got = 0;
    while got < stored {
        got += recv(&mut r.output).unwrap().events.len() as u64;
    }
    shut(r);
}
