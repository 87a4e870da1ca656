//! The `Disk` contract, checked against both implementations where their semantics agree.

use std::io;
use std::path::Path;

use std::sync::Arc;

use rt::disk::{
    read_file, write_file_atomic, Disk, FsDisk, OpenMode, ScopedDisk, SimDisk, SimDiskConfig,
};

fn p(s: &str) -> &Path {
    Path::new(s)
}

/// Runs `check` against a fresh `FsDisk` in a temporary folder, a fresh `SimDisk`, and a
/// `ScopedDisk` view of a `SimDisk`.
fn both(check: impl Fn(&dyn Disk)) {
    let dir = tempfile::tempdir().unwrap();
    let fs = FsDisk::new(dir.path().join("root")).unwrap();
    check(&fs);
    let sim = SimDisk::new(SimDiskConfig::with_seed(7));
    check(&sim);
    let inner = SimDisk::new(SimDiskConfig::with_seed(8));
    let scoped = ScopedDisk::new(Arc::new(inner.clone()), Path::new("/home/mq/store")).unwrap();
    check(&scoped);
    assert_eq!(inner.list(p("home/mq")).unwrap(), vec!["store"]);
}

#[cfg(not(madsim))]
#[test]
fn open_root_is_the_file_system_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let disk = rt::disk::open_root(&dir.path().join("store")).unwrap();
    write_file_atomic(&*disk, p("config/x.json"), b"{}").unwrap();
    assert!(dir.path().join("store/config/x.json").is_file());
}

#[test]
fn a_scoped_root_is_durable_from_the_start() {
    let cfg = SimDiskConfig { journal_commit_probability: 0.0, ..SimDiskConfig::default() };
    let inner = SimDisk::new(cfg);
    let scoped = ScopedDisk::new(Arc::new(inner.clone()), Path::new("/data/store")).unwrap();
    write_file_atomic(&scoped, p("checkpoint"), b"1").unwrap();
    inner.crash();
    assert_eq!(&read_file(&scoped, p("checkpoint")).unwrap().unwrap()[..], b"1");
    assert!(ScopedDisk::new(Arc::new(inner), Path::new("a/../b")).is_err());
}

#[test]
fn open_missing_is_not_found_and_create_makes_an_empty_file() {
    both(|disk| {
        let err = disk.open(p("a"), OpenMode::Existing).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!disk.exists(p("a")).unwrap());
        let f = disk.open(p("a"), OpenMode::CreateIfMissing).unwrap();
        assert_eq!(f.len(), 0);
        assert!(f.is_empty());
        assert!(disk.exists(p("a")).unwrap());
        // Opening again sees the same (still empty) file; create does not truncate.
        f.write_at(0, b"xyz").unwrap();
        let g = disk.open(p("a"), OpenMode::CreateIfMissing).unwrap();
        assert_eq!(&g.read_at(0, 3).unwrap()[..], b"xyz");
    });
}

#[test]
fn open_in_a_missing_folder_is_not_found() {
    both(|disk| {
        let err = disk.open(p("no/such/file"), OpenMode::CreateIfMissing).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

#[test]
fn write_read_round_trip_and_growth() {
    both(|disk| {
        let f = disk.open(p("plain"), OpenMode::CreateIfMissing).unwrap();
        f.write_at(0, b"hello").unwrap();
        f.write_at(10_000, b"world").unwrap();
        assert_eq!(f.len(), 10_005);
        assert_eq!(&f.read_at(0, 5).unwrap()[..], b"hello");
        assert_eq!(&f.read_at(10_000, 5).unwrap()[..], b"world");
        // The gap reads as zeros.
        assert!(f.read_at(5, 9_995).unwrap().iter().all(|&b| b == 0));
        f.write_at(3, b"LOWORLD").unwrap();
        assert_eq!(&f.read_at(0, 10).unwrap()[..], b"helLOWORLD");
        f.sync().unwrap();
        f.sync_range(0, 10).unwrap();
        assert_eq!(&f.read_at(0, 10).unwrap()[..], b"helLOWORLD");
    });
}

#[test]
fn read_past_the_end_is_unexpected_eof() {
    both(|disk| {
        let f = disk.open(p("short"), OpenMode::CreateIfMissing).unwrap();
        f.write_at(0, b"abc").unwrap();
        assert_eq!(f.read_at(1, 3).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(f.read_at(4, 1).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(f.read_at(3, 0).unwrap().len(), 0);
        let s = disk.open_segment(p("seg"), 64).unwrap();
        assert_eq!(s.read_at(60, 5).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(s.read_at(u64::MAX, 2).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn set_len_truncates_and_extends_with_zeros() {
    both(|disk| {
        let f = disk.open(p("t"), OpenMode::CreateIfMissing).unwrap();
        f.write_at(0, &[7u8; 100]).unwrap();
        f.sync().unwrap();
        f.set_len(10).unwrap();
        assert_eq!(f.len(), 10);
        f.set_len(50).unwrap();
        let back = f.read_at(0, 50).unwrap();
        assert!(back[..10].iter().all(|&b| b == 7));
        assert!(back[10..].iter().all(|&b| b == 0), "truncated bytes must not come back");
    });
}

#[test]
fn segments_have_a_fixed_zero_filled_length() {
    both(|disk| {
        disk.create_dir_all(p("commitlog")).unwrap();
        let s = disk.open_segment(p("commitlog/00000000000000000000"), 8192).unwrap();
        assert_eq!(s.len(), 8192);
        assert!(s.read_at(0, 8192).unwrap().iter().all(|&b| b == 0));
        s.write_at(8190, b"ok").unwrap();
        let err = s.write_at(8191, b"no").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(s.set_len(10).unwrap_err().kind(), io::ErrorKind::Unsupported);
        s.sync_range(8000, 192).unwrap();
        s.sync().unwrap();
        drop(s);
        // Reopening keeps the existing length even if another is asked for.
        let again = disk.open_segment(p("commitlog/00000000000000000000"), 4096).unwrap();
        assert_eq!(again.len(), 8192);
        assert_eq!(&again.read_at(8190, 2).unwrap()[..], b"ok");
    });
}

#[test]
fn list_is_sorted_names_and_empty_for_a_missing_folder() {
    both(|disk| {
        assert!(disk.list(p("nothing")).unwrap().is_empty());
        disk.create_dir_all(p("q/sub/deep")).unwrap();
        for name in ["q/b", "q/a.tmp", "q/a", "q/c0"] {
            disk.open(p(name), OpenMode::CreateIfMissing).unwrap();
        }
        assert_eq!(disk.list(p("q")).unwrap(), vec!["a", "a.tmp", "b", "c0", "sub"]);
        assert_eq!(disk.list(p("q/sub")).unwrap(), vec!["deep"]);
        assert!(disk.list(p("")).unwrap().contains(&"q".to_owned()));
        disk.create_dir_all(p("q/sub")).unwrap(); // idempotent
    });
}

#[test]
fn rename_replaces_the_target() {
    both(|disk| {
        let a = disk.open(p("a"), OpenMode::CreateIfMissing).unwrap();
        a.write_at(0, b"new").unwrap();
        let b = disk.open(p("b"), OpenMode::CreateIfMissing).unwrap();
        b.write_at(0, b"old!").unwrap();
        disk.rename(p("a"), p("b")).unwrap();
        assert!(!disk.exists(p("a")).unwrap());
        let b2 = disk.open(p("b"), OpenMode::Existing).unwrap();
        assert_eq!(&b2.read_at(0, 3).unwrap()[..], b"new");
        assert_eq!(b2.len(), 3);
        // The open handle follows the file, not the name.
        a.write_at(3, b"er").unwrap();
        assert_eq!(&b2.read_at(0, 5).unwrap()[..], b"newer");
        let err = disk.rename(p("missing"), p("x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

#[test]
fn remove_files_and_empty_folders() {
    both(|disk| {
        disk.create_dir_all(p("d")).unwrap();
        disk.open(p("d/f"), OpenMode::CreateIfMissing).unwrap();
        assert!(disk.remove(p("d")).is_err(), "a folder with entries is not removed");
        disk.remove(p("d/f")).unwrap();
        assert!(!disk.exists(p("d/f")).unwrap());
        disk.remove(p("d")).unwrap();
        assert!(!disk.exists(p("d")).unwrap());
        assert_eq!(disk.remove(p("d")).unwrap_err().kind(), io::ErrorKind::NotFound);
    });
}

#[test]
fn an_unlinked_file_stays_readable_through_its_handle() {
    both(|disk| {
        let f = disk.open(p("gone"), OpenMode::CreateIfMissing).unwrap();
        f.write_at(0, b"still here").unwrap();
        disk.remove(p("gone")).unwrap();
        assert_eq!(&f.read_at(0, 10).unwrap()[..], b"still here");
    });
}

#[test]
fn write_file_atomic_and_read_file() {
    both(|disk| {
        assert!(read_file(disk, p("config/topics.json")).unwrap().is_none());
        write_file_atomic(disk, p("config/topics.json"), b"{\"v\":1}").unwrap();
        assert_eq!(&read_file(disk, p("config/topics.json")).unwrap().unwrap()[..], b"{\"v\":1}");
        write_file_atomic(disk, p("config/topics.json"), b"{}").unwrap();
        assert_eq!(&read_file(disk, p("config/topics.json")).unwrap().unwrap()[..], b"{}");
        assert_eq!(disk.list(p("config")).unwrap(), vec!["topics.json"]);
        write_file_atomic(disk, p("top.json"), b"x").unwrap();
        assert_eq!(&read_file(disk, p("top.json")).unwrap().unwrap()[..], b"x");
    });
}

#[test]
fn paths_cannot_leave_the_root() {
    both(|disk| {
        for bad in ["../x", "a/../../x", "/etc/passwd"] {
            let err = disk.open(p(bad), OpenMode::CreateIfMissing).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert!(disk.exists(p(bad)).is_err());
            assert!(disk.list(p(bad)).is_err());
        }
        // `.` components are harmless.
        disk.open(p("./ok"), OpenMode::CreateIfMissing).unwrap();
        assert!(disk.exists(p("ok")).unwrap());
    });
}

#[test]
fn sync_dir_of_existing_folders_succeeds() {
    both(|disk| {
        disk.create_dir_all(p("a/b")).unwrap();
        disk.sync_dir(p("")).unwrap();
        disk.sync_dir(p("a")).unwrap();
        disk.sync_dir(p("a/b")).unwrap();
        assert!(disk.sync_dir(p("missing")).is_err());
    });
}

#[test]
fn space_reports_sane_figures() {
    both(|disk| {
        let space = disk.space().unwrap();
        assert!(space.total_bytes > 0);
        assert!(space.available_bytes <= space.total_bytes);
        assert!((0.0..=1.0).contains(&space.used_ratio()));
    });
}
