//! The boards the firmware supports: ONE table (cargo feature, Rust target, core, QEMU binary
//! and machine, what the instruction counter counts). Everything that builds or boots the
//! firmware looks a board up here.

use std::path::Path;

use anyhow::{bail, Context};

/// A board of the firmware (its cargo feature is [`BoardSpec::feature`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Board {
    /// QEMU mps2-an386 (Cortex-M4F): the default.
    #[value(name = "mps2-an386", alias = "qemu-mps2-an386")]
    QemuMps2An386,
    /// QEMU mps2-an385 (Cortex-M3).
    #[value(name = "mps2-an385", alias = "qemu-mps2-an385")]
    QemuMps2An385,
    /// QEMU mps2-an500 (Cortex-M7).
    #[value(name = "mps2-an500", alias = "qemu-mps2-an500")]
    QemuMps2An500,
    /// QEMU mps2-an505 (Cortex-M33, Secure state).
    #[value(name = "mps2-an505", alias = "qemu-mps2-an505")]
    QemuMps2An505,
    /// QEMU microbit (nRF51822, Cortex-M0, 16 KiB RAM).
    #[value(name = "microbit", alias = "qemu-microbit")]
    QemuMicrobit,
    /// QEMU sifive_e (SiFive E31, RV32IMAC, 16 KiB RAM).
    #[value(name = "sifive-e", alias = "qemu-sifive-e")]
    QemuSifiveE,
    /// ST Nucleo-F411RE (STM32F411, Cortex-M4F): real hardware.
    #[value(name = "nucleo-f411re")]
    NucleoF411re,
    /// Raspberry Pi Pico (RP2040, Cortex-M0+): real hardware, USB CDC serial.
    #[value(name = "rp-pico")]
    RpPico,
    /// BBC micro:bit v2 (nRF52833, Cortex-M4F): real hardware.
    #[value(name = "microbit-v2")]
    MicrobitV2,
}

/// How QEMU runs a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QemuMachine {
    /// The QEMU binary.
    pub binary: &'static str,
    /// Its `-machine` (never with `-cpu`: each machine has its one CPU).
    pub machine: &'static str,
    /// The Debian/Ubuntu package that provides `binary`.
    pub package: &'static str,
}

/// What the firmware is on one board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardSpec {
    pub board: Board,
    /// The firmware's cargo feature, also the name the firmware reports (`Info`, boot line).
    pub feature: &'static str,
    /// The Rust target it builds for.
    pub target: &'static str,
    /// The CPU core.
    pub core: &'static str,
    /// `None` for real hardware.
    pub qemu: Option<QemuMachine>,
    /// What the per-inference count is, and its resolution.
    pub counter: &'static str,
}

const ARM: &str = "qemu-system-arm";
const fn arm(machine: &'static str) -> Option<QemuMachine> {
    Some(QemuMachine {
        binary: ARM,
        machine,
        package: ARM,
    })
}

/// The table, in [`Board`] order.
const BOARDS: [BoardSpec; 9] = [
    BoardSpec {
        board: Board::QemuMps2An386,
        feature: "qemu-mps2-an386",
        target: "thumbv7em-none-eabihf",
        core: "Cortex-M4F",
        qemu: arm("mps2-an386"),
        counter: "instructions: SysTick x 40 (resolution 40)",
    },
    BoardSpec {
        board: Board::QemuMps2An385,
        feature: "qemu-mps2-an385",
        target: "thumbv7m-none-eabi",
        core: "Cortex-M3",
        qemu: arm("mps2-an385"),
        counter: "instructions: SysTick x 40 (resolution 40)",
    },
    BoardSpec {
        board: Board::QemuMps2An500,
        feature: "qemu-mps2-an500",
        target: "thumbv7em-none-eabihf",
        core: "Cortex-M7",
        qemu: arm("mps2-an500"),
        counter: "instructions: SysTick x 40 (resolution 40)",
    },
    BoardSpec {
        board: Board::QemuMps2An505,
        feature: "qemu-mps2-an505",
        target: "thumbv8m.main-none-eabihf",
        core: "Cortex-M33",
        qemu: arm("mps2-an505"),
        counter: "instructions: SysTick x 50 (resolution 50)",
    },
    BoardSpec {
        board: Board::QemuMicrobit,
        feature: "qemu-microbit",
        target: "thumbv6m-none-eabi",
        core: "Cortex-M0",
        qemu: arm("microbit"),
        counter: "instructions: SysTick x 62.5 (resolution 62.5)",
    },
    BoardSpec {
        board: Board::QemuSifiveE,
        feature: "qemu-sifive-e",
        target: "riscv32imac-unknown-none-elf",
        core: "SiFive E31 (RV32IMAC)",
        qemu: Some(QemuMachine {
            binary: "qemu-system-riscv32",
            machine: "sifive_e",
            package: "qemu-system-misc",
        }),
        counter: "instructions: minstret (exact)",
    },
    BoardSpec {
        board: Board::NucleoF411re,
        feature: "nucleo-f411re",
        target: "thumbv7em-none-eabihf",
        core: "Cortex-M4F",
        qemu: None,
        counter: "CPU cycles: DWT CYCCNT",
    },
    BoardSpec {
        board: Board::RpPico,
        feature: "rp-pico",
        target: "thumbv6m-none-eabi",
        core: "Cortex-M0+",
        qemu: None,
        counter: "CPU cycles: SysTick, extended to 32 bits by its wrap interrupt",
    },
    BoardSpec {
        board: Board::MicrobitV2,
        feature: "microbit-v2",
        target: "thumbv7em-none-eabihf",
        core: "Cortex-M4F",
        qemu: None,
        counter: "CPU cycles: DWT CYCCNT",
    },
];

impl Board {
    /// Every board.
    pub fn all() -> impl Iterator<Item = Board> {
        BOARDS.iter().map(|s| s.board)
    }

    /// Every board QEMU runs.
    pub fn qemu_boards() -> impl Iterator<Item = Board> {
        BOARDS.iter().filter(|s| s.qemu.is_some()).map(|s| s.board)
    }

    /// This board's row of the table.
    pub fn spec(self) -> &'static BoardSpec {
        &BOARDS[self as usize]
    }

    /// The cargo feature (and board name reported by the firmware).
    pub fn feature(self) -> &'static str {
        self.spec().feature
    }

    /// How QEMU runs it, or an error for real hardware.
    pub fn qemu(self) -> anyhow::Result<QemuMachine> {
        self.spec().qemu.with_context(|| {
            format!(
                "{} is real hardware, not a QEMU board; QEMU boards: {}",
                self.feature(),
                Board::qemu_boards()
                    .map(|b| b.cli_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// The name `--board` takes.
    pub fn cli_name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_else(|| self.feature().to_owned())
    }

    /// The board a firmware ELF was built for: the board name the firmware reports is in its
    /// read-only data (exactly one board's name; `firmware/runner.sh` does the same).
    pub fn of_elf(elf: &Path) -> anyhow::Result<Board> {
        let bytes = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
        let found: Vec<Board> = Board::all()
            .filter(|b| {
                let name = b.feature().as_bytes();
                bytes.windows(name.len()).any(|w| w == name)
            })
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => bail!("{}: not a firmware ELF of any known board", elf.display()),
            many => bail!(
                "{}: names several boards ({many:?}); cannot tell which it was built for",
                elf.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_enum_order_and_names_are_unique() {
        for b in Board::all() {
            assert_eq!(b.spec().board, b);
        }
        let mut names: Vec<_> = Board::all().map(|b| b.feature()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), BOARDS.len());
        // No feature name contains another (of_elf searches for them as substrings).
        for a in Board::all() {
            for b in Board::all().filter(|&b| b != a) {
                assert!(!a.feature().contains(b.feature()), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn cli_names_and_aliases() {
        use clap::ValueEnum;
        assert_eq!(Board::QemuSifiveE.cli_name(), "sifive-e");
        assert_eq!(
            Board::from_str("qemu-mps2-an386", false),
            Ok(Board::QemuMps2An386)
        );
        assert_eq!(Board::from_str("microbit", false), Ok(Board::QemuMicrobit));
        assert!(Board::NucleoF411re.qemu().is_err());
        assert_eq!(Board::qemu_boards().count(), 6);
    }

    #[test]
    fn of_elf_finds_the_one_board_name() {
        let dir = tempfile::tempdir().unwrap();
        let elf = dir.path().join("fw.elf");
        std::fs::write(&elf, b"\x7fELF...qemu-microbit\0...").unwrap();
        assert_eq!(Board::of_elf(&elf).unwrap(), Board::QemuMicrobit);
        std::fs::write(&elf, b"qemu-microbit qemu-sifive-e").unwrap();
        assert!(Board::of_elf(&elf).is_err());
        std::fs::write(&elf, b"nothing").unwrap();
        assert!(Board::of_elf(&elf).is_err());
    }
}
