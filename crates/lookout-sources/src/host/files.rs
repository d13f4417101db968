//! Where the host source reads from: the real `/proc`, `/sys` and `statvfs`, or a
//! fixture in tests.

use std::path::PathBuf;

/// Space of one mounted filesystem, from `statvfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsUsage {
    pub total_bytes: u64,
    /// Free including the blocks reserved for root.
    pub free_bytes: u64,
    /// Free for unprivileged users (what `df` shows as available).
    pub available_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
}

/// Access to the host's kernel files. Errors are messages naming the path and reason.
pub trait HostFiles: Send + 'static {
    /// Reads a file under the proc root, `relative` as in `"stat"` or `"net/dev"`.
    fn read_proc(&self, relative: &str) -> Result<String, String>;

    /// How `relative` is shown in messages, e.g. `/proc/net/dev`.
    fn proc_path(&self, relative: &str) -> String;

    fn filesystem_usage(&self, mount_point: &str) -> Result<FsUsage, String>;

    /// Whether a block device is a whole disk (not a partition); `None` when unknown.
    fn is_whole_disk(&self, device: &str) -> Option<bool>;
}

/// The running Linux machine.
#[derive(Debug, Clone)]
pub struct LinuxHost {
    proc_root: PathBuf,
    sys_root: PathBuf,
}

impl Default for LinuxHost {
    fn default() -> Self {
        LinuxHost {
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
        }
    }
}

impl LinuxHost {
    /// A host whose `/proc` and `/sys` are mounted elsewhere (e.g. `/host/proc` in a container).
    pub fn with_roots(proc_root: impl Into<PathBuf>, sys_root: impl Into<PathBuf>) -> Self {
        LinuxHost {
            proc_root: proc_root.into(),
            sys_root: sys_root.into(),
        }
    }
}

impl HostFiles for LinuxHost {
    fn read_proc(&self, relative: &str) -> Result<String, String> {
        let path = self.proc_root.join(relative);
        std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))
    }

    fn proc_path(&self, relative: &str) -> String {
        self.proc_root.join(relative).display().to_string()
    }

    fn filesystem_usage(&self, mount_point: &str) -> Result<FsUsage, String> {
        let stat = rustix::fs::statvfs(mount_point)
            .map_err(|error| format!("statvfs({mount_point}) failed: {error}"))?;
        let block = stat.f_frsize.max(1);
        Ok(FsUsage {
            total_bytes: stat.f_blocks.saturating_mul(block),
            free_bytes: stat.f_bfree.saturating_mul(block),
            available_bytes: stat.f_bavail.saturating_mul(block),
            total_inodes: stat.f_files,
            free_inodes: stat.f_ffree,
        })
    }

    fn is_whole_disk(&self, device: &str) -> Option<bool> {
        let block = self.sys_root.join("block");
        if !block.is_dir() {
            return None;
        }
        Some(block.join(device.replace('/', "!")).exists())
    }
}
