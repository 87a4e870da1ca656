//! The byte model of one simulated file: durable bytes, volatile dirty pages, and what a power cut
//! leaves behind. The fault model is described in `sim.rs`; this file only keeps the bytes.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::Rng;

/// One file's content, kept sparsely in pages so a large, mostly empty segment costs only the
/// pages written to it.
#[derive(Debug)]
pub(super) struct Inode {
    /// What the platter holds: pages of the content after the last successful sync (a missing
    /// page is zeros; bytes at and past `durable_len` are zero), and the durable length.
    durable: BTreeMap<u64, Box<[u8]>>,
    durable_len: u64,
    /// Page cache: full pages of visible content that may differ from `durable`. Bytes of a page
    /// beyond `visible_len` are zero.
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
    pub garbled: bool,
}

fn zero_page(page_size: u64) -> Box<[u8]> {
    vec![0u8; page_size as usize].into_boxed_slice()
}

impl Inode {
    /// A new file of `len` zero bytes, none of it durable yet (its length is durable after sync).
    pub(super) fn new(len: u64) -> Self {
        Self {
            durable: BTreeMap::new(),
            durable_len: 0,
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

    /// Fills `dst` with the visible bytes at `in_page` of `page` where no dirty page covers them.
    fn base_into(&self, page_size: u64, page: u64, in_page: usize, dst: &mut [u8]) {
        let start = page * page_size + in_page as u64;
        let limit = self.zero_from.min(self.durable_len).min(self.visible_len);
        let valid = (limit.saturating_sub(start) as usize).min(dst.len());
        match self.durable.get(&page) {
            Some(bytes) => dst[..valid].copy_from_slice(&bytes[in_page..in_page + valid]),
            None => dst[..valid].fill(0),
        }
        dst[valid..].fill(0);
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
                None => self.base_into(page_size, page, in_page, dst),
            }
            pos += n;
        }
    }

    /// Writes `data` at `offset` into the page cache, growing the visible length if needed.
    pub(super) fn write(&mut self, page_size: u64, offset: u64, data: &[u8]) {
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
        self.visible_len = self.visible_len.max(offset + data.len() as u64);
    }

    /// The dirty copy of `page`, made from the visible content on first write (read-modify-write,
    /// as the page cache does).
    fn dirty_page(&mut self, page_size: u64, page: u64) -> &mut Box<[u8]> {
        let bytes = match self.dirty.remove(&page) {
            Some(bytes) => bytes,
            None => {
                let mut bytes = zero_page(page_size);
                self.base_into(page_size, page, 0, &mut bytes);
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
    fn promote_len(&mut self, page_size: u64) {
        let cut = self.zero_from.min(self.durable_len).min(self.visible_len);
        let first_gone = cut.div_ceil(page_size);
        self.durable.retain(|&page, _| page < first_gone);
        if !cut.is_multiple_of(page_size) {
            if let Some(bytes) = self.durable.get_mut(&(cut / page_size)) {
                bytes[(cut % page_size) as usize..].fill(0);
            }
        }
        self.durable_len = self.visible_len;
        self.zero_from = u64::MAX;
    }

    /// Copies the first `limit` bytes of a dirty page into the durable pages, growing the durable
    /// length to cover them.
    fn apply_page(&mut self, page_size: u64, page: u64, bytes: &[u8], limit: usize) {
        let limit = limit.min(bytes.len());
        if limit == 0 {
            return;
        }
        let target = self.durable.entry(page).or_insert_with(|| zero_page(page_size));
        target[..limit].copy_from_slice(&bytes[..limit]);
        self.durable_len = self.durable_len.max(page * page_size + limit as u64);
    }

    /// Bytes of `page` that lie inside the visible file.
    fn visible_in(&self, page_size: u64, page: u64) -> u64 {
        self.visible_len.saturating_sub(page * page_size).min(page_size)
    }

    /// A successful sync of the pages in `first_page..=last_page`, plus the length (the size is
    /// metadata needed to read the data back, which fsync, fdatasync and msync persist). Returns
    /// the bytes that became durable.
    pub(super) fn sync_pages(&mut self, page_size: u64, first_page: u64, last_page: u64) -> u64 {
        self.promote_len(page_size);
        let pages: Vec<u64> = self.dirty.range(first_page..=last_page).map(|(&p, _)| p).collect();
        let mut synced = 0u64;
        for page in pages {
            if let Some(bytes) = self.dirty.remove(&page) {
                let limit = self.visible_in(page_size, page);
                self.apply_page(page_size, page, &bytes, limit as usize);
                synced += limit;
            }
        }
        synced
    }

    /// A power cut: each dirty page independently reached the platter or not (writeback order is
    /// arbitrary), and the last one that did may be damaged: torn at a sector boundary, or, with
    /// probability `garble_probability`, written whole but with a run of garbage in it (see
    /// [`Inode::garble`]). The length is the durable length, grown to cover a written-back page
    /// past it (as a size update that rode along with that writeback). Pending truncations are
    /// forgotten.
    pub(super) fn crash(
        &mut self,
        page_size: u64,
        sector_size: u64,
        garble_probability: f64,
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
        for (i, (page, mut bytes)) in kept.into_iter().enumerate() {
            // Never write back more than was visible: bytes past the visible end were never
            // written, and a crash must not make them appear as file content.
            let mut limit = self.visible_in(page_size, page);
            if Some(i) == last && rng.random_bool(0.5) {
                // Draws nothing when the knob is off, so seeds without it replay as before.
                if garble_probability > 0.0 && rng.random_bool(garble_probability.min(1.0)) {
                    outcome.garbled |= self.garble(page, &mut bytes, limit, sector_size, rng);
                } else {
                    let sectors = page_size / sector_size;
                    if sectors > 1 {
                        limit = limit.min(rng.random_range(1..sectors) * sector_size);
                        outcome.torn = true;
                    }
                }
            }
            self.apply_page(page_size, page, &bytes, limit as usize);
            outcome.pages_kept += 1;
        }
        self.visible_len = self.durable_len;
        self.zero_from = u64::MAX;
        self.failed = false;
        self.handles = 0;
        outcome
    }

    /// A write the drive garbled in flight: a run of 1 to `sector_size` random bytes somewhere in
    /// the part of the page this writeback changes (from the first to the last byte of the first
    /// `limit` that differ from the durable copy). Bytes outside that span keep their new values,
    /// so a record's header and tail may be intact around a damaged body: only a checksum can
    /// tell. Bytes a sync already made durable and the write leaves unchanged are never garbled:
    /// the model does not cover media that lose synced data. Returns whether anything changed.
    fn garble(
        &self,
        page: u64,
        bytes: &mut [u8],
        limit: u64,
        sector_size: u64,
        rng: &mut StdRng,
    ) -> bool {
        let limit = (limit as usize).min(bytes.len());
        let old = self.durable.get(&page);
        let old_at = |i: usize| old.map_or(0, |o| o[i]);
        let changed = |i: &usize| bytes[*i] != old_at(*i);
        let Some(first) = (0..limit).find(changed) else { return false };
        let Some(last) = (0..limit).rev().find(changed) else { return false };
        let start = rng.random_range(first..=last);
        let len = rng.random_range(1..=sector_size as usize).min(last + 1 - start);
        rng.fill(&mut bytes[start..start + len]);
        true
    }

    /// True if some written byte is not durable yet.
    pub(super) fn is_dirty(&self) -> bool {
        !self.dirty.is_empty() || self.visible_len != self.durable_len || self.zero_from != u64::MAX
    }
}
