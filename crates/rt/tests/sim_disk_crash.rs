//! The crash model and the injected faults of `SimDisk`, outside the simulator.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use rt::disk::{read_file, write_file_atomic, Disk, OpenMode, SimDisk, SimDiskConfig};

fn p(s: &str) -> &Path {
    Path::new(s)
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1).collect()
}

#[test]
fn synced_data_and_names_survive_a_crash() {
    for seed in 0..64 {
        let disk = SimDisk::new(SimDiskConfig::with_seed(seed));
        disk.create_dir_all(p("store/commitlog")).unwrap();
        let seg = disk.open_segment(p("store/commitlog/0"), 64 * 1024).unwrap();
        let synced = pattern(1, 20_000);
        seg.write_at(0, &synced).unwrap();
        seg.sync().unwrap();
        disk.sync_dir(p("store/commitlog")).unwrap();
        disk.sync_dir(p("store")).unwrap();
        disk.sync_dir(p("")).unwrap();
        // Unsynced writes after the synced region may or may not survive.
        seg.write_at(20_000, &pattern(2, 30_000)).unwrap();
        disk.crash();
        assert!(!disk.has_unsynced());
        let seg = disk.open_segment(p("store/commitlog/0"), 64 * 1024).unwrap();
        assert_eq!(seg.len(), 64 * 1024, "seed {seed}");
        assert_eq!(&seg.read_at(0, synced.len()).unwrap()[..], &synced[..], "seed {seed}");
    }
}

#[test]
fn sync_range_makes_only_its_pages_durable() {
    let cfg = SimDiskConfig { journal_commit_probability: 0.0, ..SimDiskConfig::with_seed(3) };
    let mut lost_some = false;
    for seed in 0..32 {
        let disk = SimDisk::new(SimDiskConfig { seed, ..cfg.clone() });
        let seg = disk.open_segment(p("seg"), 16 * 4096).unwrap();
        seg.sync().unwrap();
        disk.sync_dir(p("")).unwrap();
        seg.write_at(0, &[9u8; 16 * 4096]).unwrap();
        seg.sync_range(4096, 4096 * 2).unwrap(); // pages 1 and 2
        disk.crash();
        let seg = disk.open_segment(p("seg"), 16 * 4096).unwrap();
        let all = seg.read_at(0, 16 * 4096).unwrap();
        assert!(all[4096..3 * 4096].iter().all(|&b| b == 9), "seed {seed}");
        lost_some |= all.contains(&0);
    }
    assert!(lost_some, "some unsynced page must be lost for some seed");
}

#[test]
fn a_file_created_without_sync_dir_may_vanish() {
    let (mut vanished, mut stayed) = (0, 0);
    for seed in 0..64 {
        let disk = SimDisk::new(SimDiskConfig::with_seed(seed));
        let f = disk.open(p("fresh"), OpenMode::CreateIfMissing).unwrap();
        f.write_at(0, b"data").unwrap();
        f.sync().unwrap(); // the data is durable, the name is not
        disk.crash();
        if disk.exists(p("fresh")).unwrap() {
            stayed += 1;
            let f = disk.open(p("fresh"), OpenMode::Existing).unwrap();
            assert_eq!(&f.read_at(0, 4).unwrap()[..], b"data");
        } else {
            vanished += 1;
        }
    }
    assert!(vanished > 0, "an unsynced creation must vanish for some seed");
    assert!(stayed > 0, "a committed journal keeps it for some seed");
}

#[test]
fn never_synced_metadata_always_vanishes_without_a_journal_commit() {
    let cfg = SimDiskConfig { journal_commit_probability: 0.0, ..SimDiskConfig::default() };
    let disk = SimDisk::new(cfg);
    write_file_atomic(&disk, p("kept"), b"v1").unwrap();
    disk.remove(p("kept")).unwrap();
    disk.create_dir_all(p("a/b")).unwrap();
    disk.sync_dir(p("a")).unwrap(); // `b` is durable in `a`, but `a` is not durable in the root
    disk.open(p("a/b/f"), OpenMode::CreateIfMissing).unwrap();
    disk.sync_dir(p("a/b")).unwrap();
    disk.crash();
    assert!(!disk.exists(p("a")).unwrap(), "a folder never made durable takes its subtree");
    assert!(!disk.exists(p("a/b/f")).unwrap());
    assert_eq!(&read_file(&disk, p("kept")).unwrap().unwrap()[..], b"v1", "removal reverts");
}

#[test]
fn write_file_atomic_is_old_or_new_at_every_crash_point() {
    for seed in 0..32 {
        for crash_after in 0..5 {
            let disk = SimDisk::new(SimDiskConfig::with_seed(seed));
            write_file_atomic(&disk, p("offsets.json"), b"old").unwrap();
            // The steps of write_file_atomic, with a power cut after `crash_after` of them.
            let tmp = disk.open(p("offsets.json.tmp"), OpenMode::CreateIfMissing).unwrap();
            let steps: [&dyn Fn(); 4] = [
                &|| tmp.set_len(0).unwrap(),
                &|| tmp.write_at(0, b"new content").unwrap(),
                &|| tmp.sync().unwrap(),
                &|| disk.rename(p("offsets.json.tmp"), p("offsets.json")).unwrap(),
            ];
            for step in steps.iter().take(crash_after) {
                step();
            }
            disk.crash();
            let got = read_file(&disk, p("offsets.json")).unwrap().unwrap();
            assert!(
                &got[..] == b"old" || &got[..] == b"new content",
                "seed {seed} crash after {crash_after}: {got:?}"
            );
        }
    }
}

/// Every value each byte of a file has held since its last durable state, plus zero.
struct ByteHistory {
    values: Vec<BTreeSet<u8>>,
}

impl ByteHistory {
    fn new(durable: &[u8]) -> Self {
        Self { values: durable.iter().map(|&b| BTreeSet::from([b, 0])).collect() }
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        if self.values.len() < offset + data.len() {
            self.values.resize(offset + data.len(), BTreeSet::from([0]));
        }
        for (i, &b) in data.iter().enumerate() {
            self.values[offset + i].insert(b);
        }
    }
}

#[test]
fn a_crash_shows_only_bytes_that_were_written_and_tears_at_sectors() {
    let mut torn = 0;
    for seed in 0..64u64 {
        let disk = SimDisk::new(SimDiskConfig::with_seed(seed));
        let f = disk.open(p("log"), OpenMode::CreateIfMissing).unwrap();
        let base = pattern(seed as u8, 10_000);
        f.write_at(0, &base).unwrap();
        f.sync().unwrap();
        disk.sync_dir(p("")).unwrap();
        let mut history = ByteHistory::new(&base);
        for (i, off) in [100usize, 5_000, 9_000, 12_345, 3_000].into_iter().enumerate() {
            let data = vec![0xA0 + i as u8; 2_500];
            f.write_at(off as u64, &data).unwrap();
            history.write(off, &data);
        }
        disk.crash();
        torn += disk.stats().pages_torn;
        let f = disk.open(p("log"), OpenMode::Existing).unwrap();
        let len = f.len() as usize;
        assert!(len >= base.len() && len <= history.values.len(), "seed {seed}: len {len}");
        let got = f.read_at(0, len).unwrap();
        for (i, b) in got.iter().enumerate() {
            assert!(history.values[i].contains(b), "seed {seed}: byte {i} = {b:#x} never written");
        }
        // A tear falls on a sector boundary: this sector was last written whole by one write,
        // so it is either all that write's value or all the old durable bytes.
        let sector = &got[4_608..5_120];
        assert!(sector.iter().all(|&b| b == sector[0]) || sector == &base[4_608..5_120]);
    }
    assert!(torn > 0, "some seed must tear a page");
}

#[test]
fn a_garbled_crash_damages_only_unsynced_bytes_and_at_most_one_sector_run() {
    let mut garbled = 0;
    for seed in 0..64u64 {
        let cfg = SimDiskConfig { garble_probability: 1.0, ..SimDiskConfig::with_seed(seed) };
        let disk = SimDisk::new(cfg);
        let f = disk.open(p("log"), OpenMode::CreateIfMissing).unwrap();
        // An appending log: 6,000 synced bytes, then 3,000 more that are not synced.
        let synced = vec![0x11u8; 6_000];
        f.write_at(0, &synced).unwrap();
        f.sync().unwrap();
        disk.sync_dir(p("")).unwrap();
        let fresh = vec![0x22u8; 3_000];
        f.write_at(6_000, &fresh).unwrap();
        disk.crash();
        let stats = disk.stats();
        garbled += stats.pages_garbled;
        let f = disk.open(p("log"), OpenMode::Existing).unwrap();
        let got = f.read_at(0, f.len() as usize).unwrap();
        assert_eq!(&got[..6_000], &synced[..], "seed {seed}: synced bytes are never garbled");
        let foreign = got[6_000..].iter().filter(|&&b| b != 0x22 && b != 0).count();
        if stats.pages_garbled == 0 {
            assert_eq!(foreign, 0, "seed {seed}: garbage without a garbled page");
        } else {
            assert!(foreign <= 512, "seed {seed}: {foreign} garbage bytes, more than a sector");
            // Garbling keeps the rest of the page's new bytes: the write happened, mangled.
            assert_eq!(stats.pages_torn, 0, "seed {seed}: a page is garbled or torn, not both");
        }
    }
    assert!(garbled > 0, "some seed must garble a page");
}

#[test]
fn handles_from_before_a_crash_are_dead() {
    let disk = SimDisk::default();
    let f = disk.open(p("f"), OpenMode::CreateIfMissing).unwrap();
    f.write_at(0, b"abc").unwrap();
    f.sync().unwrap();
    disk.sync_dir(p("")).unwrap();
    disk.crash();
    assert!(f.read_at(0, 3).is_err());
    assert!(f.write_at(0, b"x").is_err());
    assert!(f.sync().is_err());
    assert_eq!(f.len(), 0);
    let g = disk.open(p("f"), OpenMode::Existing).unwrap();
    assert_eq!(&g.read_at(0, 3).unwrap()[..], b"abc");
}

#[test]
fn a_failed_fsync_poisons_the_file_until_a_crash() {
    let cfg = SimDiskConfig { sync_error_probability: 1.0, ..SimDiskConfig::default() };
    let disk = SimDisk::new(cfg);
    let f = disk.open(p("f"), OpenMode::CreateIfMissing).unwrap();
    f.write_at(0, b"unsafe").unwrap();
    let err = f.sync().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5));
    // Healing the device does not heal the file: its dirty state is unknown.
    disk.set_faults(&SimDiskConfig::default());
    assert!(f.sync().is_err());
    assert!(f.sync_range(0, 6).is_err());
    assert_eq!(disk.stats().syncs, 0);
    // Another file syncs fine.
    let g = disk.open(p("g"), OpenMode::CreateIfMissing).unwrap();
    g.write_at(0, b"ok").unwrap();
    g.sync().unwrap();
    disk.sync_dir(p("")).unwrap();
    disk.crash();
    let f = disk.open(p("f"), OpenMode::Existing).unwrap();
    f.sync().unwrap();
}

#[test]
fn enospc_at_capacity() {
    let cfg = SimDiskConfig { capacity_bytes: Some(10_000), ..SimDiskConfig::default() };
    let disk = SimDisk::new(cfg);
    let f = disk.open(p("f"), OpenMode::CreateIfMissing).unwrap();
    f.write_at(0, &[1u8; 8_000]).unwrap();
    let err = f.write_at(8_000, &[1u8; 4_000]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(28));
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert_eq!(f.len(), 8_000, "a refused write changes nothing");
    // Overwriting in place needs no space.
    f.write_at(0, &[2u8; 8_000]).unwrap();
    assert_eq!(disk.open_segment(p("seg"), 4_096).unwrap_err().raw_os_error(), Some(28));
    assert_eq!(disk.space().unwrap().available_bytes, 2_000);
    disk.remove(p("f")).unwrap();
    drop(f);
    disk.open_segment(p("seg"), 4_096).unwrap();
    assert_eq!(disk.stats().no_space_errors, 2);
}

#[test]
fn write_eio_writes_nothing() {
    let cfg = SimDiskConfig { write_error_probability: 1.0, ..SimDiskConfig::default() };
    let disk = SimDisk::new(cfg);
    let f = disk.open(p("f"), OpenMode::CreateIfMissing).unwrap();
    assert_eq!(f.write_at(0, b"x").unwrap_err().raw_os_error(), Some(5));
    assert_eq!(f.len(), 0);
    assert_eq!(disk.stats().write_errors, 1);
}

#[test]
fn bit_flips_change_only_the_returned_copy() {
    let cfg = SimDiskConfig { read_bit_flip_probability: 1.0, ..SimDiskConfig::default() };
    let disk = SimDisk::new(cfg);
    let f = disk.open(p("f"), OpenMode::CreateIfMissing).unwrap();
    let data = pattern(5, 1_000);
    f.write_at(0, &data).unwrap();
    for _ in 0..20 {
        let got = f.read_at(0, data.len()).unwrap();
        let flipped: u32 = got.iter().zip(&data).map(|(a, b)| (a ^ b).count_ones()).sum();
        assert_eq!(flipped, 1);
    }
    disk.set_faults(&SimDiskConfig::default());
    assert_eq!(&f.read_at(0, data.len()).unwrap()[..], &data[..]);
    assert_eq!(disk.stats().bit_flips, 20);
}

#[test]
fn the_same_seed_gives_the_same_crash() {
    let run = |seed| {
        let disk = SimDisk::new(SimDiskConfig::with_seed(seed));
        let f = disk.open_segment(p("s"), 64 * 1024).unwrap();
        f.sync().unwrap();
        disk.sync_dir(p("")).unwrap();
        for i in 0..16u64 {
            f.write_at(i * 4_000, &[i as u8 + 1; 3_000]).unwrap();
        }
        disk.crash();
        let f = disk.open_segment(p("s"), 64 * 1024).unwrap();
        (f.read_at(0, 64 * 1024).unwrap(), disk.stats())
    };
    assert_eq!(run(11), run(11));
    let differs = (12..20).any(|s| run(s).0 != run(11).0);
    assert!(differs, "different seeds should explore different outcomes");
}

#[test]
fn write_file_atomic_into_new_folders_survives_a_crash() {
    let cfg = SimDiskConfig { journal_commit_probability: 0.0, ..SimDiskConfig::default() };
    let disk = SimDisk::new(cfg);
    write_file_atomic(&disk, p("config/deep/topics.json"), b"{}").unwrap();
    disk.crash();
    assert_eq!(&read_file(&disk, p("config/deep/topics.json")).unwrap().unwrap()[..], b"{}");
    // The same for folders made durably by hand.
    rt::disk::create_dir_all_durable(&disk, p("store/commitlog")).unwrap();
    disk.crash();
    assert!(disk.exists(p("store/commitlog")).unwrap());
    assert!(rt::disk::create_dir_all_durable(&disk, p("../x")).is_err());
}
