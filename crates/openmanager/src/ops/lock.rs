//! The data-directory lock: an exclusive, non-blocking `flock` on `<data_dir>/openmanager.lock`.
//!
//! A server holds it for its whole life; `backup restore` takes it before replacing the database,
//! so the two can never overlap. `flock` (not a pid file) because the kernel drops it when the
//! holder dies, even by SIGKILL or OOM kill, so a crash never leaves a stale lock behind. Taken
//! through `std::fs::File::try_lock` (flock on Linux): no unsafe code and no extra crate.
//!
//! A hand-over passes the lock on without letting it lapse: an `flock` belongs to the open file, not
//! the process, so the successor gets a handle on the same open file ([`DataDirLock::share`], adopted
//! with [`DataDirLock::adopt`]) and the lock stays held until the last of the two processes exits.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "openmanager.lock";

/// Holds the data directory's lock until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
    /// False once another process shares the lock (a successor, or the predecessor we adopted it
    /// from): unlocking would release it for both. Closing our handle then leaves it to the other.
    unlock_on_drop: bool,
}

impl DataDirLock {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second handle on the locked open file, for a successor: whoever holds any handle holds the
    /// lock. From now on dropping `self` does not unlock.
    pub fn share(&mut self) -> io::Result<File> {
        let file = self.file.try_clone()?;
        self.unlock_on_drop = false;
        Ok(file)
    }

    /// Takes a lock handed over by a predecessor (`file` came from its [`DataDirLock::share`]).
    /// Checks that `file` is this directory's lock file and that it holds the lock: `try_lock` on an
    /// open file that already holds it succeeds, and fails if someone else holds it.
    pub fn adopt(dir: &Path, file: File) -> io::Result<DataDirLock> {
        let path = dir.join(LOCK_FILE);
        let ours = std::fs::metadata(&path)?;
        let theirs = file.metadata()?;
        use std::os::unix::fs::MetadataExt;
        if (ours.dev(), ours.ino()) != (theirs.dev(), theirs.ino()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the inherited file is not {}", path.display()),
            ));
        }
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { file, path, unlock_on_drop: false }),
            Err(TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("the inherited handle on {} does not hold the lock", path.display()),
            )),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    /// Records `pid` as the holder (a hint for messages and scripts, as at creation).
    pub fn set_holder(&self, pid: u32) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let text = format!("{pid}\n");
        self.file.set_len(0)?;
        self.file.write_all_at(text.as_bytes(), 0)
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first makes the release immediate
        // even if a forked child still has the descriptor open. Not when the lock is shared on
        // purpose with a successor or predecessor: it would release theirs too.
        if self.unlock_on_drop {
            let _ = self.file.unlock();
        }
    }
}

/// Takes the lock on `dir` (created if missing) without waiting. When another process holds it,
/// the error is [`io::ErrorKind::WouldBlock`] and names the holder's pid if it wrote one.
pub fn lock_data_dir(dir: &Path) -> io::Result<DataDirLock> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(LOCK_FILE);
    // No truncation on open: the holder's pid must survive a failed attempt by someone else.
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let by = if holder.is_empty() { String::new() } else { format!(" by pid {holder}") };
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is locked{by}: a server is using this data directory", path.display()),
            ));
        }
        Err(TryLockError::Error(e)) => return Err(e),
    }
    // The pid is only a hint for that message; the flock itself is what excludes.
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    Ok(DataDirLock { file, path, unlock_on_drop: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_data_dir(dir.path()).unwrap();
        let err = lock_data_dir(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(err.to_string().contains(&std::process::id().to_string()), "{err}");
        drop(first);
        let again = lock_data_dir(dir.path()).unwrap();
        assert_eq!(again.path(), dir.path().join(LOCK_FILE));
    }

    #[test]
    fn a_shared_lock_is_adopted_and_outlives_the_first_holder() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = lock_data_dir(dir.path()).unwrap();
        let handle = first.share().unwrap();
        let second = DataDirLock::adopt(dir.path(), handle).unwrap();
        second.set_holder(4242).unwrap();
        drop(first);
        // Still held through the adopted handle; the pid hint names the new holder.
        let err = lock_data_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("by pid 4242"), "{err}");
        drop(second);
        lock_data_dir(dir.path()).unwrap();
    }

    #[test]
    fn adopting_a_file_that_does_not_hold_the_lock_fails() {
        let dir = tempfile::tempdir().unwrap();
        let _holder = lock_data_dir(dir.path()).unwrap();
        let stranger = File::open(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(DataDirLock::adopt(dir.path(), stranger).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        let other = tempfile::tempfile().unwrap();
        assert_eq!(DataDirLock::adopt(dir.path(), other).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
