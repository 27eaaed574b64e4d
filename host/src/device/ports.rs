//! A real board's serial port: finding it by USB VID/PID, opening it, and the first `Info`
//! exchange, with a one-line hint for each way this fails (no such port, permission denied,
//! no answer). `host classify --port` and `host deploy` both go through here.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serialport::{SerialPort, SerialPortInfo, SerialPortType};

use super::board::Board;
use super::client::{Client, DeviceInfo, NoReply, Reply};

/// A USB device (vendor and product id) that carries a board's serial port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbId {
    pub vid: u16,
    pub pid: u16,
    /// What it is, for messages.
    pub what: &'static str,
}

const fn usb(vid: u16, pid: u16, what: &'static str) -> UsbId {
    UsbId { vid, pid, what }
}

/// The ST-LINK variants on Nucleo boards (V2-1 on the F411RE; the V3 ones on newer Nucleos):
/// their virtual COM port is the board's USART2.
const ST_LINK: [UsbId; 6] = [
    usb(0x0483, 0x374b, "ST-LINK/V2-1"),
    usb(0x0483, 0x3752, "ST-LINK/V2-1"),
    usb(0x0483, 0x374e, "STLINK-V3"),
    usb(0x0483, 0x374f, "STLINK-V3"),
    usb(0x0483, 0x3753, "STLINK-V3"),
    usb(0x0483, 0x3754, "STLINK-V3"),
];

/// The micro:bit's interface chip running DAPLink: its virtual COM port is the nRF52833's UARTE0.
const DAPLINK: [UsbId; 1] = [usb(0x0d28, 0x0204, "DAPLink (micro:bit)")];

/// The Pico's firmware is its own USB device (`firmware/src/board/rp_pico/usb_serial.rs`).
const RP_PICO: [UsbId; 1] = [usb(0x16c0, 0x27dd, "MNIST firmware on the Pico (USB CDC)")];

/// The USB devices whose serial port talks to `board` (none for a QEMU board).
pub fn usb_ids(board: Board) -> &'static [UsbId] {
    match board {
        Board::NucleoF411re => &ST_LINK,
        Board::MicrobitV2 => &DAPLINK,
        Board::RpPico => &RP_PICO,
        _ => &[],
    }
}

/// The names of the ports among `ports` that belong to one of `ids`.
pub fn matching_ports(ports: &[SerialPortInfo], ids: &[UsbId]) -> Vec<String> {
    ports
        .iter()
        .filter(|p| match &p.port_type {
            SerialPortType::UsbPort(u) => ids.iter().any(|id| id.vid == u.vid && id.pid == u.pid),
            _ => false,
        })
        .map(|p| p.port_name.clone())
        .collect()
}

/// The serial ports of this machine (none, rather than a panic, where the system cannot list
/// them: serialport's Linux scan without libudev expects `/sys/class/tty`).
pub fn available_ports() -> Vec<SerialPortInfo> {
    if cfg!(target_os = "linux") && !std::path::Path::new("/sys/class/tty").is_dir() {
        return Vec::new();
    }
    serialport::available_ports().unwrap_or_default()
}

/// "serial ports found: ..." or the hint that there are none, for error messages.
pub fn describe_ports(ports: &[SerialPortInfo]) -> String {
    if ports.is_empty() {
        return "no serial ports found: is the board plugged in?".to_owned();
    }
    let list: Vec<String> = ports
        .iter()
        .map(|p| match &p.port_type {
            SerialPortType::UsbPort(u) => format!(
                "{} (USB {:04x}:{:04x}{})",
                p.port_name,
                u.vid,
                u.pid,
                u.product
                    .as_deref()
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default()
            ),
            _ => p.port_name.clone(),
        })
        .collect();
    format!("serial ports found: {}", list.join(", "))
}

/// The one port of `board` among `ports`: an error naming the USB ids and the ports there are
/// when there is none, or asking for `--port` when there are several.
pub fn find_board_port(board: Board, ports: &[SerialPortInfo]) -> anyhow::Result<String> {
    let ids = usb_ids(board);
    let found = matching_ports(ports, ids);
    let wanted = ids
        .iter()
        .map(|id| format!("{:04x}:{:04x}", id.vid, id.pid))
        .collect::<Vec<_>>()
        .join(", ");
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "no serial port of a {} (USB {wanted}); {}; or pass --port",
            board.feature(),
            describe_ports(ports)
        ),
        many => bail!(
            "several serial ports could be the {}: {}; pick one with --port",
            board.feature(),
            many.join(", ")
        ),
    }
}

/// Wait up to `within` for `board`'s port to appear (a Pico's only appears once its firmware
/// runs), polling the port list.
pub fn wait_for_board_port(board: Board, within: Duration) -> anyhow::Result<String> {
    let deadline = Instant::now() + within;
    loop {
        let result = find_board_port(board, &available_ports());
        if result.is_ok() || Instant::now() >= deadline {
            return result;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// What to tell the user about a failed open of `port`, in one line.
pub fn open_error_hint(port: &str, err: &serialport::Error, ports: &[SerialPortInfo]) -> String {
    use serialport::ErrorKind;
    match err.kind() {
        ErrorKind::Io(std::io::ErrorKind::NotFound) => {
            format!("{port}: no such serial port; {}", describe_ports(ports))
        }
        ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => format!(
            "{port}: permission denied: add yourself to the dialout group: \
             sudo usermod -aG dialout $USER, then log in again \
             (probe-rs also needs its udev rules: https://probe.rs/docs/getting-started/probe-setup/)"
        ),
        // serialport reports EBUSY (the port is held exclusively) as NoDevice.
        ErrorKind::NoDevice => format!(
            "{port}: the port is busy: another program has it open (a serial terminal, \
             another host command); close it and try again"
        ),
        _ => format!(
            "opening {port}: {} (is it a serial port? {})",
            err.description,
            describe_ports(ports)
        ),
    }
}

/// Open `port` at `baud` (reads time out after 200 ms; the client bounds the whole wait).
pub fn open(port: &str, baud: u32) -> anyhow::Result<Box<dyn SerialPort>> {
    serialport::new(port, baud)
        .timeout(Duration::from_millis(200))
        .open()
        .map_err(|e| anyhow::anyhow!(open_error_hint(port, &e, &available_ports())))
}

/// Open `port` and wait (5 s) for the firmware's `Info`: a client ready for requests, or the
/// error that says why the port is silent. `classify --port` and `classify --image --port`.
pub fn connect(port: &str, baud: u32) -> anyhow::Result<Client<Box<dyn SerialPort>>> {
    let reply_timeout = Duration::from_secs(5);
    let mut client = Client::new(open(port, baud)?, reply_timeout);
    wait_for_info(
        &mut client,
        reply_timeout,
        reply_timeout,
        &format!("{port} does not answer: {}", no_answer_hint()),
    )?;
    Ok(client)
}

/// The hint for a port that never answers: the usual cause is a board without our firmware.
pub fn no_answer_hint() -> String {
    let boards = Board::all()
        .filter(|b| b.spec().qemu.is_none())
        .map(|b| b.cli_name())
        .collect::<Vec<_>>()
        .join("|");
    format!("is the firmware flashed? run `host deploy --board {boards}`")
}

/// The first exchange on a freshly opened line: send `Info` until the device answers (up to
/// `within`; it may still be booting), skipping the error replies to a half frame someone left
/// on the line (PROTOCOL.md, "resynchronises when it opens the line"). Replies to the requests
/// repeated meanwhile are drained, so that the next reply answers the next request. Silence
/// for the whole time is an error ending in `hint`.
pub fn wait_for_info<S: Read + Write>(
    client: &mut Client<S>,
    within: Duration,
    reply_timeout: Duration,
    hint: &str,
) -> anyhow::Result<DeviceInfo> {
    const RETRY: Duration = Duration::from_millis(1000);
    let deadline = Instant::now() + within;
    client.set_reply_timeout(RETRY.min(within));
    let mut awaiting = false;
    let info = loop {
        let reply = if awaiting {
            client.read_reply()
        } else {
            awaiting = true;
            client.request(model_format::protocol::RequestBody::Info)
        };
        match reply {
            Ok(Reply::Info(info)) => break info,
            // An answer to a stale half frame: ours comes after it.
            Ok(_) => {}
            Err(e) if e.is::<NoReply>() => {
                if Instant::now() >= deadline {
                    bail!("no reply within {within:?}: {hint}");
                }
                awaiting = false;
            }
            Err(e) => return Err(e).context("asking the device for Info"),
        }
    };
    // Late answers to the repeated requests (a handful at most), then the normal timeout.
    client.set_reply_timeout(Duration::from_millis(300));
    for _ in 0..16 {
        if client.read_reply().is_err() {
            break;
        }
    }
    client.set_reply_timeout(reply_timeout);
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialport::UsbPortInfo;

    fn usb_port(name: &str, vid: u16, pid: u16) -> SerialPortInfo {
        SerialPortInfo {
            port_name: name.to_owned(),
            port_type: SerialPortType::UsbPort(UsbPortInfo {
                vid,
                pid,
                serial_number: None,
                manufacturer: None,
                product: Some("probe".to_owned()),
            }),
        }
    }

    fn ports() -> Vec<SerialPortInfo> {
        vec![
            SerialPortInfo {
                port_name: "/dev/ttyS0".into(),
                port_type: SerialPortType::Unknown,
            },
            usb_port("/dev/ttyACM0", 0x0483, 0x374b),
            usb_port("/dev/ttyACM1", 0x0d28, 0x0204),
            usb_port("/dev/ttyACM2", 0x16c0, 0x27dd),
            usb_port("/dev/ttyUSB0", 0x0403, 0x6001),
        ]
    }

    #[test]
    fn each_board_finds_its_own_port_by_vid_pid() {
        let ports = ports();
        assert_eq!(
            find_board_port(Board::NucleoF411re, &ports).unwrap(),
            "/dev/ttyACM0"
        );
        assert_eq!(
            find_board_port(Board::MicrobitV2, &ports).unwrap(),
            "/dev/ttyACM1"
        );
        assert_eq!(
            find_board_port(Board::RpPico, &ports).unwrap(),
            "/dev/ttyACM2"
        );
        // A QEMU board has no USB port; a board absent from the list is an error naming it.
        assert!(matching_ports(&ports, usb_ids(Board::QemuMps2An386)).is_empty());
        let err = find_board_port(Board::RpPico, &ports[..2])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("16c0:27dd") && err.contains("/dev/ttyACM0"),
            "{err}"
        );
    }

    #[test]
    fn every_st_link_variant_matches_and_two_boards_need_port() {
        let ports: Vec<_> = ST_LINK
            .iter()
            .enumerate()
            .map(|(i, id)| usb_port(&format!("/dev/ttyACM{i}"), id.vid, id.pid))
            .collect();
        assert_eq!(
            matching_ports(&ports, usb_ids(Board::NucleoF411re)).len(),
            6
        );
        let err = find_board_port(Board::NucleoF411re, &ports[..2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--port"), "{err}");
    }

    #[test]
    fn no_ports_says_plug_the_board_in() {
        assert_eq!(
            describe_ports(&[]),
            "no serial ports found: is the board plugged in?"
        );
        let err = find_board_port(Board::NucleoF411re, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("is the board plugged in"), "{err}");
    }

    #[test]
    fn open_errors_get_their_hint() {
        let io = |k| serialport::Error::new(serialport::ErrorKind::Io(k), "x");
        let missing = open_error_hint("/dev/x", &io(std::io::ErrorKind::NotFound), &ports());
        assert!(
            missing.contains("no such serial port")
                && missing.contains("/dev/ttyACM0 (USB 0483:374b probe)"),
            "{missing}"
        );
        let denied = open_error_hint("/dev/x", &io(std::io::ErrorKind::PermissionDenied), &[]);
        assert!(
            denied.contains("sudo usermod -aG dialout $USER") && denied.contains("udev"),
            "{denied}"
        );
        assert!(!denied.contains('\n'));
    }

    #[test]
    fn the_no_answer_hint_names_the_real_boards() {
        let hint = no_answer_hint();
        assert!(
            hint.contains("host deploy --board nucleo-f411re|rp-pico|microbit-v2"),
            "{hint}"
        );
    }
}
