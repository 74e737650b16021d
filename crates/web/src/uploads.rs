//! Where uploads wait on disk while a request reads them, and the clean-up of what a process
//! that died mid-request left behind (L8 in docs/hardening.md).
//!
//! Every upload is streamed into its own `upload-*` folder under one scratch root, deleted when
//! the request ends; statement previews wait in `pending/` for an hour. A process killed in
//! between leaves them behind, so each start removes what is older than [`ORPHAN_AGE`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What is older than this at start-up belongs to no running request.
pub const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// The scratch root: `<temp>/adpool-uploads`.
pub fn scratch_root() -> PathBuf {
    std::env::temp_dir().join("adpool-uploads")
}

/// Where statement previews wait between the preview and the import.
pub(crate) fn pending_folder() -> PathBuf {
    scratch_root().join(PENDING)
}

const PENDING: &str = "pending";

/// A fresh folder for one upload, deleted when dropped.
pub(crate) fn upload_folder() -> std::io::Result<tempfile::TempDir> {
    upload_folder_in(&scratch_root())
}

fn upload_folder_in(root: &Path) -> std::io::Result<tempfile::TempDir> {
    std::fs::create_dir_all(root)?;
    tempfile::Builder::new().prefix("upload-").tempdir_in(root)
}

/// Removes upload folders and pending previews last changed before `cutoff`; returns how many.
pub fn remove_orphaned_uploads(cutoff: SystemTime) -> usize {
    remove_orphans_in(&scratch_root(), cutoff)
}

fn remove_orphans_in(root: &Path, cutoff: SystemTime) -> usize {
    let old = |entry: &std::fs::DirEntry| {
        entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified < cutoff)
    };
    let mut removed = 0;
    if let Ok(entries) = std::fs::read_dir(root) {
        for entry in entries.flatten() {
            let is_upload = entry.file_name().to_string_lossy().starts_with("upload-");
            if is_upload && old(&entry) && std::fs::remove_dir_all(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(root.join(PENDING)) {
        for entry in entries.flatten() {
            if old(&entry) && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use super::*;

    #[test]
    fn orphaned_uploads_go_and_live_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let orphan = upload_folder_in(root).unwrap().keep();
        std::fs::write(orphan.join("statement.csv"), "a,b\n").unwrap();
        std::fs::create_dir_all(root.join(PENDING)).unwrap();
        let pending = root
            .join(PENDING)
            .join("1-0123456789abcdef0123456789abcdef-x.csv");
        std::fs::write(&pending, "a,b\n").unwrap();
        // Nothing is older than an hour ago: everything stays.
        assert_eq!(remove_orphans_in(root, SystemTime::now() - ORPHAN_AGE), 0);
        assert!(orphan.exists() && pending.exists());
        // With the cutoff after they were written, both are orphans; a newer folder stays.
        std::thread::sleep(Duration::from_millis(20));
        let cutoff = SystemTime::now();
        std::thread::sleep(Duration::from_millis(20));
        let fresh = upload_folder_in(root).unwrap();
        assert_eq!(remove_orphans_in(root, cutoff), 2);
        assert!(!orphan.exists() && !pending.exists());
        assert!(fresh.path().exists());
    }
}
