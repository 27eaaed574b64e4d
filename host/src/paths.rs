//! Where the repository's files are, and how a path is shown to the user.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `<root>/host`), without a `host/..` in it.
pub fn repo_root() -> PathBuf {
    let host = Path::new(env!("CARGO_MANIFEST_DIR"));
    host.parent().unwrap_or(host).to_path_buf()
}

/// `path` as a user at the current directory would type it: relative when it lies below the
/// current directory (`data/mnist`, `runs/…/model.postcard`), else as given.
pub fn shown(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    std::env::current_dir()
        .ok()
        .and_then(|cwd| absolute.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|rel| !rel.as_os_str().is_empty())
        .unwrap_or(absolute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_below_the_current_directory_are_shown_relative() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            shown(&cwd.join("runs/a/model.postcard")),
            Path::new("runs/a/model.postcard")
        );
        assert_eq!(shown(Path::new("/nowhere/x")), Path::new("/nowhere/x"));
        assert!(!repo_root().to_string_lossy().contains(".."));
    }
}
