//! Talking to the firmware: building it, running it in QEMU (batch mode and the serial
//! protocol), flashing it to real boards (`deploy`), the protocol client and serial ports for
//! real boards, and ELF footprints; and `classify --image`, a picture file of a digit
//! classified on the host and the device. The `tests` crate drives the firmware through this
//! module.

pub mod board;
pub mod classify;
pub mod classify_image;
pub mod client;
pub mod density;
pub mod deploy;
pub mod digit_image;
pub mod elf;
pub mod firmware_build;
pub mod flash;
pub mod ports;
pub mod qemu;
pub mod qemu_eval;
pub mod uf2;
