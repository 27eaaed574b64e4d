//! Helpers for the QEMU integration tests.
