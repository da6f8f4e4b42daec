//! Acknowledgements: when may a source checkpoint past its input?
//!
//! Every batch a source emits is registered in its [`Ledger`] with the file
//! positions that become safe once the batch is delivered (for a stateful
//! parser, a position before any line it still holds). The batch travels with
//! an [`AckHandle`]; each sink clone of the batch holds a clone of the
//! handle. When the last clone is dropped the batch is settled: delivered,
//! unless a holder called [`AckHandle::fail`]. The ledger applies the
//! positions of settled batches strictly in order, and stops at the first
//! failed or unsettled one: a checkpoint never passes an event that a sink
//! has not accepted.
//!
//! A failed batch (a sink gave up during shutdown) pins the ledger for the
//! rest of the run, so the restart re-reads from the last good position:
//! at-least-once, never lost.
//!
//! An optional [`OnAdvance`] hook sees the delivered positions each time
//! they move, on the thread that settled the batch and before that thread
//! goes on (a sink sends its next request only afterwards). The file source
//! writes its checkpoint there, so a crash repeats at most what was in
//! flight. [`settle_all`] settles many batches with one hook call per
//! ledger (a sink that acknowledges a group of batches at once).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Identity of a file: the fingerprint of its first line.
pub type FileKey = u64;

/// A position that becomes safe to checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafePoint {
    /// The file.
    pub file: FileKey,
    /// Byte offset: everything before it is delivered.
    pub offset: u64,
    /// Framing context at `offset` (JSON sources), stored with it.
    pub state: u8,
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    settled: bool,
    failed: bool,
    points: Vec<SafePoint>,
}

/// Called with the delivered positions (and the generation) whenever they
/// advance; runs under the ledger's lock, so calls never overlap or reorder.
pub type OnAdvance = Box<dyn Fn(u64, &HashMap<FileKey, (u64, u8)>) + Send + Sync>;

#[derive(Default)]
struct LedgerState {
    next_seq: u64,
    pending: VecDeque<Pending>,
    /// Delivered position (offset, framing state) per file.
    acked: HashMap<FileKey, (u64, u8)>,
    /// A batch failed: stop advancing.
    pinned: bool,
    /// Bumped whenever `acked` changes, so the writer knows to persist.
    generation: u64,
    on_advance: Option<OnAdvance>,
}

impl std::fmt::Debug for LedgerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerState")
            .field("next_seq", &self.next_seq)
            .field("pending", &self.pending.len())
            .field("acked", &self.acked)
            .field("pinned", &self.pinned)
            .field("generation", &self.generation)
            .finish()
    }
}

/// Per-source record of batches in flight and of delivered positions.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    state: Arc<Mutex<LedgerState>>,
}

impl Ledger {
    /// A ledger that starts from the delivered offsets of the last run.
    pub fn new(initial: impl IntoIterator<Item = (FileKey, (u64, u8))>) -> Self {
        let state = LedgerState {
            acked: initial.into_iter().collect(),
            ..Default::default()
        };
        Ledger {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Like [`Ledger::new`], calling `hook` whenever delivered positions
    /// advance.
    pub fn with_hook(
        initial: impl IntoIterator<Item = (FileKey, (u64, u8))>,
        hook: OnAdvance,
    ) -> Self {
        let l = Ledger::new(initial);
        l.lock().on_advance = Some(hook);
        l
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        // A panic while holding this lock cannot leave it inconsistent (every
        // update is a single push, flag set or pop loop), so poisoning is
        // ignored rather than spreading the panic to every source.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Register a batch whose delivery makes `points` safe, and return the
    /// handle that settles it when dropped.
    pub fn register(&self, points: Vec<SafePoint>) -> AckHandle {
        let mut st = self.lock();
        let seq = st.next_seq;
        st.next_seq += 1;
        st.pending.push_back(Pending {
            seq,
            settled: false,
            failed: false,
            points,
        });
        AckHandle {
            inner: Arc::new(AckInner {
                ledger: self.clone(),
                seq,
                failed: AtomicBool::new(false),
            }),
        }
    }

    fn settle(&self, seq: u64, failed: bool) {
        let mut st = self.lock();
        let front = match st.pending.front() {
            Some(p) => p.seq,
            None => return,
        };
        let Some(idx) = seq.checked_sub(front).map(|i| i as usize) else {
            return;
        };
        if let Some(p) = st.pending.get_mut(idx) {
            p.settled = true;
            p.failed = failed;
        }
        let before = st.generation;
        st.advance();
        if st.generation != before && st.on_advance.is_some() && !self.defer_hook() {
            st.notify();
        }
    }

    /// Inside [`settle_all`]: note that this ledger's hook is owed a call
    /// and return true.
    fn defer_hook(&self) -> bool {
        DEFERRED.with(|d| match &mut *d.borrow_mut() {
            Some(owed) => {
                if !owed.iter().any(|l| Arc::ptr_eq(&l.state, &self.state)) {
                    owed.push(self.clone());
                }
                true
            }
            None => false,
        })
    }

    /// Delivered offsets per file, and a generation number that changes
    /// whenever they do.
    pub fn snapshot(&self) -> (u64, HashMap<FileKey, (u64, u8)>) {
        let st = self.lock();
        (st.generation, st.acked.clone())
    }

    /// Delivered offset of one file.
    pub fn acked(&self, file: FileKey) -> Option<u64> {
        self.lock().acked.get(&file).map(|&(offset, _)| offset)
    }

    /// Batches registered but not yet settled.
    pub fn in_flight(&self) -> usize {
        self.lock().pending.iter().filter(|p| !p.settled).count()
    }

    /// True once a batch has failed (checkpoints no longer advance).
    pub fn is_pinned(&self) -> bool {
        self.lock().pinned
    }

    /// Forget a file (it was deleted and fully read).
    pub fn forget(&self, file: FileKey) {
        let mut st = self.lock();
        if st.acked.remove(&file).is_some() {
            st.generation += 1;
        }
    }
}

impl LedgerState {
    /// Tell the hook, if there is one, where the ledger is.
    fn notify(&self) {
        if let Some(hook) = &self.on_advance {
            hook(self.generation, &self.acked);
        }
    }

    fn advance(&mut self) {
        while !self.pinned {
            match self.pending.front() {
                Some(p) if p.settled => {}
                _ => break,
            }
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            if p.failed {
                self.pinned = true;
                break;
            }
            for pt in p.points {
                self.acked.insert(pt.file, (pt.offset, pt.state));
                self.generation += 1;
            }
        }
    }
}

thread_local! {
    /// While [`settle_all`] runs on this thread: the ledgers that advanced
    /// and whose hook has not seen it yet.
    static DEFERRED: RefCell<Option<Vec<Ledger>>> = const { RefCell::new(None) };
}

/// Drop every handle in `acks` (settling their batches as dropping one
/// does), then call each advanced ledger's hook once with where it got to,
/// instead of once per batch.
pub fn settle_all(acks: impl IntoIterator<Item = AckHandle>) {
    let outer = DEFERRED.with(|d| d.borrow_mut().replace(Vec::new()));
    for a in acks {
        drop(a);
    }
    let owed = DEFERRED.with(|d| std::mem::replace(&mut *d.borrow_mut(), outer));
    for l in owed.unwrap_or_default() {
        l.lock().notify();
    }
}

#[derive(Debug)]
struct AckInner {
    ledger: Ledger,
    seq: u64,
    failed: AtomicBool,
}

impl Drop for AckInner {
    fn drop(&mut self) {
        self.ledger
            .settle(self.seq, self.failed.load(Ordering::Acquire));
    }
}

/// Settles its batch when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct AckHandle {
    inner: Arc<AckInner>,
}

impl AckHandle {
    /// The batch could not be delivered: the checkpoint must not pass it.
    pub fn fail(&self) {
        self.inner.failed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(file: FileKey, offset: u64) -> Vec<SafePoint> {
        vec![SafePoint {
            file,
            offset,
            state: 0,
        }]
    }

    #[test]
    fn advances_only_in_order() {
        let l = Ledger::new([]);
        let a = l.register(pt(1, 10));
        let b = l.register(pt(1, 20));
        let b2 = b.clone();
        drop(b);
        drop(b2);
        assert_eq!(l.acked(1), None, "b settled before a must not advance");
        drop(a);
        assert_eq!(l.acked(1), Some(20));
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn every_clone_must_drop() {
        let l = Ledger::new([(7, (5, 0))]);
        let a = l.register(pt(7, 50));
        let sink1 = a.clone();
        drop(a);
        assert_eq!(l.acked(7), Some(5));
        drop(sink1);
        assert_eq!(l.acked(7), Some(50));
    }

    #[test]
    fn failure_pins_the_checkpoint() {
        let l = Ledger::new([]);
        let a = l.register(pt(1, 10));
        let b = l.register(pt(1, 20));
        let c = l.register(pt(1, 30));
        drop(a);
        b.fail();
        drop(b);
        drop(c);
        assert_eq!(l.acked(1), Some(10));
        assert!(l.is_pinned());
    }

    /// A ledger whose hook records the offset file 1 has reached at each
    /// call.
    fn recording_file_1() -> (Ledger, Arc<Mutex<Vec<u64>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let l = Ledger::with_hook(
            [],
            Box::new(move |_, acked| s2.lock().unwrap().push(acked[&1].0)),
        );
        (l, seen)
    }

    #[test]
    fn settle_all_calls_each_hook_once() {
        let (l, seen) = recording_file_1();
        let other = Ledger::new([]);
        let first = l.register(pt(1, 5));
        drop(first);
        let group = vec![
            l.register(pt(1, 10)),
            other.register(pt(2, 1)),
            l.register(pt(1, 20)),
            l.register(pt(1, 30)),
        ];
        let held = l.register(pt(1, 40));
        settle_all(group);
        assert_eq!(*seen.lock().unwrap(), vec![5, 30]);
        assert_eq!(other.acked(2), Some(1));
        // Outside settle_all every advance is seen again.
        drop(held);
        assert_eq!(*seen.lock().unwrap(), vec![5, 30, 40]);
        // A group that advances nothing calls nothing.
        let stuck = l.register(pt(1, 50));
        settle_all(vec![l.register(pt(1, 60))]);
        assert_eq!(seen.lock().unwrap().len(), 3);
        drop(stuck);
        assert_eq!(*seen.lock().unwrap(), vec![5, 30, 40, 60]);
    }

    #[test]
    fn the_hook_sees_each_advance_in_order() {
        let (l, seen) = recording_file_1();
        let a = l.register(pt(1, 10));
        let b = l.register(pt(1, 20));
        let c = l.register(pt(1, 30));
        drop(b);
        assert!(seen.lock().unwrap().is_empty());
        drop(a);
        drop(c);
        assert_eq!(*seen.lock().unwrap(), vec![20, 30]);
    }

    #[test]
    fn empty_batches_settle_immediately() {
        let l = Ledger::new([]);
        drop(l.register(pt(3, 100)));
        assert_eq!(l.acked(3), Some(100));
    }
}
