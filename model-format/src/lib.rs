//! The model file format and the integer forward pass, shared by host and firmware.
#![no_std]

pub mod protocol;
