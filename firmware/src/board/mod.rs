//! Board layers: peripherals, clocks and the choice of mode. One is compiled per build,
//! selected by the cargo feature of the same name (build.rs insists on exactly one). Each
//! exports `NAME` (reported by `Info`) and `run`, the entry `main` calls.

#[cfg(any(
    feature = "qemu-mps2-an385",
    feature = "qemu-mps2-an386",
    feature = "qemu-mps2-an500",
    feature = "qemu-mps2-an505"
))]
mod mps2;

#[cfg(feature = "nucleo-f411re")]
mod nucleo_f411re;
#[cfg(feature = "nucleo-f411re")]
pub use nucleo_f411re::{run, NAME};

#[cfg(feature = "qemu-microbit")]
mod qemu_microbit;
#[cfg(feature = "qemu-microbit")]
pub use qemu_microbit::{run, NAME};

#[cfg(feature = "qemu-mps2-an385")]
mod qemu_mps2_an385;
#[cfg(feature = "qemu-mps2-an385")]
pub use qemu_mps2_an385::{run, NAME};

#[cfg(feature = "qemu-mps2-an386")]
mod qemu_mps2_an386;
#[cfg(feature = "qemu-mps2-an386")]
pub use qemu_mps2_an386::{run, NAME};

#[cfg(feature = "qemu-mps2-an500")]
mod qemu_mps2_an500;
#[cfg(feature = "qemu-mps2-an500")]
pub use qemu_mps2_an500::{run, NAME};

#[cfg(feature = "qemu-mps2-an505")]
mod qemu_mps2_an505;
#[cfg(feature = "qemu-mps2-an505")]
pub use qemu_mps2_an505::{run, NAME};

#[cfg(feature = "qemu-sifive-e")]
mod qemu_sifive_e;
#[cfg(feature = "qemu-sifive-e")]
pub use qemu_sifive_e::{run, NAME};

#[cfg(feature = "rp-pico")]
mod rp_pico;
#[cfg(feature = "rp-pico")]
pub use rp_pico::{run, NAME};

#[cfg(feature = "microbit-v2")]
mod microbit_v2;
#[cfg(feature = "microbit-v2")]
pub use microbit_v2::{run, NAME};
