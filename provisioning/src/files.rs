//! Atomic file writes and a journal that undoes them.
//!
//! Every file a flow writes goes to a temporary name, is fsynced, then renamed
//! over the target, so a power cut leaves the old or the new file, never half
//! of one. `FileTxn` remembers what each file held before, so a flow that fails
//! at a later step puts every file back as it was.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct FileError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

pub fn err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Flushes a directory so a rename or unlink in it survives a power cut.
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err("cannot sync directory", dir))
}

/// Writes `data` to `path` with `mode` through a temporary file and a rename.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), FileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        // The mode given at creation is masked by the umask; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(err("cannot write", path)(e));
    }
    sync_dir(dir)
}

/// Creates a directory (and parents) with `mode` if it does not exist.
pub fn ensure_dir(path: &Path, mode: u32) -> Result<(), FileError> {
    if !path.is_dir() {
        fs::create_dir_all(path).map_err(err("cannot create directory", path))?;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(err("cannot set mode of", path))?;
    }
    Ok(())
}

struct Saved {
    path: PathBuf,
    before: Option<(Vec<u8>, u32)>,
}

/// The files changed by a flow, with what they held before.
#[derive(Default)]
pub struct FileTxn {
    saved: Vec<Saved>,
    dirs: Vec<PathBuf>,
}

impl FileTxn {
    pub fn new() -> FileTxn {
        FileTxn::default()
    }

    fn remember(&mut self, path: &Path) -> Result<(), FileError> {
        if self.saved.iter().any(|s| s.path == path) {
            return Ok(());
        }
        let before = match fs::read(path) {
            Ok(data) => {
                let mode = fs::metadata(path)
                    .map_err(err("cannot stat", path))?
                    .permissions()
                    .mode()
                    & 0o7777;
                Some((data, mode))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(err("cannot read", path)(e)),
        };
        self.saved.push(Saved {
            path: path.to_owned(),
            before,
        });
        Ok(())
    }

    /// Writes a file atomically, remembering its previous content.
    pub fn write(&mut self, path: &Path, data: &[u8], mode: u32) -> Result<(), FileError> {
        self.remember(path)?;
        write_atomic(path, data, mode)
    }

    /// Removes a file, remembering its content.
    pub fn remove(&mut self, path: &Path) -> Result<(), FileError> {
        self.remember(path)?;
        match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(err("cannot remove", path)(e))
            }
            _ => Ok(()),
        }
    }

    /// Notes a directory the flow created, removed on rollback if empty.
    pub fn created_dir(&mut self, dir: &Path) {
        self.dirs.push(dir.to_owned());
    }

    /// Puts every file back as it was, newest change first.
    pub fn rollback(mut self) {
        while let Some(s) = self.saved.pop() {
            let r = match &s.before {
                Some((data, mode)) => write_atomic(&s.path, data, *mode),
                None => match fs::remove_file(&s.path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(err("cannot remove", &s.path)(e))
                    }
                    _ => Ok(()),
                },
            };
            if let Err(e) = r {
                log::error!("rollback: {e}");
            }
        }
        while let Some(d) = self.dirs.pop() {
            let _ = fs::remove_dir(&d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_restores_and_removes() {
        let d = tempfile::tempdir().unwrap();
        let old = d.path().join("old");
        let new = d.path().join("new");
        write_atomic(&old, b"before", 0o640).unwrap();
        let mut t = FileTxn::new();
        t.write(&old, b"after", 0o600).unwrap();
        t.write(&new, b"created", 0o600).unwrap();
        assert_eq!(fs::read(&old).unwrap(), b"after");
        t.rollback();
        assert_eq!(fs::read(&old).unwrap(), b"before");
        assert_eq!(
            fs::metadata(&old).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert!(!new.exists());
    }
}
