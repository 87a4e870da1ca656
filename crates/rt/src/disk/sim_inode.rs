//! The byte model of one simulated file: durable bytes, volatile dirty pages, and what a power cut
//! leaves behind. The fault model is described in `sim.rs`; this file only keeps the bytes.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::Rng;

/// One file's content. Offsets are `u64` in the API and `usize` in memory: a simulated file lives
/// in RAM, so its length always fits.
#[derive(Debug)]
pub(super) struct Inode {
    /// What the platter holds: the content after the last successful sync, and its length.
    durable: Vec<u8>,
    /// Page cache: full pages (`page_size` bytes) of visible content that differ from `durable`.
    /// Bytes of a page beyond `visible_len` are zero.
    dirty: BTreeMap<u64, Box<[u8]>>,
    /// The length readers see.
    visible_len: u64,
    /// After an unsynced truncation, durable bytes at and past this offset are hidden (read as
    /// zero) unless a dirty page covers them; `u64::MAX` when no truncation is pending.
    zero_from: u64,
    /// A sync failed: per Linux after "fsyncgate" the dirty state is unknown, so every later sync
    /// of this file fails too until the machine restarts.
    pub(super) failed: bool,
    /// Open handles of the current incarnation; an unlinked file lives while one is open.
    pub(super) handles: usize,
}

/// What a crash did to one file, for statistics and tests.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct CrashOutcome {
    pub pages_kept: u64,
    pub pages_lost: u64,
    pub torn: bool,
}

impl Inode {
    /// A new file of `len` zero bytes, none of it durable yet (its length is durable after sync).
    pub(super) fn new(len: u64) -> Self {
        Self {
            durable: Vec::new(),
            dirty: BTreeMap::new(),
            visible_len: len,
            zero_from: u64::MAX,
            failed: false,
            handles: 0,
        }
    }

    pub(super) fn len(&self) -> u64 {
        self.visible_len
    }

    /// Bytes that count against the disk's capacity: what it would hold if synced now.
    pub(super) fn used_bytes(&self) -> u64 {
        self.visible_len
    }

    /// The visible byte at `off` when no dirty page covers it.
    fn base_byte(&self, off: u64) -> u8 {
        if off < self.zero_from {
            usize::try_from(off).ok().and_then(|i| self.durable.get(i)).copied().unwrap_or(0)
        } else {
            0
        }
    }

    /// Copies `buf.len()` visible bytes at `offset`; the caller checked the range.
    pub(super) fn read(&self, page_size: u64, offset: u64, buf: &mut [u8]) {
        let mut pos = 0usize;
        while pos < buf.len() {
            let off = offset + pos as u64;
            let page = off / page_size;
            let in_page = (off % page_size) as usize;
            let n = (page_size as usize - in_page).min(buf.len() - pos);
            let dst = &mut buf[pos..pos + n];
            match self.dirty.get(&page) {
                Some(bytes) => dst.copy_from_slice(&bytes[in_page..in_page + n]),
                None => {
                    for (i, b) in dst.iter_mut().enumerate() {
                        *b = self.base_byte(off + i as u64);
                    }
                }
            }
            pos += n;
        }
    }

    /// Writes `data` at `offset` into the page cache, growing the visible length if needed.
    pub(super) fn write(&mut self, page_size: u64, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        if end > self.visible_len {
            self.visible_len = end;
        }
        let mut pos = 0usize;
        while pos < data.len() {
            let off = offset + pos as u64;
            let page = off / page_size;
            let in_page = (off % page_size) as usize;
            let n = (page_size as usize - in_page).min(data.len() - pos);
            self.dirty_page(page_size, page)[in_page..in_page + n]
                .copy_from_slice(&data[pos..pos + n]);
            pos += n;
        }
    }

    /// The dirty copy of `page`, made from the visible content on first write (read-modify-write,
    /// as the page cache does).
    fn dirty_page(&mut self, page_size: u64, page: u64) -> &mut Box<[u8]> {
        let bytes = match self.dirty.remove(&page) {
            Some(bytes) => bytes,
            None => {
                let start = page * page_size;
                let mut bytes = vec![0u8; page_size as usize].into_boxed_slice();
                for (i, b) in bytes.iter_mut().enumerate() {
                    let off = start + i as u64;
                    if off < self.visible_len {
                        *b = self.base_byte(off);
                    }
                }
                bytes
            }
        };
        self.dirty.entry(page).or_insert(bytes)
    }

    /// Truncates or extends the visible file. Truncated bytes read as zero if the file grows
    /// again; the durable copy still has them until the next sync.
    pub(super) fn set_len(&mut self, page_size: u64, len: u64) {
        if len < self.visible_len {
            let first_gone = len.div_ceil(page_size);
            self.dirty.retain(|&page, _| page < first_gone);
            if !len.is_multiple_of(page_size) {
                if let Some(bytes) = self.dirty.get_mut(&(len / page_size)) {
                    bytes[(len % page_size) as usize..].fill(0);
                }
            }
            self.zero_from = self.zero_from.min(len);
        }
        self.visible_len = len;
    }

    /// Makes the visible length (and any pending truncation) durable. Dirty pages stay dirty:
    /// below them `durable` keeps the old bytes, which is what a crash may fall back to.
    fn promote_len(&mut self) {
        let keep = usize::try_from(self.zero_from).unwrap_or(usize::MAX).min(self.durable.len());
        self.durable.truncate(keep);
        self.durable.resize(self.visible_len as usize, 0);
        self.zero_from = u64::MAX;
    }

    /// Copies one dirty page into the durable bytes, up to `limit` bytes of it.
    fn apply_page(&mut self, page_size: u64, page: u64, bytes: &[u8], limit: usize) {
        let start = (page * page_size) as usize;
        let end = (start + limit.min(bytes.len())).max(start);
        if self.durable.len() < end {
            self.durable.resize(end, 0);
        }
        self.durable[start..end].copy_from_slice(&bytes[..end - start]);
    }

    /// A successful sync of the pages overlapping `first_page..=last_page`, plus the length (the
    /// size is metadata needed to read the data back, which fdatasync and msync persist).
    pub(super) fn sync_pages(&mut self, page_size: u64, first_page: u64, last_page: u64) -> u64 {
        self.promote_len();
        let pages: Vec<u64> = self.dirty.range(first_page..=last_page).map(|(&p, _)| p).collect();
        let mut synced = 0u64;
        for page in pages {
            if let Some(bytes) = self.dirty.remove(&page) {
                let limit = self.visible_len.saturating_sub(page * page_size).min(page_size);
                self.apply_page(page_size, page, &bytes, limit as usize);
                synced += limit;
            }
        }
        synced
    }

    /// A power cut: each dirty page independently reached the platter or not (writeback order is
    /// arbitrary), and the last one that did may be torn at a sector boundary. The length is the
    /// durable length, grown to cover a written-back page past it (as a size update that rode
    /// along with that writeback). Pending truncations are forgotten.
    pub(super) fn crash(
        &mut self,
        page_size: u64,
        sector_size: u64,
        rng: &mut StdRng,
    ) -> CrashOutcome {
        let mut outcome = CrashOutcome::default();
        let keep_probability: f64 = rng.random();
        let dirty = std::mem::take(&mut self.dirty);
        let mut kept = Vec::new();
        for (page, bytes) in dirty {
            if rng.random_bool(keep_probability) {
                kept.push((page, bytes));
            } else {
                outcome.pages_lost += 1;
            }
        }
        let last = kept.len().checked_sub(1);
        for (i, (page, bytes)) in kept.iter().enumerate() {
            // Never write back more than was visible: bytes past the visible end were never
            // written, and a crash must not make them appear as file content.
            let mut limit = self.visible_len.saturating_sub(page * page_size).min(page_size);
            if Some(i) == last && rng.random_bool(0.5) {
                let sectors = page_size / sector_size;
                if sectors > 1 {
                    limit = limit.min(rng.random_range(1..sectors) * sector_size);
                    outcome.torn = true;
                }
            }
            if limit > 0 {
                self.apply_page(page_size, *page, bytes, limit as usize);
            }
            outcome.pages_kept += 1;
        }
        self.visible_len = self.durable.len() as u64;
        self.zero_from = u64::MAX;
        self.failed = false;
        self.handles = 0;
        outcome
    }

    /// True if some written byte is not durable yet.
    pub(super) fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
            || self.visible_len != self.durable.len() as u64
            || self.zero_from != u64::MAX
    }
}
