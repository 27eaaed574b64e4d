//! The `embedded-io` read contract for polled UARTs: block for the first byte, then take
//! whatever else is already waiting.

use core::convert::Infallible;

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
