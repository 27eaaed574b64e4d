//! The chip beside the browser: one connection to the firmware (in QEMU, or a board on a serial
//! port), opened when the server starts and kept open, over which each drawing's 28x28 input
//! is classified with the existing protocol (`Client::classify`).

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use model_format::protocol::CycleCounter;
use model_format::{Model, INPUT};
use serde::Serialize;

use crate::device::board::Board;
use crate::device::classify::check_device_model;
use crate::device::client::Client;
use crate::device::firmware_build::build_firmware;
use crate::device::qemu::SerialSession;

/// Where the chip is.
#[derive(Debug, Clone)]
pub enum ChipSource {
    /// The firmware, built for `board` with the served model, in QEMU.
    Qemu(Board),
    /// A board running the firmware on this serial port.
    Port { port: String, baud: u32 },
}

/// A byte stream to the firmware: QEMU's UART socket or a serial port.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// An open connection to the firmware.
pub struct Chip {
    client: Client<Box<dyn Stream>>,
    /// Kept alive for as long as the chip is used: dropping it stops QEMU.
    session: Option<SerialSession>,
    pub board: String,
    pub counter: CycleCounter,
}

/// The chip's answer for one image, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ChipAnswer {
    pub board: String,
    pub class: u8,
    pub logits: Vec<i32>,
    /// Cost of the inference, in `unit`.
    pub count: u32,
    /// The chip's softmax probability of `class` (protocol v2).
    pub confidence: f32,
    pub unit: &'static str,
}

impl Chip {
    /// Connect to the firmware (building it and booting QEMU for `Qemu`) and check that it runs
    /// the model the page runs.
    pub fn open(source: &ChipSource, model_path: &Path, model: &Model<'_>) -> anyhow::Result<Self> {
        let (stream, session): (Box<dyn Stream>, _) = match source {
            ChipSource::Qemu(board) => {
                board.qemu()?;
                let elf = build_firmware(*board, model_path, true)?;
                let session = SerialSession::start(&elf)?;
                let stream = session
                    .stream
                    .try_clone()
                    .context("cloning QEMU's UART socket")?;
                (Box::new(stream), Some(session))
            }
            ChipSource::Port { port, baud } => {
                (Box::new(crate::device::ports::open(port, *baud)?), None)
            }
        };
        let mut chip = Chip {
            client: Client::new(stream, Duration::from_secs(10)),
            session,
            board: String::new(),
            counter: CycleCounter::CpuCycles,
        };
        let info = chip
            .client
            .resync()
            .context("asking the device for Info")
            .map_err(|e| chip.explain(e))?;
        check_device_model(&info, model)?;
        chip.board = info.board;
        chip.counter = info.counter;
        Ok(chip)
    }

    /// Classify one 28x28 image on the chip.
    pub fn classify(&mut self, pixels: &[u8; INPUT]) -> anyhow::Result<ChipAnswer> {
        let reply = self.client.classify(pixels).map_err(|e| self.explain(e))?;
        Ok(ChipAnswer {
            board: self.board.clone(),
            class: reply.class,
            logits: reply.logits.to_vec(),
            count: reply.cycles,
            confidence: reply.confidence,
            unit: match self.counter {
                CycleCounter::CpuCycles => "CPU cycles",
                CycleCounter::QemuInstructions => "instructions (QEMU -icount)",
            },
        })
    }

    /// `err` with QEMU's own account if QEMU has exited.
    fn explain(&mut self, err: anyhow::Error) -> anyhow::Error {
        match &mut self.session {
            Some(s) => s.explain(err),
            None => err,
        }
    }
}
