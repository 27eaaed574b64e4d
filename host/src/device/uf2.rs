//! UF2 files for the Raspberry Pi Pico's boot ROM (the RPI-RP2 drive): the firmware ELF's
//! loadable flash contents cut into 256-byte pages, one 512-byte block per page. The same
//! layout `elf2uf2-rs` writes (format: github.com/microsoft/uf2), without a tool to install.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use object::elf::{FileHeader32, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;

/// First magic number of a block.
pub const MAGIC_START0: u32 = 0x0A32_4655;
/// Second magic number of a block.
pub const MAGIC_START1: u32 = 0x9E5D_5157;
/// Last word of a block.
pub const MAGIC_END: u32 = 0x0AB1_6F30;
/// Flag: the `file_size` word holds a family id.
pub const FLAG_FAMILY_ID_PRESENT: u32 = 0x0000_2000;
/// The RP2040's family id (its boot ROM ignores blocks of other families).
pub const RP2040_FAMILY_ID: u32 = 0xE48B_FF56;
/// Bytes of payload per block: one RP2040 flash page.
pub const PAGE: u32 = 256;
/// Every block is this long.
pub const BLOCK: usize = 512;

/// The RP2040's flash as the boot ROM writes it (XIP address window).
const FLASH: std::ops::Range<u32> = 0x1000_0000..0x1500_0000;
/// The boot ROM erases 4 KiB sectors, and picks the sector to erase from the block number: a
/// sector the image touches gets all its pages below the image's last, zeros where the ELF has
/// none (elf2uf2 does the same).
const SECTOR: u32 = 4096;

/// UF2 of a flash image given as `(address, bytes)` pieces (loadable ELF segments).
pub fn from_pieces(pieces: &[(u32, &[u8])], family_id: u32) -> anyhow::Result<Vec<u8>> {
    let mut pages: BTreeMap<u32, [u8; PAGE as usize]> = BTreeMap::new();
    for &(addr, bytes) in pieces {
        let len = u32::try_from(bytes.len()).context("segment larger than 4 GiB")?;
        let end = addr.checked_add(len).context("segment past 4 GiB")?;
        if !(FLASH.contains(&addr) && end <= FLASH.end) {
            bail!(
                "segment at {addr:#010x}..{end:#010x} is not in the RP2040's flash \
                 ({:#010x}..{:#010x}): not a flash image",
                FLASH.start,
                FLASH.end
            );
        }
        for (i, &b) in bytes.iter().enumerate() {
            let a = addr + i as u32;
            pages.entry(a & !(PAGE - 1)).or_insert([0; PAGE as usize])[(a % PAGE) as usize] = b;
        }
    }
    let Some(&last) = pages.keys().next_back() else {
        bail!("the ELF has no contents for flash");
    };
    let sectors: Vec<u32> = pages.keys().map(|a| a / SECTOR).collect();
    for sector in sectors {
        for page in (sector * SECTOR..(sector + 1) * SECTOR).step_by(PAGE as usize) {
            if page < last {
                pages.entry(page).or_insert([0; PAGE as usize]);
            }
        }
    }
    let count = pages.len() as u32;
    let mut out = Vec::with_capacity(pages.len() * BLOCK);
    for (n, (addr, data)) in pages.iter().enumerate() {
        for word in [
            MAGIC_START0,
            MAGIC_START1,
            FLAG_FAMILY_ID_PRESENT,
            *addr,
            PAGE,
            n as u32,
            count,
            family_id,
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(data);
        out.resize(out.len() + (BLOCK - 32 - PAGE as usize - 4), 0);
        out.extend_from_slice(&MAGIC_END.to_le_bytes());
    }
    Ok(out)
}

/// UF2 of an RP2040 firmware ELF: every `PT_LOAD` segment's file contents at its physical
/// (load) address, so `.data`'s initial values go to flash where the startup code copies them
/// from. Segments without file contents (`.bss`, the stack) are left out.
pub fn from_elf(elf: &[u8]) -> anyhow::Result<Vec<u8>> {
    let header = FileHeader32::<LittleEndian>::parse(elf)
        .context("not a 32-bit little-endian ELF (the RP2040 firmware is one)")?;
    let endian = header.endian().context("ELF byte order")?;
    let mut pieces = Vec::new();
    for ph in header
        .program_headers(endian, elf)
        .context("reading the ELF's program headers")?
    {
        if ph.p_type(endian) != PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let data = ph
            .data(endian, elf)
            .ok()
            .context("an ELF segment points past the end of the file")?;
        pieces.push((ph.p_paddr(endian), data));
    }
    from_pieces(&pieces, RP2040_FAMILY_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(block: &[u8], i: usize) -> u32 {
        u32::from_le_bytes(block[4 * i..4 * i + 4].try_into().unwrap())
    }

    #[test]
    fn blocks_have_the_magic_numbers_family_and_256_byte_payloads() {
        let code: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let uf2 = from_pieces(&[(0x1000_0000, &code)], RP2040_FAMILY_ID).unwrap();
        // 600 bytes = pages 0x000, 0x100, 0x200 (the last one partial).
        assert_eq!(uf2.len(), 3 * BLOCK);
        for (n, block) in uf2.chunks(BLOCK).enumerate() {
            assert_eq!(word(block, 0), MAGIC_START0);
            assert_eq!(word(block, 1), MAGIC_START1);
            assert_eq!(word(block, 2), FLAG_FAMILY_ID_PRESENT);
            assert_eq!(word(block, 3), 0x1000_0000 + 256 * n as u32);
            assert_eq!(word(block, 4), 256);
            assert_eq!(word(block, 5), n as u32, "block number");
            assert_eq!(word(block, 6), 3, "block count");
            assert_eq!(word(block, 7), 0xe48b_ff56, "RP2040 family id");
            assert_eq!(word(block, 127), MAGIC_END);
            let payload = &block[32..32 + 256];
            let want = &code[256 * n..(256 * (n + 1)).min(600)];
            assert_eq!(&payload[..want.len()], want);
            assert!(payload[want.len()..].iter().all(|&b| b == 0));
            assert!(block[32 + 256..508].iter().all(|&b| b == 0), "padding");
        }
    }

    #[test]
    fn gaps_inside_a_touched_sector_are_filled_and_pieces_merge() {
        // The boot loader (page 0) and, in the same 4 KiB sector, bytes at 0x1000_0800 that
        // straddle two pages: pages 0x100..0x700 are filled with zeros, nothing after the last.
        let uf2 = from_pieces(
            &[(0x1000_0000, &[1; 256]), (0x1000_08f0, &[2; 32])],
            RP2040_FAMILY_ID,
        )
        .unwrap();
        let blocks: Vec<&[u8]> = uf2.chunks(BLOCK).collect();
        assert_eq!(blocks.len(), 10);
        let addrs: Vec<u32> = blocks.iter().map(|b| word(b, 3)).collect();
        let want: Vec<u32> = (0..10).map(|i| 0x1000_0000 + 256 * i).collect();
        assert_eq!(addrs, want);
        assert!(blocks[4][32..32 + 256].iter().all(|&b| b == 0));
        assert_eq!(&blocks[8][32 + 0xf0..32 + 256], &[2; 16]);
        assert_eq!(&blocks[9][32..32 + 16], &[2; 16]);
    }

    #[test]
    fn memory_outside_flash_or_no_contents_is_an_error() {
        let err = from_pieces(&[(0x2000_0000, &[0; 4])], RP2040_FAMILY_ID).unwrap_err();
        assert!(
            err.to_string().contains("not in the RP2040's flash"),
            "{err}"
        );
        assert!(from_pieces(&[], RP2040_FAMILY_ID).is_err());
        assert!(from_elf(b"not an elf").is_err());
    }
}
