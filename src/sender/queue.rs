//! The bounded per-host send queue of collected data (`buffer size bytes`).
//!
//! Owns: the complete collections (`BEGIN … END` blocks) waiting to go upstream, in
//! arrival order, and the count of what had to be dropped. Invariants: the queue holds
//! whole blocks only (a block is never split or partly dropped, so the parent never sees
//! a `SET` without its `BEGIN`); after every [`SendQueue::push`] the queued bytes are at
//! most the limit; when room is needed the **oldest** blocks go first, so the queue is
//! always the newest suffix of what was pushed (minus what was popped); every dropped
//! block and byte is counted. A single block larger than the limit raises the limit to
//! 3 × (block size + 1), as Netdata 1.37 does for a message that does not fit.
//!
//! Chart definitions and host metadata are not queued: the sender generates them from
//! the host model when it needs them, so dropping data never loses a definition.
//! Pure: no I/O, no clock (block times are given by the caller).

use std::collections::VecDeque;

/// One complete collection of one chart: the `BEGIN` line, its `SET` / `VARIABLE` lines
/// and `END`, each ending with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub data: Vec<u8>,
    /// When it was collected (µs since the epoch).
    pub at_us: i64,
}

/// Blocks and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub blocks: u64,
    pub bytes: u64,
}

impl Count {
    fn add(&mut self, bytes: usize) {
        self.blocks += 1;
        self.bytes += bytes as u64;
    }

    fn add_count(&mut self, c: Count) {
        self.blocks += c.blocks;
        self.bytes += c.bytes;
    }
}

/// What a push did besides queueing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Oldest blocks dropped to make room.
    pub dropped: Count,
    /// The limit was raised to this many bytes to fit the block.
    pub raised_limit: Option<usize>,
}

/// The queue of one host's sender.
#[derive(Debug)]
pub struct SendQueue {
    blocks: VecDeque<Block>,
    bytes: usize,
    limit: usize,
    /// Everything dropped (overflow and discards) since the queue was made.
    dropped_total: Count,
    /// Dropped since the last [`SendQueue::take_unreported`].
    unreported: Count,
}

impl SendQueue {
    /// An empty queue holding at most `limit` bytes (at least 1).
    pub fn new(limit: usize) -> SendQueue {
        SendQueue {
            blocks: VecDeque::new(),
            bytes: 0,
            limit: limit.max(1),
            dropped_total: Count::default(),
            unreported: Count::default(),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes queued.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Blocks queued.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Everything dropped so far.
    pub fn dropped_total(&self) -> Count {
        self.dropped_total
    }

    /// Drops counted since the last call (for rate-limited logging), then resets them.
    pub fn take_unreported(&mut self) -> Count {
        std::mem::take(&mut self.unreported)
    }

    fn count_dropped(&mut self, c: Count) {
        self.dropped_total.add_count(c);
        self.unreported.add_count(c);
    }

    /// Queues a block, dropping the oldest blocks while it would not fit.
    pub fn push(&mut self, block: Block) -> Pushed {
        let mut out = Pushed::default();
        let len = block.data.len();
        if len > self.limit {
            self.limit = len.saturating_add(1).saturating_mul(3);
            out.raised_limit = Some(self.limit);
        }
        while self.bytes + len > self.limit {
            let Some(old) = self.blocks.pop_front() else { break };
            self.bytes -= old.data.len();
            out.dropped.add(old.data.len());
        }
        self.count_dropped(out.dropped);
        self.bytes += len;
        self.blocks.push_back(block);
        out
    }

    /// The oldest block.
    pub fn pop(&mut self) -> Option<Block> {
        let b = self.blocks.pop_front()?;
        self.bytes -= b.data.len();
        Some(b)
    }

    /// Size of the oldest block.
    pub fn front_len(&self) -> Option<usize> {
        self.blocks.front().map(|b| b.data.len())
    }

    /// Counts blocks taken out with [`SendQueue::pop`] that could not be delivered.
    pub fn count_lost(&mut self, blocks: u64, bytes: usize) {
        self.count_dropped(Count { blocks, bytes: bytes as u64 });
    }

    /// Drops everything queued (counted); returns what was dropped.
    pub fn clear(&mut self) -> Count {
        let mut c = Count::default();
        for b in self.blocks.drain(..) {
            c.add(b.data.len());
        }
        self.bytes = 0;
        self.count_dropped(c);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block(n: usize, tag: u8) -> Block {
        Block { data: vec![tag; n], at_us: i64::from(tag) }
    }

    #[test]
    fn drops_oldest_whole_blocks() {
        let mut q = SendQueue::new(10);
        assert_eq!(q.push(block(4, 1)), Pushed::default());
        assert_eq!(q.push(block(4, 2)), Pushed::default());
        let p = q.push(block(4, 3));
        assert_eq!(p.dropped, Count { blocks: 1, bytes: 4 });
        assert_eq!((q.len(), q.bytes()), (2, 8));
        assert_eq!(q.pop().map(|b| b.at_us), Some(2));
        assert_eq!(q.front_len(), Some(4));
        let p = q.push(block(10, 4));
        assert_eq!(p.dropped, Count { blocks: 1, bytes: 4 });
        assert_eq!(q.dropped_total(), Count { blocks: 2, bytes: 8 });
        assert_eq!(q.take_unreported(), Count { blocks: 2, bytes: 8 });
        assert_eq!(q.take_unreported(), Count::default());
        q.count_lost(1, 3);
        assert_eq!(q.dropped_total(), Count { blocks: 3, bytes: 11 });
        assert_eq!(q.clear(), Count { blocks: 1, bytes: 10 });
        assert!(q.is_empty() && q.bytes() == 0 && q.pop().is_none());
        assert_eq!(q.dropped_total(), Count { blocks: 4, bytes: 21 });
    }

    #[test]
    fn a_block_bigger_than_the_limit_raises_it() {
        let mut q = SendQueue::new(10);
        q.push(block(5, 1));
        let p = q.push(block(11, 2));
        assert_eq!(p.raised_limit, Some(36));
        assert_eq!(p.dropped, Count::default());
        assert_eq!((q.len(), q.limit()), (2, 36));
    }

    proptest! {
        /// The queue is always the newest suffix of the pushed-and-not-popped blocks, within
        /// the limit, and nothing is lost without being counted.
        #[test]
        fn model(limit in 1usize..200, ops in proptest::collection::vec((any::<bool>(), 1usize..60), 0..200)) {
            let mut q = SendQueue::new(limit);
            let mut model: VecDeque<(usize, i64)> = VecDeque::new();
            let (mut pushed, mut popped, mut seq) = (0u64, 0u64, 0i64);
            for (is_push, n) in ops {
                if is_push {
                    seq += 1;
                    let p = q.push(Block { data: vec![0; n], at_us: seq });
                    pushed += n as u64;
                    model.push_back((n, seq));
                    while model.iter().map(|m| m.0).sum::<usize>() > q.limit() {
                        model.pop_front();
                    }
                    prop_assert!(p.raised_limit.is_none() || n > limit);
                } else if let Some(b) = q.pop() {
                    popped += b.data.len() as u64;
                    let m = model.pop_front().unwrap();
                    prop_assert_eq!((b.data.len(), b.at_us), m);
                }
                prop_assert!(q.bytes() <= q.limit());
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.bytes(), model.iter().map(|m| m.0).sum::<usize>());
                prop_assert_eq!(pushed, popped + q.bytes() as u64 + q.dropped_total().bytes);
            }
        }
    }
}
