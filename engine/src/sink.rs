//! The bounded buffer of records produced during an interval.

use crate::batch::{Folder, Pushed};
use osect_wire::batch::{EncodeError, Stager, MAX_SECTIONS};
use osect_wire::Record;

/// Records waiting to be written or batched. When `capacity` is reached new
/// records are dropped and counted, never silently lost. A folding sink
/// (`run`'s batches) counts the rows of folded logs into one row per
/// distinct key as they come ([`crate::batch`]): a repeated operation
/// takes no room and is never dropped.
pub struct RecordSink {
    records: Vec<Record>,
    capacity: usize,
    dropped: u64,
    folder: Option<Folder>,
    /// Bytes the folded rows may take before they are written as a part
    /// ([`RecordSink::stage_folded_part`]).
    folded_bytes: usize,
    /// Records handed off in this interval ([`RecordSink::hand_off`]).
    handed: usize,
}

impl RecordSink {
    pub fn new(capacity: usize) -> Self {
        RecordSink {
            records: Vec::new(),
            capacity,
            dropped: 0,
            folder: None,
            folded_bytes: usize::MAX,
            handed: 0,
        }
    }

    /// A sink that folds the logs whose descriptor says so, its folded rows
    /// taking up to `folded_bytes` before they are written as a part.
    pub fn folding(capacity: usize, folded_bytes: usize) -> Self {
        RecordSink {
            folder: Some(Folder::default()),
            folded_bytes,
            ..RecordSink::new(capacity)
        }
    }

    pub fn push(&mut self, rec: Record) {
        let room = self.len() < self.capacity;
        let rec = match &mut self.folder {
            Some(f) => match f.push(rec, room) {
                Pushed::Pass(rec) => rec,
                Pushed::Counted | Pushed::New => return,
                Pushed::Dropped => {
                    self.dropped += 1;
                    return;
                }
            },
            None => rec,
        };
        if room {
            self.records.push(rec);
        } else {
            self.dropped += 1;
        }
    }

    /// Takes every buffered record, leaving the sink empty: the records
    /// that pass through in order, then the folded rows in order of first
    /// occurrence.
    pub fn take(&mut self) -> Vec<Record> {
        self.handed = 0;
        let mut out = std::mem::take(&mut self.records);
        if let Some(f) = &mut self.folder {
            f.take_into(&mut out);
        }
        out
    }

    /// Writes the folded rows into `st` (see [`Folder::stage_into`]) and
    /// forgets them: with the records before handed off, the interval's
    /// end without holding its rows as records. Returns the rows `st`
    /// refused and the first refusal.
    pub fn stage_folded(&mut self, st: &mut Stager) -> (u64, Option<EncodeError>) {
        match &mut self.folder {
            Some(f) => {
                self.handed += f.len();
                f.stage_into(st)
            }
            None => (0, None),
        }
    }

    /// Writes the folded rows into `st` as a part of the interval's batch
    /// when they take more than the sink's bytes ([`Folder::stage_part`]),
    /// so an interval's folding holds that much whatever its traffic; the
    /// rows written count as handed off. While the body has no room for a
    /// part's sections the rows stay. Returns what
    /// [`RecordSink::stage_folded`] does.
    pub fn stage_folded_part(&mut self, st: &mut Stager) -> (u64, Option<EncodeError>) {
        match &mut self.folder {
            Some(f)
                if f.bytes() > self.folded_bytes && st.sections() + f.forms() <= MAX_SECTIONS =>
            {
                self.handed += f.len();
                f.stage_part(st)
            }
            _ => (0, None),
        }
    }

    /// Hands every buffered record to `f` in order, keeping the buffer's
    /// capacity (the replay path drains after each packet, so records are
    /// freed soon after they are made and the allocator reuses them).
    /// Folded rows stay until [`RecordSink::take`].
    pub fn drain<E>(&mut self, mut f: impl FnMut(Record) -> Result<(), E>) -> Result<(), E> {
        // Most packets make no record.
        if self.records.is_empty() {
            return Ok(());
        }
        let mut recs = self.records.drain(..);
        recs.try_for_each(&mut f)
    }

    /// Hands the buffered records to `f` in order, as they come (a
    /// batch written as its rows come: `run`'s stager), so they do not
    /// wait here. They still count against `capacity` until
    /// [`RecordSink::take`] ends the interval: the interval holds the same
    /// rows, and drops the same ones, as when they waited. Folded rows stay.
    pub fn hand_off(&mut self, f: impl FnMut(Record)) {
        if self.records.is_empty() {
            return;
        }
        self.handed += self.records.len();
        self.records.drain(..).for_each(f);
    }

    pub fn len(&self) -> usize {
        self.records.len() + self.folder.as_ref().map_or(0, Folder::len) + self.handed
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records dropped because the sink was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
