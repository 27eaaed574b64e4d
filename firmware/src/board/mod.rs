//! Board layers: peripherals, clocks and the choice of mode. One is compiled per build,
//! selected by the cargo feature of the same name.

#[cfg(all(feature = "qemu-mps2-an386", feature = "nucleo-f411re"))]
compile_error!("enable exactly one board feature (use --no-default-features for nucleo-f411re)");

#[cfg(feature = "nucleo-f411re")]
mod nucleo_f411re;
#[cfg(feature = "nucleo-f411re")]
pub use nucleo_f411re::run;

#[cfg(feature = "rp-pico")]
mod rp_pico;
#[cfg(feature = "rp-pico")]
pub use rp_pico::run;

#[cfg(feature = "microbit-v2")]
mod microbit_v2;
#[cfg(feature = "microbit-v2")]
pub use microbit_v2::run;

#[cfg(all(feature = "qemu-mps2-an386", not(feature = "nucleo-f411re")))]
mod qemu_mps2_an386;
#[cfg(all(feature = "qemu-mps2-an386", not(feature = "nucleo-f411re")))]
pub use qemu_mps2_an386::run;

#[cfg(not(any(
    feature = "qemu-mps2-an386",
    feature = "nucleo-f411re",
    feature = "rp-pico",
    feature = "microbit-v2"
)))]
compile_error!(
    "enable one board feature: qemu-mps2-an386 (default), nucleo-f411re, rp-pico or microbit-v2"
);
