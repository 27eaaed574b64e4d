//! The `embedded-io` read contract for polled UARTs: block for the first byte, then take
//! whatever else is already waiting.

use core::convert::Infallible;

/// `embedded-io` Read/Write (error `Infallible`) for a polled UART type with
/// `try_read_byte(&mut self) -> Option<u8>` and a blocking `write_byte(&mut self, u8)`.
/// (A macro: the orphan rule forbids a blanket impl of the foreign traits.)
macro_rules! polled_uart_io {
    ($uart:ty) => {
        impl embedded_io::ErrorType for $uart {
            type Error = core::convert::Infallible;
        }

        impl embedded_io::Read for $uart {
            /// Blocks until at least one byte arrived, then returns what is available.
            fn read(&mut self, buf: &mut [u8]) -> Result<usize, core::convert::Infallible> {
                $crate::uart_read::read_polled(buf, || self.try_read_byte())
            }
        }

        impl embedded_io::Write for $uart {
            fn write(&mut self, buf: &[u8]) -> Result<usize, core::convert::Infallible> {
                for &b in buf {
                    self.write_byte(b);
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> Result<(), core::convert::Infallible> {
                Ok(()) // write_byte returns once the byte is taken
            }
        }
    };
}
pub(crate) use polled_uart_io;

/// Fill `buf` from `try_byte`: waits (polling) until one byte arrived, then returns the bytes
/// available without waiting (never 0 for a non-empty buffer, as `embedded-io` requires).
pub fn read_polled(
    buf: &mut [u8],
    mut try_byte: impl FnMut() -> Option<u8>,
) -> Result<usize, Infallible> {
    let Some((first, rest)) = buf.split_first_mut() else {
        return Ok(0);
    };
    *first = loop {
        if let Some(b) = try_byte() {
            break b;
        }
    };
    let mut n = 1;
    for slot in rest {
        match try_byte() {
            Some(b) => {
                *slot = b;
                n += 1;
            }
            None => break,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::read_polled;

    #[test]
    fn waits_for_the_first_byte_then_takes_what_is_there() {
        let mut script = [None, None, Some(1), Some(2), None, Some(3)].into_iter();
        let mut buf = [0u8; 8];
        assert_eq!(read_polled(&mut buf, || script.next().flatten()), Ok(2));
        assert_eq!(buf[..2], [1, 2]);
        assert_eq!(read_polled(&mut [], || None), Ok(0));
    }
}
