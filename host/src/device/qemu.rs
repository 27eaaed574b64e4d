//! Running the firmware in QEMU: batch mode over semihosting files, the protocol over the
//! emulated UART (a Unix socket), and the boot check. The QEMU binary and machine are those of
//! the board the ELF was built for ([`Board::of_elf`]).

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use model_format::protocol::{batch, ExitCode};

use super::board::{Board, QemuMachine};

/// Find `qemu`'s binary on the given `PATH` value. Missing QEMU is an error with the install
/// command: the QEMU tests must fail, not skip, on a machine without it.
pub fn find_qemu_in(qemu: QemuMachine, path: Option<&OsStr>) -> anyhow::Result<PathBuf> {
    if let Some(path) = path {
        for dir in std::env::split_paths(path) {
            let candidate = dir.join(qemu.binary);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "{} not found on PATH; install it with `apt-get install -y {}` (Debian/Ubuntu)",
        qemu.binary,
        qemu.package
    )
}

/// Find the QEMU that runs `board` on this process's `PATH` (an error for real hardware).
pub fn find_qemu(board: Board) -> anyhow::Result<PathBuf> {
    find_qemu_in(board.qemu()?, std::env::var_os("PATH").as_deref())
}

/// The `-semihosting-config` value giving the firmware the command line `firmware ARGS...`.
fn semihosting_config(args: &[&str]) -> String {
    let mut cfg = String::from("enable=on,target=native,arg=firmware");
    for a in args {
        cfg.push_str(",arg=");
        cfg.push_str(&a.replace(',', ",,")); // a literal comma is doubled in QEMU options
    }
    cfg
}

/// QEMU for `elf` (the machine of the board it was built for), with semihosting arguments, no
/// display, no monitor, and exact instruction counting (`-icount shift=0`, which makes the
/// firmware's SysTick or `minstret` count instructions). Never `-cpu`: each machine has one.
fn qemu_command(elf: &Path, args: &[&str]) -> anyhow::Result<Command> {
    check_elf(elf)?;
    qemu_command_on(Board::of_elf(elf)?, elf, args)
}

/// [`qemu_command`] on `board`'s machine, whatever `elf` is (QEMU reports a bad file).
fn qemu_command_on(board: Board, elf: &Path, args: &[&str]) -> anyhow::Result<Command> {
    let mut cmd = Command::new(find_qemu(board)?);
    cmd.args(["-machine", board.qemu()?.machine])
        .args(["-display", "none", "-monitor", "none"])
        .args(["-icount", "shift=0"])
        .arg("-semihosting-config")
        .arg(semihosting_config(args))
        .arg("-kernel")
        .arg(elf);
    Ok(cmd)
}

/// What a QEMU run that exits by itself printed and returned.
#[derive(Debug)]
pub struct Finished {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Run QEMU until the firmware exits, at most `timeout`.
fn run_to_exit(mut cmd: Command, timeout: Duration) -> anyhow::Result<Finished> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("starting QEMU")?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "QEMU did not finish within {timeout:?}; output so far:\n{}",
                stdout.lock().map(|s| s.clone()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The pipes close when QEMU exits; give the reader threads a moment to finish.
    std::thread::sleep(Duration::from_millis(20));
    let text = |s: &Arc<Mutex<String>>| s.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(Finished {
        exit_code: status.code(),
        stdout: text(&stdout),
        stderr: text(&stderr),
    })
}

/// Collect a child's output in the background (so a full pipe never blocks QEMU).
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    if let Some(mut pipe) = pipe {
        let sink = Arc::clone(&text);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
    }
    text
}

/// `firmware check`: boot report and a self-test inference, then exit.
pub fn run_check(elf: &Path) -> anyhow::Result<Finished> {
    run_to_exit(qemu_command(elf, &["check"])?, Duration::from_secs(60))
}

/// The summary line of a batch run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    pub images: u64,
    pub instructions_total: u64,
    pub instructions_min: u64,
    pub instructions_max: u64,
    pub stack_high_water: u64,
}

/// One decoded output record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    pub class: u8,
    pub logits: Vec<i32>,
    pub instructions: u32,
}

/// Everything a batch run produced.
#[derive(Debug)]
pub struct BatchRun {
    pub model_id: u64,
    pub records: Vec<BatchRecord>,
    pub summary: BatchSummary,
    pub console: String,
}

/// Classify `images` (N x 784 raw pixels) in QEMU batch mode.
pub fn run_batch(elf: &Path, images: &[u8]) -> anyhow::Result<BatchRun> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let input = dir.path().join("images.bin");
    let output = dir.path().join("records.bin");
    std::fs::write(&input, images).with_context(|| format!("writing {}", input.display()))?;
    let (inp, out) = (path_str(&input)?, path_str(&output)?);
    // About 1 s per 500 images at 500k instructions each; allow plenty for slow CI machines.
    let timeout = Duration::from_secs(120 + images.len() as u64 / 784 / 20);
    let done = run_to_exit(qemu_command(elf, &["batch", inp, out])?, timeout)?;
    if done.exit_code == Some(ExitCode::ModelRejected.code()) {
        bail!(
            "the firmware rejected its model at boot:\n{}",
            done.stdout.trim()
        );
    }
    if done.exit_code != Some(ExitCode::Ok.code()) {
        bail!(
            "QEMU batch run failed (exit {:?}):\n{}{}",
            done.exit_code,
            done.stdout,
            done.stderr
        );
    }
    let summary = parse_summary(&done.stdout)?;
    let bytes = std::fs::read(&output).with_context(|| format!("reading {}", output.display()))?;
    let (model_id, records) = parse_records(&bytes)?;
    if records.len() as u64 != summary.images {
        bail!(
            "batch output has {} records but the firmware reported {} images",
            records.len(),
            summary.images
        );
    }
    Ok(BatchRun {
        model_id,
        records,
        summary,
        console: done.stdout,
    })
}

/// Run the firmware's kernel-parity mode (`firmware/src/parity.rs`; the ELF must be built with
/// the firmware feature `parity`, see `build::build_firmware_with`) on the case stream
/// `input` and return its raw output (status bytes and records).
pub fn run_parity(elf: &Path, input: &[u8]) -> anyhow::Result<Vec<u8>> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let (inp_path, out_path) = (dir.path().join("cases.bin"), dir.path().join("logits.bin"));
    std::fs::write(&inp_path, input).with_context(|| format!("writing {}", inp_path.display()))?;
    let (inp, out) = (path_str(&inp_path)?, path_str(&out_path)?);
    let timeout = Duration::from_secs(120 + input.len() as u64 / 200_000);
    let done = run_to_exit(qemu_command(elf, &["parity", inp, out])?, timeout)?;
    if done.exit_code != Some(ExitCode::Ok.code()) {
        bail!(
            "QEMU parity run failed (exit {:?}):\n{}{}",
            done.exit_code,
            done.stdout,
            done.stderr
        );
    }
    std::fs::read(&out_path).with_context(|| format!("reading {}", out_path.display()))
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    let s = p
        .to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))?;
    if s.contains(char::is_whitespace) {
        bail!("semihosting paths cannot contain whitespace: {s}");
    }
    Ok(s)
}

/// Parse `batch: images=N instructions_total=T ...` from the firmware's console output.
pub fn parse_summary(console: &str) -> anyhow::Result<BatchSummary> {
    let line = console
        .lines()
        .find(|l| l.starts_with("batch: images="))
        .with_context(|| format!("no batch summary in the firmware output:\n{console}"))?;
    let field = |key: &str| -> anyhow::Result<u64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .with_context(|| format!("`{key}` missing in `{line}`"))?
            .parse()
            .with_context(|| format!("bad `{key}` in `{line}`"))
    };
    Ok(BatchSummary {
        images: field("images")?,
        instructions_total: field("instructions_total")?,
        instructions_min: field("instructions_min")?,
        instructions_max: field("instructions_max")?,
        stack_high_water: field("stack_high_water")?,
    })
}

/// Parse the batch output file (`model_format::protocol::batch`).
pub fn parse_records(bytes: &[u8]) -> anyhow::Result<(u64, Vec<BatchRecord>)> {
    let (header, body) = batch::Header::decode(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let records = body
        .chunks_exact(header.record_len())
        .map(|r| {
            let rec = batch::decode_record(r, header.classes);
            BatchRecord {
                class: rec.class,
                logits: rec.logits[..header.classes].to_vec(),
                instructions: rec.cycles,
            }
        })
        .collect();
    Ok((header.model_id, records))
}

/// The firmware serving the protocol on its UART, reachable through a Unix socket.
/// QEMU is killed when this is dropped.
pub struct SerialSession {
    child: Child,
    pub stream: std::os::unix::net::UnixStream,
    console: Arc<Mutex<String>>,
    errors: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

/// An error if `elf` is not a file QEMU can boot (QEMU itself only says so on its stderr, after
/// the UART socket has accepted the connection).
pub fn check_elf(elf: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(elf) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => bail!("firmware ELF {}: not a regular file", elf.display()),
        Err(e) => bail!("firmware ELF {}: {e}", elf.display()),
    }
}

impl SerialSession {
    /// Boot `elf` in serve mode (on the machine of the board it was built for) and connect
    /// to its UART0.
    pub fn start(elf: &Path) -> anyhow::Result<Self> {
        check_elf(elf)?;
        Self::start_on(Board::of_elf(elf)?, elf)
    }

    /// [`SerialSession::start`] on `board`'s QEMU machine, without looking at `elf` first.
    pub fn start_on(board: Board, elf: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let sock = dir.path().join("uart0.sock");
        let mut cmd = qemu_command_on(board, elf, &["serve"])?;
        cmd.arg("-chardev")
            .arg(format!(
                "socket,id=uart0,path={},server=on,wait=on",
                path_str(&sock)?.replace(',', ",,")
            ))
            .args(["-serial", "chardev:uart0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("starting QEMU")?;
        let console = drain(child.stdout.take());
        let errors = drain(child.stderr.take());
        // QEMU creates the socket, then waits for us before it starts the CPU.
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "QEMU exited ({status}) before its UART socket was ready:\n{}",
                    errors.lock().map(|s| s.clone()).unwrap_or_default()
                );
            }
            if let Ok(s) = std::os::unix::net::UnixStream::connect(&sock) {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("QEMU's UART socket did not appear within 20 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        stream.set_read_timeout(Some(Duration::from_millis(200)))?;
        Ok(Self {
            child,
            stream,
            console,
            errors,
            _dir: dir,
        })
    }

    /// `err` (a failed exchange on the UART) with QEMU's own account if QEMU has exited or
    /// exits within a second (e.g. `Could not load kernel`); else `err` unchanged.
    pub fn explain(&mut self, err: anyhow::Error) -> anyhow::Error {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // The stderr pipe closes with QEMU; give its reader a moment to finish.
                    std::thread::sleep(Duration::from_millis(50));
                    let stderr = self.errors.lock().map(|s| s.clone()).unwrap_or_default();
                    let stderr = stderr.trim();
                    let said = if stderr.is_empty() {
                        "nothing on stderr".to_owned()
                    } else {
                        stderr.to_owned()
                    };
                    return err.context(format!("QEMU exited ({status}):\n{said}"));
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return err,
            }
        }
    }

    /// What the firmware printed on its semihosting console so far (the boot report).
    pub fn console(&self) -> String {
        self.console.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Wait until the console shows a line starting with `prefix`, at most `timeout`.
    pub fn wait_for_console(&self, prefix: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.console();
            if let Some(line) = text.lines().find(|l| l.starts_with(prefix)) {
                return Ok(line.to_owned());
            }
            if Instant::now() > deadline {
                bail!("the firmware printed no `{prefix}` line within {timeout:?}:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for SerialSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_qemu_is_an_error_with_the_install_hint() {
        let empty = tempfile::tempdir().unwrap();
        for (board, hint) in [
            (Board::QemuMps2An386, "apt-get install -y qemu-system-arm"),
            (Board::QemuSifiveE, "apt-get install -y qemu-system-misc"),
        ] {
            let qemu = board.qemu().unwrap();
            let err = find_qemu_in(qemu, Some(empty.path().as_os_str())).unwrap_err();
            assert!(err.to_string().contains(hint), "{err}");
            assert!(find_qemu_in(qemu, None).is_err());
        }
        assert!(find_qemu(Board::NucleoF411re).is_err());
    }

    #[test]
    fn semihosting_arguments_escape_commas() {
        assert_eq!(
            semihosting_config(&["batch", "a,b", "c"]),
            "enable=on,target=native,arg=firmware,arg=batch,arg=a,,b,arg=c"
        );
    }

    #[test]
    fn summary_and_records_parse() {
        let s = parse_summary(
            "firmware 0.1.0\nbatch: images=2 instructions_total=10 instructions_min=4 \
             instructions_max=6 stack_high_water=100\n",
        )
        .unwrap();
        assert_eq!(
            s,
            BatchSummary {
                images: 2,
                instructions_total: 10,
                instructions_min: 4,
                instructions_max: 6,
                stack_high_water: 100
            }
        );
        assert!(parse_summary("nothing here").is_err());

        let mut bytes = batch::MAGIC.to_vec();
        bytes.extend(7u64.to_le_bytes());
        bytes.extend(2u32.to_le_bytes());
        bytes.extend(13u32.to_le_bytes());
        bytes.push(1);
        bytes.extend((-5i32).to_le_bytes());
        bytes.extend(9i32.to_le_bytes());
        bytes.extend(40u32.to_le_bytes());
        let (id, recs) = parse_records(&bytes).unwrap();
        assert_eq!(id, 7);
        assert_eq!(
            recs,
            vec![BatchRecord {
                class: 1,
                logits: vec![-5, 9],
                instructions: 40
            }]
        );
        bytes.pop();
        assert!(parse_records(&bytes).is_err());
        assert!(parse_records(b"FWBATCH2").is_err());
    }
}
