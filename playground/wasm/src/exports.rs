//! The `extern "C"` interface of the module (wasm32 only). JavaScript writes into buffers
//! whose addresses it asks for, calls a function, and reads results from other buffers:
//!
//! 1. `mf_model_buffer(len)` -> address of `len` bytes; copy the model file there, then
//!    `mf_model_load(len)` -> 0, or -1 with the reason at `mf_error_ptr()`/`mf_error_len()`.
//! 2. Either `mf_image_buffer(len)` (copy a canvas's RGBA, or grey, pixels there) and
//!    `mf_preprocess(width, height, channels)` -> 0 or -1 (the 28x28 result lands in the
//!    input), or write 784 pixels straight to `mf_input_ptr()` (the Node test does).
//! 3. `mf_infer()` -> the class (or -1 without a model); the logits at `mf_logits_ptr()`
//!    (`mf_classes()` i32s).
//! 4. `mf_activations()` -> 1 when the hidden activations at `mf_hidden_ptr()`
//!    (`mf_hidden_len()` bytes) reproduce the last logits, 0 if not, -1 before an inference.
//!
//! The buffers are statics behind `UnsafeCell`: a wasm instance is single-threaded and these
//! functions never call each other, so each call holds the only reference to what it touches.

use core::cell::UnsafeCell;

use digit_preprocess::{Image, Pixels};
use model_format::{DecodeError, Model, Prediction, INPUT};

use crate::activations::Activations;

/// Largest model file: a 784-1024-16 net in layout 2 (int16 layer-1 weights) is ~1.6 MB.
const MODEL_CAP: usize = 2 << 20;
/// Largest picture: 1024 x 1024 RGBA (the page's canvas is a few hundred pixels a side).
const IMAGE_CAP: usize = 1024 * 1024 * 4;

/// A static the exports share; see the module comment for why one reference at a time holds.
struct Shared<T>(UnsafeCell<T>);

// SAFETY: wasm32-unknown-unknown without the atomics feature has one thread: no two
// references to the inside can be taken concurrently.
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    const fn new(value: T) -> Self {
        Shared(UnsafeCell::new(value))
    }
}

static MODEL_BYTES: Shared<[u8; MODEL_CAP]> = Shared::new([0; MODEL_CAP]);
static IMAGE: Shared<[u8; IMAGE_CAP]> = Shared::new([0; IMAGE_CAP]);
static STATE: Shared<State> = Shared::new(State::new());

struct State {
    /// Decoded from `MODEL_BYTES`; `None` whenever JavaScript may be writing into them.
    model: Option<Model<'static>>,
    input: [u8; INPUT],
    prediction: Option<Prediction>,
    hidden: [u8; model_format::MAX_HIDDEN],
    hidden_len: usize,
    /// The last error (UTF-8).
    error: &'static str,
}

impl State {
    const fn new() -> Self {
        State {
            model: None,
            input: [0; INPUT],
            prediction: None,
            hidden: [0; model_format::MAX_HIDDEN],
            hidden_len: 0,
            error: "",
        }
    }
}

/// Why a model file does not load, in words, without `core::fmt`: formatting machinery would
/// add ~6 KB to a module that otherwise needs none (the server checks the model with
/// `Model::from_bytes` and its full message before it serves it).
fn decode_error(e: DecodeError) -> &'static str {
    match e {
        DecodeError::BadMagic => "not a model file: the first 4 bytes are not the magic MNI8",
        DecodeError::Truncated => "the model file is truncated",
        DecodeError::UnsupportedVersion(_) => "unsupported model format version",
        DecodeError::Malformed => "malformed model file (invalid varint or field)",
        DecodeError::TrailingBytes(_) => "unexpected bytes after the model file's CRC",
        DecodeError::CrcMismatch { .. } => "CRC mismatch: the model file is corrupted",
        DecodeError::IdMismatch { .. } => "the model id is not the CRC-64 of the payload",
        DecodeError::UnsupportedLayout(_) => "unsupported weight layout",
        DecodeError::DimsUnsupported { .. } => "unsupported model dimensions",
        DecodeError::SizeMismatch { .. } => "a parameter array has the wrong length",
        DecodeError::ParamOutOfRange { .. } => "a quantisation parameter is out of range",
    }
}

/// Why a picture yields no digit (as `digit_preprocess::Error`'s Display says, without numbers).
fn preprocess_error(e: digit_preprocess::Error) -> &'static str {
    match e {
        digit_preprocess::Error::Empty => "the picture has no pixels",
        digit_preprocess::Error::SizeMismatch { .. } => {
            "the picture's buffer does not match its size"
        }
        digit_preprocess::Error::Blank => "no digit found: the picture is blank",
    }
}

fn state() -> &'static mut State {
    // SAFETY: single-threaded and not re-entrant (module comment): each export takes this
    // reference once and drops it on return, so it is the only one alive.
    unsafe { &mut *STATE.0.get() }
}

/// Address of a buffer of `len` bytes for the model file (0 if it exceeds the capacity).
/// Forgets the loaded model: JavaScript is about to overwrite its bytes.
#[no_mangle]
pub extern "C" fn mf_model_buffer(len: usize) -> *mut u8 {
    let state = state();
    state.model = None;
    state.prediction = None;
    if len > MODEL_CAP {
        state.error = "the model file is larger than the playground holds (2 MiB)";
        return core::ptr::null_mut();
    }
    MODEL_BYTES.0.get().cast()
}

/// Decode the `len` bytes written at `mf_model_buffer`'s address: 0, or -1 (see the error).
#[no_mangle]
pub extern "C" fn mf_model_load(len: usize) -> i32 {
    let state = state();
    state.model = None;
    state.prediction = None;
    // SAFETY: JavaScript has finished writing (it calls this afterwards), and until the next
    // `mf_model_buffer` (which drops the model first) nothing writes to these bytes again, so
    // a shared `'static` borrow of them is sound.
    let all: &'static [u8; MODEL_CAP] = unsafe { &*MODEL_BYTES.0.get() };
    let Some(bytes) = all.get(..len) else {
        state.error = "the model file is larger than the playground holds (2 MiB)";
        return -1;
    };
    match Model::from_bytes(bytes) {
        Ok(model) => {
            state.model = Some(model);
            0
        }
        Err(e) => {
            state.error = decode_error(e);
            -1
        }
    }
}

/// Address of a buffer of `len` bytes for a picture (0 if it exceeds the capacity).
#[no_mangle]
pub extern "C" fn mf_image_buffer(len: usize) -> *mut u8 {
    if len > IMAGE_CAP {
        state().error = "the picture is larger than the playground takes (1024 x 1024 RGBA)";
        return core::ptr::null_mut();
    }
    IMAGE.0.get().cast()
}

/// Preprocess the `width` x `height` picture at `mf_image_buffer`'s address (`channels` bytes
/// a pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) into the input: 0, or -1 (see the error).
#[no_mangle]
pub extern "C" fn mf_preprocess(width: usize, height: usize, channels: usize) -> i32 {
    let state = state();
    // SAFETY: JavaScript wrote the picture before this call and writes nothing during it;
    // the borrow ends when this function returns.
    let all: &[u8; IMAGE_CAP] = unsafe { &*IMAGE.0.get() };
    let len = width.saturating_mul(height).saturating_mul(channels);
    let Some(bytes) = all.get(..len) else {
        state.error = "the picture is larger than the playground takes (1024 x 1024 RGBA)";
        return -1;
    };
    let pixels = match channels {
        1 => Pixels::Luma8(bytes),
        2 => Pixels::LumaAlpha8(bytes),
        3 => Pixels::Rgb8(bytes),
        4 => Pixels::Rgba8(bytes),
        _ => {
            state.error = "a pixel has 1, 2, 3 or 4 bytes";
            return -1;
        }
    };
    match Image::new(width, height, pixels).and_then(|image| digit_preprocess::preprocess(&image)) {
        Ok(digit) => {
            state.input = digit.pixels;
            0
        }
        Err(e) => {
            state.error = preprocess_error(e);
            -1
        }
    }
}

/// Address of the net's 28x28 input (784 bytes, row-major, ink bright on black).
#[no_mangle]
pub extern "C" fn mf_input_ptr() -> *mut u8 {
    state().input.as_mut_ptr()
}

/// Run the model on the input: the class, or -1 without a model.
#[no_mangle]
pub extern "C" fn mf_infer() -> i32 {
    let state = state();
    let Some(model) = &state.model else {
        state.error = "no model loaded";
        return -1;
    };
    let prediction = model.infer(&state.input);
    state.prediction = Some(prediction);
    state.hidden_len = 0;
    i32::from(prediction.class)
}

/// Address of the last inference's logits (`MAX_CLASSES` i32s, the first `mf_classes()` valid).
#[no_mangle]
pub extern "C" fn mf_logits_ptr() -> *const i32 {
    state()
        .prediction
        .as_ref()
        .map_or(core::ptr::null(), |p| p.logits.as_ptr())
}

/// Classes of the loaded model (0 without one).
#[no_mangle]
pub extern "C" fn mf_classes() -> usize {
    state().model.map_or(0, |m| m.dims().classes)
}

/// Hidden units of the loaded model (0 without one).
#[no_mangle]
pub extern "C" fn mf_hidden() -> usize {
    state().model.map_or(0, |m| m.dims().hidden)
}

/// `logit x logit_scale` approximates the float model's score (for the softmax on the page).
#[no_mangle]
pub extern "C" fn mf_logit_scale() -> f32 {
    state().model.map_or(0.0, |m| m.logit_scale())
}

/// The model id (CRC-64 of the payload), as the firmware reports it.
#[no_mangle]
pub extern "C" fn mf_model_id() -> u64 {
    state().model.map_or(0, |m| m.model_id())
}

/// Compute the hidden activations of the last inference: 1 if layer 2 on them gives its
/// logits, 0 if not, -1 before any inference.
#[no_mangle]
pub extern "C" fn mf_activations() -> i32 {
    let state = state();
    let (Some(model), Some(prediction)) = (&state.model, &state.prediction) else {
        state.error = "no inference yet";
        return -1;
    };
    let act = Activations::of(model, &state.input);
    let agree = act.agree(model, prediction);
    state.hidden = act.values;
    state.hidden_len = act.len;
    i32::from(agree)
}

/// Address of the hidden activations `mf_activations` computed.
#[no_mangle]
pub extern "C" fn mf_hidden_ptr() -> *const u8 {
    state().hidden.as_ptr()
}

/// How many hidden activations `mf_activations` computed.
#[no_mangle]
pub extern "C" fn mf_hidden_len() -> usize {
    state().hidden_len
}

/// Address of the last error message (UTF-8, `mf_error_len()` bytes).
#[no_mangle]
pub extern "C" fn mf_error_ptr() -> *const u8 {
    state().error.as_ptr()
}

/// Length of the last error message.
#[no_mangle]
pub extern "C" fn mf_error_len() -> usize {
    state().error.len()
}
