//! `host serve`: the browser playground. A small synchronous HTTP server on 127.0.0.1 serving
//! the page (embedded, [`assets`]), the WebAssembly module that runs the chip's forward pass in
//! the browser ([`wasm_build`]), the model, the run's pictures and metrics, the test set's
//! mistakes ([`mistakes`]), the host's own answer for a 28x28 input, and with a chip
//! ([`chip`]) the firmware's answer over the serial protocol.
//!
//! | method, path | answer |
//! | --- | --- |
//! | GET `/`, `/style.css`, `/app.js`, `/tinynet.js` | the page |
//! | GET `/tinynet.wasm`, `/model.postcard` | the module and the model bytes |
//! | GET `/api/info` | JSON: model, run, test set, chip |
//! | GET `/api/mistakes` | JSON: the test images the model gets wrong |
//! | GET `/api/mistakes/images` | their pixels, 784 bytes each, in the same order (one request) |
//! | GET `/api/test-image/N` | test image N, 784 raw bytes |
//! | GET `/run/NAME` | the run's `metrics.json` and pictures (`loss.png`, ...) |
//! | POST `/api/infer` (784 bytes) | JSON: the host's class and logits (`Model::infer`) |
//! | POST `/api/chip` (784 bytes) | JSON: the chip's class, logits and instruction/cycle count |

pub mod assets;
pub mod chip;
pub mod mistakes;
pub mod wasm_build;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use model_format::{Model, INPUT};
use serde_json::json;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::report::pictures::RUN_PICTURES;
use chip::{Chip, ChipSource};
use mistakes::TestSet;

/// What `host serve` serves.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub model_path: PathBuf,
    /// The run folder whose pictures and metrics.json the page shows (none for a bare model).
    pub run_dir: Option<PathBuf>,
    /// The MNIST folder (the test set's mistakes).
    pub data_dir: PathBuf,
    /// TCP port on 127.0.0.1; 0 picks a free one (the tests do).
    pub port: u16,
    pub chip: Option<ChipSource>,
}

/// Requests served at once (the page loads a few files in parallel; the chip is one at a time).
const WORKERS: usize = 4;

/// Everything the handlers read, loaded before the first request.
struct Served<'a> {
    config: &'a ServeConfig,
    model_bytes: &'a [u8],
    model: Model<'a>,
    wasm: Vec<u8>,
    /// The test set, or why it could not be loaded.
    test_set: Result<TestSet, String>,
    chip: Option<Mutex<Chip>>,
}

/// Load everything, bind 127.0.0.1:`port`, print the URL and serve until killed.
pub fn serve(config: &ServeConfig) -> anyhow::Result<()> {
    let model_bytes = std::fs::read(&config.model_path)
        .with_context(|| format!("reading the model {}", config.model_path.display()))?;
    let model = Model::from_bytes(&model_bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", config.model_path.display()))?;
    // The page's bars and the mistakes browser are for MNIST's ten digits.
    anyhow::ensure!(
        model.dims().classes <= 10,
        "{}: {} classes; the playground shows MNIST's 10",
        config.model_path.display(),
        model.dims().classes
    );
    eprintln!("building the WebAssembly module (cargo, first use only)...");
    let wasm_path = wasm_build::build_wasm()?;
    let wasm =
        std::fs::read(&wasm_path).with_context(|| format!("reading {}", wasm_path.display()))?;
    let test_set = TestSet::load(&config.data_dir, &model).map_err(|e| format!("{e:#}"));
    if let Err(e) = &test_set {
        eprintln!("warning: no test-set browser: {e}");
    }
    let chip = match &config.chip {
        None => None,
        Some(source) => Some(Mutex::new(Chip::open(source, &config.model_path, &model)?)),
    };
    let served = Served {
        config,
        model_bytes: &model_bytes,
        model,
        wasm,
        test_set,
        chip,
    };

    let server = Server::http(("127.0.0.1", config.port))
        .map_err(|e| anyhow::anyhow!("listening on 127.0.0.1:{}: {e}", config.port))?;
    let addr = server
        .server_addr()
        .to_ip()
        .context("the server has no IP address")?;
    let chip_line = match &served.chip {
        Some(c) => format!(
            ", chip: {}",
            c.lock().map(|c| c.board.clone()).unwrap_or_default()
        ),
        None => String::new(),
    };
    // The URL last: a script (the browser test) waits for that line. Write errors are ignored:
    // whoever started us may have stopped reading, which is no reason to stop serving.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "model {:016x} ({}){chip_line}; Ctrl-C stops",
        served.model.model_id(),
        config.model_path.display(),
    );
    let _ = writeln!(out, "serving the playground at http://{addr}/ (bound to 127.0.0.1 only: not reachable from other machines)");
    let _ = out.flush();
    drop(out);

    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                while let Ok(request) = server.recv() {
                    served.handle(request);
                }
            });
        }
    });
    Ok(())
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn bytes(status: u16, mime: &str, body: Vec<u8>) -> Reply {
    let mut reply = Response::from_data(body).with_status_code(status);
    // The model and module can change between runs of the server: never serve stale ones.
    for (name, value) in [("Content-Type", mime), ("Cache-Control", "no-store")] {
        // ASCII constants of this file: always a valid header.
        if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            reply.add_header(h);
        }
    }
    reply
}

fn json_reply(status: u16, value: &serde_json::Value) -> Reply {
    bytes(
        status,
        "application/json",
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

fn error(status: u16, message: impl std::fmt::Display) -> Reply {
    json_reply(status, &json!({ "error": message.to_string() }))
}

impl Served<'_> {
    fn handle(&self, mut request: Request) {
        let path = request.url().split('?').next().unwrap_or("/").to_owned();
        let reply = match request.method() {
            Method::Get | Method::Head => self.get(&path),
            Method::Post => match read_image(&mut request) {
                Ok(pixels) => self.post(&path, &pixels),
                Err(e) => error(400, e),
            },
            _ => error(405, "only GET and POST"),
        };
        // A client that went away is no error of ours.
        let _ = request.respond(reply);
    }

    fn get(&self, path: &str) -> Reply {
        if let Some(asset) = assets::find(path) {
            return bytes(200, asset.mime, asset.body.as_bytes().to_vec());
        }
        match path {
            "/tinynet.wasm" => bytes(200, "application/wasm", self.wasm.clone()),
            "/model.postcard" => bytes(200, "application/octet-stream", self.model_bytes.to_vec()),
            "/api/info" => json_reply(200, &self.info()),
            "/api/mistakes/images" => match &self.test_set {
                Ok(t) => bytes(200, "application/octet-stream", t.mistake_images()),
                Err(e) => error(404, e),
            },
            "/api/mistakes" => match &self.test_set {
                Ok(t) => json_reply(200, &json!({ "mistakes": t.mistakes, "images": t.len() })),
                Err(e) => error(404, e),
            },
            _ => {
                if let Some(n) = path.strip_prefix("/api/test-image/") {
                    self.test_image(n)
                } else if let Some(name) = path.strip_prefix("/run/") {
                    self.run_file(name)
                } else {
                    error(404, format!("nothing at {path}"))
                }
            }
        }
    }

    fn post(&self, path: &str, pixels: &[u8; INPUT]) -> Reply {
        match path {
            "/api/infer" => {
                let p = self.model.infer(pixels);
                json_reply(200, &json!({ "class": p.class, "logits": p.logits() }))
            }
            "/api/chip" => match &self.chip {
                None => error(
                    404,
                    "no chip: start the server with --qemu or --port-device DEV",
                ),
                Some(chip) => {
                    let answer = match chip.lock() {
                        Ok(mut chip) => chip.classify(pixels),
                        Err(_) => Err(anyhow::anyhow!("the chip connection failed earlier")),
                    };
                    match answer {
                        Ok(a) => json_reply(200, &json!(a)),
                        Err(e) => error(502, format!("{e:#}")),
                    }
                }
            },
            _ => error(404, format!("nothing to POST at {path}")),
        }
    }

    fn info(&self) -> serde_json::Value {
        let dims = self.model.dims();
        let run = self.config.run_dir.as_deref();
        let pictures: Vec<&str> = RUN_PICTURES
            .iter()
            .copied()
            .filter(|n| run.is_some_and(|d| d.join(n).is_file()))
            .collect();
        let chip = self
            .chip
            .as_ref()
            .and_then(|c| c.lock().ok())
            .map(|c| json!({ "board": c.board }));
        json!({
            "model": {
                "id": format!("{:016x}", self.model.model_id()),
                "path": self.config.model_path.display().to_string(),
                "hidden": dims.hidden,
                "classes": dims.classes,
                "layout": format!("{:?}", self.model.layout()),
                "bytes": self.model_bytes.len(),
            },
            "wasm_bytes": self.wasm.len(),
            "run": run.map(|d| d.display().to_string()),
            "pictures": pictures,
            "metrics": run.is_some_and(|d| d.join("metrics.json").is_file()),
            "test_set": match &self.test_set {
                Ok(t) => json!({ "images": t.len(), "mistakes": t.mistakes.len() }),
                Err(e) => json!({ "error": e }),
            },
            "chip": chip,
        })
    }

    fn test_image(&self, n: &str) -> Reply {
        let Ok(test_set) = &self.test_set else {
            return error(404, "no test set");
        };
        match n.parse::<usize>().ok().and_then(|i| test_set.image(i)) {
            Some(pixels) => bytes(200, "application/octet-stream", pixels.to_vec()),
            None => error(404, format!("no test image {n:?} (0..{})", test_set.len())),
        }
    }

    /// Only the files a run folder is known to hold: no path from the URL reaches the disk.
    fn run_file(&self, name: &str) -> Reply {
        let Some(dir) = &self.config.run_dir else {
            return error(404, "no run folder: start the server with --run DIR");
        };
        let mime = if name == "metrics.json" {
            "application/json"
        } else if RUN_PICTURES.contains(&name) {
            "image/png"
        } else {
            return error(404, format!("a run folder has no {name:?}"));
        };
        match std::fs::read(dir.join(name)) {
            Ok(body) => bytes(200, mime, body),
            Err(e) => error(404, format!("{}: {e}", dir.join(name).display())),
        }
    }
}

/// The body of a POST: exactly one 28x28 image (784 bytes).
fn read_image(request: &mut Request) -> anyhow::Result<[u8; INPUT]> {
    let mut body = Vec::with_capacity(INPUT + 1);
    request
        .as_reader()
        .take(INPUT as u64 + 1)
        .read_to_end(&mut body)
        .context("reading the request body")?;
    <[u8; INPUT]>::try_from(body.as_slice()).map_err(|_| {
        anyhow::anyhow!(
            "the body must be one 28x28 image, {INPUT} bytes; got {}{}",
            body.len().min(INPUT),
            if body.len() > INPUT { " or more" } else { "" }
        )
    })
}

/// The run folder of a model file, when it sits in one (a `metrics.json` beside it).
pub fn run_dir_of(model: &Path) -> Option<PathBuf> {
    let dir = model.parent()?;
    dir.join("metrics.json")
        .is_file()
        .then(|| dir.to_path_buf())
}
