//! Flash and RAM footprint of a firmware ELF, from its section headers.

use std::path::Path;

use anyhow::Context;
use object::{Object, ObjectSection};
use serde::Serialize;

/// Section sizes in bytes. Flash holds the vector table, code, read-only data (the model) and
/// the initial values of `.data`; RAM holds `.data`, `.bss` and `.uninit` (the stack comes on
/// top: measured separately by stack painting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Footprint {
    pub vector_table: u64,
    pub text: u64,
    pub rodata: u64,
    pub data: u64,
    pub bss: u64,
}

impl Footprint {
    /// Bytes of flash the image occupies.
    pub fn flash(&self) -> u64 {
        self.vector_table + self.text + self.rodata + self.data
    }

    /// Bytes of RAM reserved statically (without the stack).
    pub fn static_ram(&self) -> u64 {
        self.data + self.bss
    }
}

/// Read the section sizes of `elf`.
pub fn footprint(elf: &Path) -> anyhow::Result<Footprint> {
    let bytes = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    footprint_of(&bytes).with_context(|| format!("{} is not a readable ELF", elf.display()))
}

fn footprint_of(bytes: &[u8]) -> anyhow::Result<Footprint> {
    let file = object::File::parse(bytes)?;
    let mut f = Footprint::default();
    for section in file.sections() {
        let size = section.size();
        match section.name()? {
            ".vector_table" => f.vector_table += size,
            ".text" => f.text += size,
            ".rodata" => f.rodata += size,
            ".data" => f.data += size,
            ".bss" | ".uninit" => f.bss += size,
            _ => {}
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_an_elf() {
        assert!(footprint_of(b"not an elf").is_err());
    }

    #[test]
    fn sums() {
        let f = Footprint {
            vector_table: 1,
            text: 2,
            rodata: 3,
            data: 4,
            bss: 5,
        };
        assert_eq!((f.flash(), f.static_ram()), (10, 9));
    }
}
