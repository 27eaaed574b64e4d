//! The semihosting console: QEMU's stdout (the `:tt` special file).

use super::{host_file::Mode, HostFile};

/// Writes to QEMU's stdout. Output errors are ignored: there is nobody to report them to.
pub struct Console(Option<HostFile>);

impl Console {
    /// Open the console (`:tt` opened for writing is stdout).
    pub fn new() -> Self {
        Self(HostFile::open(":tt", Mode::WriteTruncate).ok())
    }
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        if let Some(h) = &mut self.0 {
            let _ = embedded_io::Write::write_all(h, s.as_bytes());
        }
        Ok(())
    }
}
