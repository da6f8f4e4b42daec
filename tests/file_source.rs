//! File source behaviour end to end: files on disk → `idlink` topology →
//! file sink. Lines are not Postfix, so each becomes a Base Event whose
//! `raw_data` is the line: the output tells exactly which lines arrived and
//! how often.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use idlink::config;
use idlink::topology;

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("logs")).unwrap();
        Lab { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, extra: &str) -> config::Config {
        let text = format!(
            r#"
data_dir = "{data}"
[sources.app]
type = "file"
include = ["{logs}/app.log*"]
parser = "postfix"
scan_interval_secs = 0.05
poll_interval_ms = 10
{extra}
[sinks.out]
type = "file"
inputs = ["app"]
path = "{out}"
fsync = false
"#,
            data = self.path("data").display(),
            logs = self.path("logs").display(),
            out = self.path("out.ndjson").display(),
        );
        fs::create_dir_all(self.path("logs")).unwrap();
        let p = self.path("idlink.toml");
        fs::write(&p, text).unwrap();
        config::load(&p).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// A tailer of the lab's `app.log*` files, driven by hand (no
    /// checkpoint to resume from).
    fn tailer(&self) -> idlink::sources::file::tailer::Tailer {
        let cfg = self.config("");
        idlink::sources::file::tailer::Tailer::new(cfg.sources[0].clone(), Default::default())
    }

    fn log(&self, name: &str) -> PathBuf {
        self.path("logs").join(name)
    }

    /// logrotate's copytruncate: copy `name` to `copy`, then empty it.
    fn copytruncate(&self, name: &str, copy: &str) {
        fs::copy(self.log(name), self.log(copy)).unwrap();
        OpenOptions::new()
            .write(true)
            .open(self.log(name))
            .unwrap()
            .set_len(0)
            .unwrap();
    }

    fn append(&self, name: &str, lines: impl IntoIterator<Item = String>) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log(name))
            .unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
    }

    fn run_once(&self, extra: &str) {
        let cfg = self.config(extra);
        topology::start(&cfg, true).unwrap().wait().unwrap();
    }

    /// `raw_data` of every event written so far, with how often it arrived.
    fn received(&self) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        let text = fs::read_to_string(self.path("out.ndjson")).unwrap_or_default();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let raw = v["raw_data"]
                .as_str()
                .unwrap_or_else(|| panic!("no raw_data: {line}"));
            *seen.entry(raw.to_string()).or_insert(0) += 1;
        }
        seen
    }

    fn wait_for(&self, n: usize) -> BTreeMap<String, usize> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.values().sum::<usize>() >= n || start.elapsed() > Duration::from_secs(20) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn lines(tag: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|i| format!("{tag} line {i:05} of a test log"))
        .collect()
}

/// Every expected line arrived exactly once, and nothing else.
fn assert_exactly(got: &BTreeMap<String, usize>, want: &[String]) {
    let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "duplicated: {dups:?}");
    let missing: Vec<_> = want.iter().filter(|l| !got.contains_key(*l)).collect();
    assert!(
        missing.is_empty(),
        "missing {} lines, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert_eq!(got.len(), want.len(), "unexpected extra lines: {got:?}");
}

#[test]
fn restart_from_checkpoint_loses_and_repeats_nothing() {
    let lab = Lab::new();
    let a = lines("a", 0..300);
    lab.append("app.log", a.clone());
    lab.run_once("");
    assert_exactly(&lab.received(), &a);
    let b = lines("b", 0..150);
    lab.append("app.log", b.clone());
    lab.run_once("");
    lab.run_once("");
    assert_exactly(&lab.received(), &[a, b].concat());
}

#[test]
fn partial_last_line_waits_for_its_newline() {
    let lab = Lab::new();
    lab.append("app.log", lines("p", 0..2));
    let mut f = OpenOptions::new()
        .append(true)
        .open(lab.log("app.log"))
        .unwrap();
    write!(f, "half a li").unwrap();
    lab.run_once("");
    assert_exactly(&lab.received(), &lines("p", 0..2));
    writeln!(f, "ne, completed").unwrap();
    lab.run_once("");
    let want = [lines("p", 0..2), vec!["half a line, completed".to_string()]].concat();
    assert_exactly(&lab.received(), &want);
}

#[test]
fn oversize_line_is_cut_and_its_neighbours_survive() {
    let lab = Lab::new();
    let long = "x".repeat(10_000);
    lab.append(
        "app.log",
        vec!["before".to_string(), long, "after".to_string()],
    );
    lab.run_once("max_line_bytes = 256");
    let want = ["before".to_string(), "x".repeat(256), "after".to_string()];
    assert_exactly(&lab.received(), &want);
}

#[test]
fn truncation_restarts_at_the_new_content() {
    let lab = Lab::new();
    let a = lines("t", 0..10);
    lab.append("app.log", a.clone());
    lab.run_once("");
    fs::write(lab.log("app.log"), "").unwrap();
    let b = lines("u", 0..4);
    lab.append("app.log", b.clone());
    lab.run_once("");
    assert_exactly(&lab.received(), &[a, b].concat());
}

#[test]
fn gzip_files_are_read_and_not_read_twice_after_compression() {
    let lab = Lab::new();
    let old = lines("gz", 0..20);
    fs::create_dir_all(lab.path("logs")).unwrap();
    gzip(&lab.log("app.log.2.gz"), &old);
    let cur = lines("cur", 0..5);
    lab.append("app.log", cur.clone());
    lab.run_once("");
    assert_exactly(&lab.received(), &[old.clone(), cur.clone()].concat());
    // Rotate: app.log is compressed to app.log.1.gz, a new app.log starts.
    gzip(&lab.log("app.log.1.gz"), &cur);
    fs::remove_file(lab.log("app.log")).unwrap();
    let new = lines("new", 0..3);
    lab.append("app.log", new.clone());
    lab.run_once("");
    assert_exactly(&lab.received(), &[old, cur, new].concat());
}

#[test]
fn inode_reuse_with_other_content_is_a_new_file() {
    let lab = Lab::new();
    let a = lines("first", 0..10);
    lab.append("app.log", a.clone());
    lab.run_once("");
    fs::remove_file(lab.log("app.log")).unwrap();
    let b = lines("second", 0..6);
    lab.append("app.log", b.clone());
    lab.run_once("");
    assert_exactly(&lab.received(), &[a, b].concat());
}

#[test]
fn copytruncate_while_stopped_reads_the_tail_from_the_copy() {
    let lab = Lab::new();
    let a = lines("ct", 0..50);
    lab.append("app.log", a.clone());
    lab.run_once("");
    // Lines written after the last run, then copied away and truncated
    // before the agent runs again: only the copy has them.
    let b = lines("ct-tail", 0..7);
    lab.append("app.log", b.clone());
    fs::copy(lab.log("app.log"), lab.log("app.log.1")).unwrap();
    fs::write(lab.log("app.log"), "").unwrap();
    let c = lines("ct-new", 0..3);
    lab.append("app.log", c.clone());
    lab.run_once("");
    assert_exactly(&lab.received(), &[a, b, c].concat());
}

#[test]
fn live_rename_rotation_and_copytruncate() {
    let lab = Lab::new();
    let cfg = lab.config("");
    let topo = topology::start(&cfg, false).unwrap();
    let mut want = lines("r1", 0..100);
    lab.append("app.log", want.clone());
    lab.wait_for(want.len());

    // Rename rotation; the writer still appends to the renamed file for a
    // moment, then moves to a new app.log.
    fs::rename(lab.log("app.log"), lab.log("app.log.1")).unwrap();
    let late = lines("r1-late", 0..20);
    lab.append("app.log.1", late.clone());
    let r2 = lines("r2", 0..30);
    lab.append("app.log", r2.clone());
    want.extend(late);
    want.extend(r2);
    lab.wait_for(want.len());

    // copytruncate of the current file.
    let r2b = lines("r2-more", 0..10);
    lab.append("app.log", r2b.clone());
    lab.copytruncate("app.log", "app.log.2");
    let r3 = lines("r3", 0..15);
    lab.append("app.log", r3.clone());
    want.extend(r2b);
    want.extend(r3);
    let got = lab.wait_for(want.len());
    topo.stop();
    topo.wait().unwrap();
    assert_exactly(&got, &want);
    assert_exactly(&lab.received(), &want);
}

fn gzip(path: &Path, lines: &[String]) {
    let f = fs::File::create(path).unwrap();
    let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    for l in lines {
        writeln!(enc, "{l}").unwrap();
    }
    enc.finish().unwrap();
}

#[test]
fn checkpoint_waits_for_every_sink() {
    let lab = Lab::new();
    let a = lines("ack", 0..40);
    lab.append("app.log", a.clone());
    // A second sink that cannot write (/dev/full: every flush fails with
    // ENOSPC) must hold the checkpoint back even though the first succeeded.
    let failing = r#"
[sinks.full]
type = "file"
inputs = ["app"]
path = "/dev/full"
fsync = false
"#;
    let cfg = lab.config("");
    let text = fs::read_to_string(lab.path("idlink.toml")).unwrap() + failing;
    fs::write(lab.path("idlink.toml"), text).unwrap();
    let with_full = config::load(&lab.path("idlink.toml")).unwrap();
    assert_eq!(with_full.sinks.len(), 2);
    topology::start(&with_full, true).unwrap().wait().unwrap();
    assert_exactly(&lab.received(), &a);
    // Without the failing sink, the same lines are read again: nothing was
    // checkpointed past what /dev/full refused.
    topology::start(&cfg, true).unwrap().wait().unwrap();
    let got = lab.received();
    assert_eq!(got.len(), a.len());
    assert!(
        got.values().all(|n| *n == 2),
        "every line delivered again: {got:?}"
    );
    // And now that everything is delivered, a third run adds nothing.
    topology::start(&cfg, true).unwrap().wait().unwrap();
    assert!(lab.received().values().all(|n| *n == 2));
}

fn okta_record(i: usize) -> String {
    format!(
        r#"{{
  "uuid": "5c4a1e2e-0000-4000-8000-{i:012}",
  "published": "2026-11-30T10:00:{:02}.000Z",
  "eventType": "user.session.start",
  "displayMessage": "User login to Okta",
  "severity": "INFO",
  "actor": {{"id": "00u{i}", "type": "User", "alternateId": "user{i}@example.com", "displayName": "User {i}"}},
  "client": {{"ipAddress": "198.51.100.{}"}},
  "outcome": {{"result": "SUCCESS"}}
}}"#,
        i % 60,
        i % 250
    )
}

/// `metadata.uid` of every event written so far, with how often it arrived.
fn received_uids(lab: &Lab) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    let text = fs::read_to_string(lab.path("out.ndjson")).unwrap_or_default();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let uid = v["metadata"]["uid"]
            .as_str()
            .unwrap_or_else(|| panic!("no uid: {line}"));
        *seen.entry(uid.to_string()).or_insert(0) += 1;
    }
    seen
}

#[test]
fn json_array_resumes_inside_the_array_across_restarts() {
    let lab = Lab::new();
    let okta = |extra: &str| lab.config(extra);
    // The parser is chosen per test: rewrite it in the generated config.
    let run = |lab: &Lab| {
        let text = fs::read_to_string(lab.path("idlink.toml")).unwrap();
        fs::write(
            lab.path("idlink.toml"),
            text.replace("parser = \"postfix\"", "parser = \"okta\""),
        )
        .unwrap();
        let cfg = config::load(&lab.path("idlink.toml")).unwrap();
        topology::start(&cfg, true).unwrap().wait().unwrap();
    };
    let _ = okta("");
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(lab.log("app.log"))
        .unwrap();
    write!(f, "[\n{},\n{}", okta_record(1), okta_record(2)).unwrap();
    run(&lab);
    let got = received_uids(&lab);
    assert_eq!(got.len(), 2, "{got:?}");
    write!(f, ",\n{}\n,{}\n]\n", okta_record(3), okta_record(4)).unwrap();
    let _ = okta("");
    run(&lab);
    let got = received_uids(&lab);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.values().all(|n| *n == 1), "{got:?}");
    assert!(got.keys().all(|k| k.starts_with("5c4a1e2e")), "{got:?}");
}

#[test]
fn bad_json_is_reported_not_dropped() {
    let lab = Lab::new();
    let _ = lab.config("");
    let text = fs::read_to_string(lab.path("idlink.toml")).unwrap();
    fs::write(
        lab.path("idlink.toml"),
        text.replace("parser = \"postfix\"", "parser = \"okta\""),
    )
    .unwrap();
    let body = format!(
        "{}\nthis is not json\n{}\n",
        okta_record(7).replace('\n', ""),
        okta_record(8).replace('\n', "")
    );
    fs::write(lab.log("app.log"), body).unwrap();
    let cfg = config::load(&lab.path("idlink.toml")).unwrap();
    let stats = topology::start(&cfg, true).unwrap().wait().unwrap();
    assert_eq!(stats[0].1.unparsed, 1, "{:?}", stats[0].1);
    let text = fs::read_to_string(lab.path("out.ndjson")).unwrap();
    assert_eq!(text.lines().count(), 3);
    let bad: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(bad["class_uid"], 0);
    assert_eq!(bad["unmapped"]["idlink"]["framing_error"], "garbage");
    assert!(
        bad["message"].as_str().unwrap().contains("app.log"),
        "{bad}"
    );
}

#[test]
fn files_that_start_alike_are_still_two_files() {
    let lab = Lab::new();
    // Two daemons started in the same second log the same first line.
    let head = "+++ Started at Sun Nov 22 12:31:50 2026".to_string();
    let a = [vec![head.clone()], lines("cd", 0..5)].concat();
    let b = [vec![head.clone()], lines("mt", 0..7)].concat();
    lab.append("app.log.a", a.clone());
    lab.append("app.log.b", b.clone());
    lab.run_once("");
    let got = lab.received();
    assert_eq!(
        got.get(&head),
        Some(&2),
        "the shared first line is in both files"
    );
    for l in a.iter().chain(&b).filter(|l| **l != head) {
        assert_eq!(got.get(l), Some(&1), "{l}");
    }
    // Both are remembered apart: a restart reads neither again.
    lab.append("app.log.b", lines("mt-more", 0..2));
    lab.run_once("");
    let again = lab.received();
    assert_eq!(again.get(&head), Some(&2));
    assert_eq!(
        again.values().sum::<usize>(),
        got.values().sum::<usize>() + 2
    );
}

/// Drive a tailer by hand: scan, then read until nothing is new, `rounds`
/// times; every complete line it hands out, counted.
fn tail_rounds(
    tailer: &mut idlink::sources::file::tailer::Tailer,
    got: &mut BTreeMap<String, usize>,
    rounds: usize,
) {
    for _ in 0..rounds {
        tailer.scan(&mut |_| {});
        read_all(tailer, got);
    }
}

/// Read until nothing is new, without looking for files.
fn read_all(tailer: &mut idlink::sources::file::tailer::Tailer, got: &mut BTreeMap<String, usize>) {
    while tailer.read_some(
        &mut |c| {
            for f in c.frames {
                let l = String::from_utf8_lossy(&f.data).into_owned();
                *got.entry(l).or_insert(0) += 1;
            }
        },
        &mut |_| {},
    ) > 0
    {}
}

#[test]
fn copytruncate_while_held_back_and_regrown_past_the_read_position() {
    // A sink that holds the source back stops it reading: the file can be
    // copied, truncated and grow again past the old read position before
    // the tailer looks at it again. Its size alone then says nothing; the
    // new first line does, and the unread tail must come from the copy.
    let lab = Lab::new();
    let mut tailer = lab.tailer();
    let mut got = BTreeMap::new();
    let a = lines("held-a", 0..100);
    lab.append("app.log", a.clone());
    tail_rounds(&mut tailer, &mut got, 1);
    assert_exactly(&got, &a);

    let b = lines("held-b", 0..40);
    lab.append("app.log", b.clone());
    lab.copytruncate("app.log", "app.log.1");
    let c = lines("held-c", 0..300);
    lab.append("app.log", c.clone());
    // Reading resumes before the next scan: the first read already must
    // not take the new content for the rest of the old.
    read_all(&mut tailer, &mut got);
    tail_rounds(&mut tailer, &mut got, 3);
    assert_exactly(&got, &[a, b, c].concat());
}

#[test]
fn copytruncate_while_held_back_then_the_file_is_deleted() {
    // As above, and the rewritten file is gone from every path by the time
    // the tailer looks (rotated and compressed away): only its open
    // descriptor shows the new content.
    let lab = Lab::new();
    let mut tailer = lab.tailer();
    let mut got = BTreeMap::new();
    let a = lines("gone-a", 0..100);
    lab.append("app.log", a.clone());
    tail_rounds(&mut tailer, &mut got, 1);

    let b = lines("gone-b", 0..40);
    lab.append("app.log", b.clone());
    lab.copytruncate("app.log", "app.log.1");
    let c = lines("gone-c", 0..300);
    lab.append("app.log", c.clone());
    // Its lines were delivered elsewhere before it went (not by this
    // tailer): only the copy's tail is owed here.
    fs::remove_file(lab.log("app.log")).unwrap();
    tail_rounds(&mut tailer, &mut got, 3);
    assert_exactly(&got, &[a, b].concat());
}

#[test]
fn a_deleted_gzip_file_is_read_to_the_end_of_its_stream() {
    // The oldest rotated file is often deleted while it is still being
    // read (a backlog after an outage). Its descriptor still holds all of
    // it; a gzip decoder hands it out in reads shorter than asked, which
    // must not be taken for its end.
    let lab = Lab::new();
    let mut tailer = lab.tailer();
    let old = lines("deleted-gz", 0..60_000);
    gzip(&lab.log("app.log.2.gz"), &old);
    tailer.scan(&mut |_| {});
    fs::remove_file(lab.log("app.log.2.gz")).unwrap();
    let mut got = BTreeMap::new();
    tail_rounds(&mut tailer, &mut got, 2);
    assert_exactly(&got, &old);
}

#[test]
fn rotated_files_renamed_while_they_are_opened_are_read_as_themselves() {
    // logrotate renames every generation up by one while the agent starts
    // and resumes each file from its checkpoint. A file must be identified
    // by what the descriptor it reads holds: a fingerprint taken from the
    // path a moment before opening it may be another generation's, and its
    // offset then lands inside a line of the file actually opened.
    use idlink::sources::file::checkpoint::Entry;
    use idlink::sources::file::fingerprint;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let lab = Lab::new();
    // Lines of different lengths, so offsets in one are not line starts in
    // the other.
    let a = lines("a", 0..400);
    let b = lines("bbbbbbb", 0..400);
    let (pa, pb) = (lab.log("app.log.2.gz"), lab.log("app.log.3.gz"));
    gzip(&pa, &a);
    gzip(&pb, &b);
    let line_len = |l: &[String]| l[0].len() as u64 + 1;
    let mut checkpoint = HashMap::new();
    let mut want = HashMap::new();
    for (path, content, done) in [(&pa, &a, 150usize), (&pb, &b, 250)] {
        let (key, gz) = fingerprint::of_file(path).unwrap().unwrap();
        assert!(gz);
        checkpoint.insert(
            key,
            Entry {
                fingerprint: key,
                path: path.clone(),
                dev: 0,
                ino: 0,
                offset: done as u64 * line_len(content),
                state: 0,
            },
        );
        want.insert(key, content[done..].to_vec());
    }

    // Swap the two names through a name outside the glob, as fast as
    // possible, for as long as the tailers run.
    let stop = Arc::new(AtomicBool::new(false));
    let renamer = {
        let (stop, tmp) = (stop.clone(), lab.path("swap.tmp"));
        let (pa, pb) = (pa.clone(), pb.clone());
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                fs::rename(&pa, &tmp).unwrap();
                fs::rename(&pb, &pa).unwrap();
                fs::rename(&tmp, &pb).unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    let cfg = lab.config("").sources[0].clone();
    let mut wrong = Vec::new();
    for round in 0..300 {
        // A new tailer from the same checkpoint: an agent restarting.
        let mut tailer =
            idlink::sources::file::tailer::Tailer::new(cfg.clone(), checkpoint.clone());
        let mut got: HashMap<u64, Vec<String>> = HashMap::new();
        // Until both are read, or long enough for any of them to have
        // been found under some name (the renamer may be off the CPU for a
        // while with one of them under its temporary name).
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            tailer.scan(&mut |_| {});
            while tailer.read_some(
                &mut |c| {
                    let lines = got.entry(c.key).or_default();
                    lines.extend(
                        c.frames
                            .iter()
                            .map(|f| String::from_utf8_lossy(&f.data).into_owned()),
                    );
                },
                &mut |_| {},
            ) > 0
            {}
            if want
                .iter()
                .all(|(k, w)| got.get(k).map_or(0, Vec::len) >= w.len())
            {
                break;
            }
        }
        for (key, w) in &want {
            let g = got.get(key).cloned().unwrap_or_default();
            if &g != w {
                wrong.push(format!(
                    "round {round}, file {key:016x}: {} lines, first {:?}, expected {} from {:?}",
                    g.len(),
                    g.first(),
                    w.len(),
                    w[0]
                ));
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = renamer.join().unwrap();
    assert!(swaps > 1000, "the names were swapped only {swaps} times");
    assert!(
        wrong.is_empty(),
        "{} of 600 reads went wrong: {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

#[test]
fn a_file_gone_from_every_path_is_still_checked_for_truncation() {
    // A file the tailer counts as gone (at no matched path any more) is
    // read to its end and closed, its last line taken without a newline.
    // If it was truncated meanwhile, that "last line" is only the start of
    // one whose rest is in the copy: the copy must finish it.
    let lab = Lab::new();
    let mut tailer = lab.tailer();
    let mut got = BTreeMap::new();
    let a = lines("gone-trunc-a", 0..50);
    lab.append("app.log", a.clone());
    let mut f = OpenOptions::new()
        .append(true)
        .open(lab.log("app.log"))
        .unwrap();
    f.write_all(b"gone-trunc-b line 00000 of").unwrap();
    tail_rounds(&mut tailer, &mut got, 1);
    assert_exactly(&got, &a);

    // Out of the glob: gone at the next scan, before anything else happens.
    let away = lab.path("logs").join("moved-away");
    fs::rename(lab.log("app.log"), &away).unwrap();
    tailer.scan(&mut |_| {});
    // The line is finished, the file copied back into the glob and emptied.
    f.write_all(b" a test log\n").unwrap();
    fs::copy(&away, lab.log("app.log.1")).unwrap();
    f.set_len(0).unwrap();
    read_all(&mut tailer, &mut got);
    tail_rounds(&mut tailer, &mut got, 2);
    assert_exactly(&got, &[a, lines("gone-trunc-b", 0..1)].concat());
}

#[test]
fn a_file_rewritten_shorter_under_the_same_first_line_is_read_again() {
    // Emptied and written again while the agent was stopped, starting with
    // the same line (a fixed header): shorter than the checkpoint says was
    // delivered from it. Its new lines are read; the first line is repeated
    // rather than anything skipped or cut.
    let lab = Lab::new();
    let header = "#Fields: a fixed first line".to_string();
    let a = lines("before", 0..30);
    lab.append("app.log", std::iter::once(header.clone()).chain(a.clone()));
    lab.run_once("");
    fs::write(lab.log("app.log"), "").unwrap();
    let b = lines("after", 0..3);
    lab.append("app.log", std::iter::once(header.clone()).chain(b.clone()));
    lab.run_once("");
    let got = lab.received();
    assert_eq!(got.get(&header), Some(&2), "{got:?}");
    let mut rest = got.clone();
    rest.remove(&header);
    assert_exactly(&rest, &[a, b].concat());
}
