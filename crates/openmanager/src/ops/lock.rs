//! The data-directory lock: an exclusive, non-blocking `flock` on `<data_dir>/openmanager.lock`.
//!
//! A server holds it for its whole life; `backup restore` takes it before replacing the database,
//! so the two can never overlap. `flock` (not a pid file) because the kernel drops it when the
//! holder dies, even by SIGKILL or OOM kill, so a crash never leaves a stale lock behind. Taken
//! through `std::fs::File::try_lock` (flock on Linux): no unsafe code and no extra crate.

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
}

impl DataDirLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first makes the release immediate
        // even if a duplicated descriptor (a child process) still has the file open.
        let _ = self.file.unlock();
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
    Ok(DataDirLock { file, path })
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
}
