//! The USB CDC-ACM serial port (usbd-serial) as blocking `embedded-io` Read/Write, so that the
//! board-independent [`crate::server::Server`] runs on it unchanged.
//!
//! Nothing here uses interrupts: every call polls the USB device, which answers the host's
//! control requests (enumeration, line coding) and moves the bulk endpoints' packets. While
//! the server waits for a request it sits in [`embedded_io::Read::read`], polling; while it
//! classifies (milliseconds) nobody polls and the host simply retries (USB NAKs), which is
//! harmless once the device is enumerated.

use usb_device::bus::{UsbBus, UsbBusAllocator};
use usb_device::device::{
    StringDescriptors, UsbDevice, UsbDeviceBuilder, UsbDeviceState, UsbVidPid,
};
use usb_device::UsbError;
use usbd_serial::{SerialPort, USB_CLASS_CDC};

/// VOTI/OBDEV's shared USB ID for CDC-ACM devices (16c0:27dd), free to use for a serial
/// device that says who it is in its strings below (rp-hal's examples use it too).
const VID_PID: UsbVidPid = UsbVidPid(0x16c0, 0x27dd);

/// The device and its one serial class.
pub struct UsbSerial<'a, B: UsbBus> {
    device: UsbDevice<'a, B>,
    port: SerialPort<'a, B>,
}

impl<'a, B: UsbBus> UsbSerial<'a, B> {
    /// A CDC-ACM device on `bus` (None only if the descriptors were rejected, which the
    /// constant strings below cannot cause).
    pub fn new(bus: &'a UsbBusAllocator<B>) -> Option<Self> {
        // The class must be created before the device: it allocates the endpoints.
        let port = SerialPort::new(bus);
        let device = UsbDeviceBuilder::new(bus, VID_PID)
            .strings(&[StringDescriptors::default()
                .manufacturer("mnist-int8 firmware")
                .product("MNIST int8 classifier (rp-pico)")
                .serial_number(crate::BOARD)])
            .ok()?
            .device_class(USB_CLASS_CDC)
            .build();
        Some(Self { device, port })
    }

    /// Let the device answer the host and move packets.
    fn poll(&mut self) {
        self.device.poll(&mut [&mut self.port]);
    }

    /// Whether a host has configured the device (cable in, driver bound).
    fn configured(&self) -> bool {
        self.device.state() == UsbDeviceState::Configured
    }
}

impl<B: UsbBus> embedded_io::ErrorType for UsbSerial<'_, B> {
    type Error = embedded_io::ErrorKind;
}

/// A USB error other than "try again" (which the loops below handle) as an `embedded-io` kind.
fn kind(e: UsbError) -> embedded_io::ErrorKind {
    match e {
        UsbError::Unsupported => embedded_io::ErrorKind::Unsupported,
        UsbError::BufferOverflow
        | UsbError::EndpointOverflow
        | UsbError::EndpointMemoryOverflow => embedded_io::ErrorKind::OutOfMemory,
        _ => embedded_io::ErrorKind::Other,
    }
}

impl<B: UsbBus> embedded_io::Read for UsbSerial<'_, B> {
    /// Blocks (polling) until at least one byte arrived; never returns 0 for a non-empty
    /// buffer, so the server never sees an end of input.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            self.poll();
            match self.port.read(buf) {
                Ok(0) | Err(UsbError::WouldBlock) => {}
                Ok(n) => return Ok(n),
                Err(e) => return Err(kind(e)),
            }
        }
    }
}

impl<B: UsbBus> embedded_io::Write for UsbSerial<'_, B> {
    /// Blocks (polling) until the port's buffer took at least one byte. With no host
    /// attached (cable pulled, device not configured) the bytes are dropped: a reply nobody
    /// can read must not hang the device.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.configured() {
                return Ok(buf.len());
            }
            match self.port.write(buf) {
                Ok(0) | Err(UsbError::WouldBlock) => self.poll(),
                Ok(n) => return Ok(n),
                Err(e) => return Err(kind(e)),
            }
        }
    }

    /// Blocks (polling) until the port's buffer went out to the USB controller.
    fn flush(&mut self) -> Result<(), Self::Error> {
        loop {
            if !self.configured() {
                return Ok(());
            }
            match self.port.flush() {
                Ok(()) => return Ok(()),
                Err(UsbError::WouldBlock) => self.poll(),
                Err(e) => return Err(kind(e)),
            }
        }
    }
}
