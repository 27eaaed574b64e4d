//! The browser playground's WebAssembly module: the chip's integer forward pass
//! (`model-format`, unchanged) and the MNIST-style preprocessing of `host classify --image`
//! (`digit-preprocess`) compiled for `wasm32-unknown-unknown`, so a drawing in the browser is
//! classified by the very code, and bits, the microcontroller runs.
//!
//! [`activations`] is the safe part (plain Rust, tested on the host); `exports` the `extern "C"`
//! functions and fixed buffers the page's loader (`playground/web/tinynet.js`) calls. No
//! allocator: every buffer is a static of fixed size, so the module stays a few tens of KB.
#![cfg_attr(target_arch = "wasm32", no_std)]

pub mod activations;
#[cfg(target_arch = "wasm32")]
mod exports;

// On wasm32 a panic (none is reachable: the decoder and the forward pass return errors, and
// every buffer access is checked) traps, which the loader reports as a JavaScript exception.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
