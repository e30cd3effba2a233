//! The bounded buffer of records produced during an interval.

use osect_wire::Record;

/// Records waiting to be written or batched. When `capacity` is reached new
/// records are dropped and counted, never silently lost.
#[derive(Debug)]
pub struct RecordSink {
    records: Vec<Record>,
    capacity: usize,
    dropped: u64,
}

impl RecordSink {
    pub fn new(capacity: usize) -> Self {
        RecordSink {
            records: Vec::new(),
            capacity,
            dropped: 0,
        }
    }

    pub fn push(&mut self, rec: Record) {
        if self.records.len() < self.capacity {
            self.records.push(rec);
        } else {
            self.dropped += 1;
        }
    }

    /// Takes every buffered record, leaving the sink empty.
    pub fn take(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }

    /// Hands every buffered record to `f` in order, keeping the buffer's
    /// capacity (the replay path drains after each packet, so records are
    /// freed soon after they are made and the allocator reuses them).
    pub fn drain<E>(&mut self, mut f: impl FnMut(Record) -> Result<(), E>) -> Result<(), E> {
        // Most packets make no record.
        if self.records.is_empty() {
            return Ok(());
        }
        let mut recs = self.records.drain(..);
        recs.try_for_each(&mut f)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records dropped because the sink was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
