//! Wire protocol between a host and the firmware (filled in by the firmware work).
