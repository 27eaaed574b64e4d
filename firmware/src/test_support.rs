//! Fakes for the host unit tests: an in-memory byte stream, a recording LED, a counting
//! stopwatch, and small random models built with `model_format`'s encoder.

use std::collections::VecDeque;
use std::vec::Vec;

/// A valid random model with `hidden` units and 10 classes (deterministic per seed).
pub fn tiny_model(hidden: usize, seed: u64) -> Vec<u8> {
    model_format::testing::random_model(hidden, 10, model_format::testing::Weights::Uniform, seed)
}

/// A byte stream: reads from `input` (at most `max_read` bytes per call, 0 at the end),
/// appends writes to `output`.
pub struct FakeIo {
    input: VecDeque<u8>,
    pub output: Vec<u8>,
    pub max_read: usize,
}

impl FakeIo {
    pub fn new(input: Vec<u8>) -> Self {
        Self {
            input: input.into(),
            output: Vec::new(),
            max_read: 7,
        }
    }
}

impl embedded_io::ErrorType for FakeIo {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for FakeIo {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.max_read).min(self.input.len());
        for (dst, src) in buf.iter_mut().zip(self.input.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl embedded_io::Write for FakeIo {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// An LED that remembers its state and how often it was switched on.
#[derive(Debug, Default)]
pub struct FakeLed {
    pub high: bool,
    pub rising: usize,
}

impl embedded_hal::digital::ErrorType for FakeLed {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for FakeLed {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.high = false;
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        if !self.high {
            self.rising += 1;
        }
        self.high = true;
        Ok(())
    }
}

/// A stopwatch whose reading is the number of `elapsed` calls since `start`.
#[derive(Debug, Default)]
pub struct TickingStopwatch {
    ticks: u32,
}

impl crate::Stopwatch for TickingStopwatch {
    fn start(&mut self) {
        self.ticks = 0;
    }
    fn elapsed(&mut self) -> u32 {
        self.ticks += 1;
        self.ticks
    }
}
