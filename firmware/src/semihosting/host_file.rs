//! A host file opened through semihosting, as `embedded-io` Read/Write. Paths are relative
//! to QEMU's working directory.

use super::{op, syscall};

/// How to open a host file (the `fopen` modes of the semihosting specification).
#[derive(Clone, Copy)]
pub enum Mode {
    /// "rb"
    ReadBinary = 1,
    /// "w": also opens the console `:tt` as stdout.
    WriteTruncate = 4,
    /// "wb"
    WriteTruncateBinary = 5,
}

/// Why a host file could not be opened (carries the path for the message).
pub struct OpenError<'a>(pub &'a str);

/// An open semihosting file handle, closed on drop.
pub struct HostFile {
    handle: usize,
}

/// A semihosting file operation failed.
#[derive(Debug)]
pub struct HostIoError;

impl embedded_io::Error for HostIoError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl HostFile {
    /// Open `path` on the host.
    pub fn open(path: &str, mode: Mode) -> Result<Self, OpenError<'_>> {
        // SYS_OPEN wants a NUL-terminated name and its length without the NUL.
        let mut name = heapless::Vec::<u8, 256>::new();
        if name.extend_from_slice(path.as_bytes()).is_err() || name.push(0).is_err() {
            return Err(OpenError(path));
        }
        let block = [name.as_ptr() as usize, mode as usize, path.len()];
        // SAFETY: `name` is NUL-terminated and lives across the call; the block is valid.
        let handle = unsafe { syscall(op::OPEN, block.as_ptr()) };
        if handle as isize == -1 {
            return Err(OpenError(path));
        }
        Ok(Self { handle })
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        let block = [self.handle];
        // SAFETY: `handle` is an open semihosting handle owned by this value.
        unsafe {
            syscall(op::CLOSE, block.as_ptr());
        }
    }
}

impl embedded_io::ErrorType for HostFile {
    type Error = HostIoError;
}

impl embedded_io::Read for HostFile {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostIoError> {
        let block = [self.handle, buf.as_mut_ptr() as usize, buf.len()];
        // SYS_READ returns the number of bytes NOT read (== len at end of file).
        // SAFETY: the buffer is valid for writes of `buf.len()` bytes.
        let left = unsafe { syscall(op::READ, block.as_ptr()) };
        buf.len().checked_sub(left).ok_or(HostIoError)
    }
}

impl embedded_io::Write for HostFile {
    fn write(&mut self, buf: &[u8]) -> Result<usize, HostIoError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let block = [self.handle, buf.as_ptr() as usize, buf.len()];
        // SYS_WRITE returns the number of bytes NOT written.
        // SAFETY: the buffer is valid for reads of `buf.len()` bytes.
        let left = unsafe { syscall(op::WRITE, block.as_ptr()) };
        match buf.len().checked_sub(left) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(HostIoError),
        }
    }
    fn flush(&mut self) -> Result<(), HostIoError> {
        Ok(())
    }
}
