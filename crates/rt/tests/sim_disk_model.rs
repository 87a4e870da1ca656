//! Property tests: `SimDisk` behaves as a plain byte vector until a crash, and a crash after a
//! full sync loses nothing.

use std::path::Path;

use proptest::prelude::*;
use rt::disk::{Disk, OpenMode, SimDisk, SimDiskConfig};

#[derive(Debug, Clone)]
enum Op {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
    Sync,
    SyncRange { offset: u64, len: u64 },
    Read { offset: u64, len: usize },
    CrashAfterFullSync,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..20_000, proptest::collection::vec(any::<u8>(), 0..3_000))
            .prop_map(|(offset, data)| Op::Write { offset, data }),
        1 => (0u64..25_000).prop_map(Op::SetLen),
        1 => Just(Op::Sync),
        1 => (0u64..25_000, 0u64..10_000).prop_map(|(offset, len)| Op::SyncRange { offset, len }),
        3 => (0u64..25_000, 0usize..5_000).prop_map(|(offset, len)| Op::Read { offset, len }),
        1 => Just(Op::CrashAfterFullSync),
    ]
}

fn config() -> impl Strategy<Value = SimDiskConfig> {
    (any::<u64>(), prop_oneof![Just(512usize), Just(4096), Just(1000)]).prop_map(|(seed, page)| {
        SimDiskConfig { seed, page_size: page, sector_size: 100.min(page), ..Default::default() }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn reads_equal_a_byte_vector_model(cfg in config(), ops in proptest::collection::vec(op(), 1..40)) {
        let disk = SimDisk::new(cfg);
        let path = Path::new("f");
        let mut file = disk.open(path, OpenMode::CreateIfMissing).unwrap();
        let mut model: Vec<u8> = Vec::new();
        for op in ops {
            match op {
                Op::Write { offset, data } => {
                    file.write_at(offset, &data).unwrap();
                    let end = offset as usize + data.len();
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[offset as usize..end].copy_from_slice(&data);
                }
                Op::SetLen(len) => {
                    file.set_len(len).unwrap();
                    model.resize(len as usize, 0);
                }
                Op::Sync => file.sync().unwrap(),
                Op::SyncRange { offset, len } => file.sync_range(offset, len).unwrap(),
                Op::Read { offset, len } => {
                    let got = file.read_at(offset, len);
                    let end = offset as usize + len;
                    if end <= model.len() {
                        prop_assert_eq!(&got.unwrap()[..], &model[offset as usize..end]);
                    } else {
                        prop_assert_eq!(got.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
                    }
                }
                Op::CrashAfterFullSync => {
                    file.sync().unwrap();
                    disk.sync_dir(Path::new("")).unwrap();
                    disk.crash();
                    file = disk.open(path, OpenMode::Existing).unwrap();
                }
            }
            prop_assert_eq!(file.len(), model.len() as u64);
        }
        let all = file.read_at(0, model.len()).unwrap();
        prop_assert_eq!(&all[..], &model[..]);
    }

    #[test]
    fn a_crash_keeps_synced_bytes_and_invents_nothing(
        cfg in config(),
        synced in proptest::collection::vec((0u64..20_000, proptest::collection::vec(1u8..=255, 1..3_000)), 1..8),
        unsynced in proptest::collection::vec((0u64..20_000, proptest::collection::vec(1u8..=255, 1..3_000)), 0..8),
    ) {
        let disk = SimDisk::new(cfg);
        disk.create_dir_all(Path::new("d")).unwrap();
        disk.sync_dir(Path::new("")).unwrap();
        let path = Path::new("d/f");
        let file = disk.open(path, OpenMode::CreateIfMissing).unwrap();
        let mut model: Vec<u8> = Vec::new();
        for (offset, data) in &synced {
            file.write_at(*offset, data).unwrap();
            let end = *offset as usize + data.len();
            if model.len() < end {
                model.resize(end, 0);
            }
            model[*offset as usize..end].copy_from_slice(data);
        }
        file.sync().unwrap();
        disk.sync_dir(Path::new("d")).unwrap();
        // Later writes: each byte may end up as any value written to it, or stay as before.
        let mut allowed: Vec<Vec<u8>> = model.iter().map(|&b| vec![b]).collect();
        for (offset, data) in &unsynced {
            file.write_at(*offset, data).unwrap();
            for (i, &b) in data.iter().enumerate() {
                let at = *offset as usize + i;
                if allowed.len() <= at {
                    allowed.resize(at + 1, vec![0]);
                }
                allowed[at].push(b);
            }
        }
        disk.crash();
        let file = disk.open(path, OpenMode::Existing).unwrap();
        let len = file.len() as usize;
        prop_assert!(len >= model.len() && len <= allowed.len());
        let got = file.read_at(0, len).unwrap();
        for (i, b) in got.iter().enumerate() {
            prop_assert!(allowed[i].contains(b), "byte {} = {} not in {:?}", i, b, allowed[i]);
        }
        if unsynced.is_empty() {
            prop_assert_eq!(&got[..], &model[..]);
        }
    }
}
