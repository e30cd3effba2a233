//! Wiping a returned unit's data: every file is overwritten in place with
//! random bytes, then zeros, fsynced after each pass, and only then unlinked.
//! Unlinking alone would leave keys and records readable on the medium.
//!
//! On flash (eMMC, SSD) the controller may remap blocks, so overwriting is a
//! best effort there; the device key is also made useless by revoking its
//! certificate.

use crate::files::{err, sync_dir, FileError};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

const CHUNK: usize = 64 * 1024;

/// What a wipe did.
#[derive(Debug, Default, Clone)]
pub struct WipeReport {
    pub files: u64,
    pub bytes: u64,
}

fn overwrite(f: &mut File, len: u64, random: Option<&mut File>) -> std::io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut random = random;
    f.seek(SeekFrom::Start(0))?;
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        if let Some(r) = random.as_deref_mut() {
            r.read_exact(&mut buf[..n])?;
        }
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.sync_all()
}

/// Overwrites one file (random pass, zero pass), then unlinks it.
pub fn wipe_file(path: &Path, report: &mut WipeReport) -> Result<(), FileError> {
    let meta = fs::symlink_metadata(path).map_err(err("cannot stat", path))?;
    if meta.file_type().is_file() {
        let len = meta.len();
        let mut f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(err("cannot open for wiping", path))?;
        let mut random =
            File::open("/dev/urandom").map_err(err("cannot open", Path::new("/dev/urandom")))?;
        overwrite(&mut f, len, Some(&mut random)).map_err(err("cannot overwrite", path))?;
        overwrite(&mut f, len, None).map_err(err("cannot overwrite", path))?;
        report.bytes += len;
    }
    fs::remove_file(path).map_err(err("cannot remove", path))?;
    report.files += 1;
    Ok(())
}

/// Wipes every file under `dir` and removes the directories too; `dir` itself
/// is kept (empty). A missing `dir` is nothing to wipe.
pub fn wipe_tree(dir: &Path, report: &mut WipeReport) -> Result<(), FileError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(err("cannot list", dir)(e)),
    };
    for entry in rd {
        let entry = entry.map_err(err("cannot list", dir))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(err("cannot stat", &path))?;
        if ft.is_dir() {
            wipe_tree(&path, report)?;
            fs::remove_dir(&path).map_err(err("cannot remove directory", &path))?;
        } else {
            wipe_file(&path, report)?;
        }
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrites_in_place_before_unlinking() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("spool");
        fs::create_dir_all(tree.join("sub")).unwrap();
        let secret = b"-----BEGIN PRIVATE KEY----- secret material".repeat(3000);
        fs::write(tree.join("sub/key"), &secret).unwrap();
        fs::write(tree.join("batch"), b"records").unwrap();
        // A second name for the same inode shows what happened to the blocks.
        fs::hard_link(tree.join("sub/key"), d.path().join("witness")).unwrap();
        let mut r = WipeReport::default();
        wipe_tree(&tree, &mut r).unwrap();
        assert_eq!(r.files, 2);
        assert_eq!(r.bytes, secret.len() as u64 + 7);
        assert_eq!(fs::read_dir(&tree).unwrap().count(), 0);
        let left = fs::read(d.path().join("witness")).unwrap();
        assert_eq!(left.len(), secret.len());
        assert!(left.iter().all(|&b| b == 0));
    }
}
