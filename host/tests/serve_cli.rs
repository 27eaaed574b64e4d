//! `host serve` as a user runs it: bound to 127.0.0.1 and saying so, serving the page, the
//! WebAssembly module and the model, the host's answer for a 28x28 image, the test set's
//! mistakes; bad requests and bad arguments get clear errors. (The page in a real browser, with
//! the chip, is `playground/e2e/browser-test.mjs`; the module on all test images,
//! `playground_node.rs`.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use host::data::mnist;
use model_format::{Model, INPUT};

/// A running `host serve --port 0`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("runs host serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let line = lines
        .find(|l| l.starts_with("serving the playground at "))
        .expect("host serve prints its URL");
    // Keep reading what it prints, as a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    assert!(line.contains("127.0.0.1 only"), "{line}");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    Server { child, addr }
}

/// One HTTP/1.0 request (so the reply is never chunked): (status, body).
fn request(server: &Server, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let split = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&reply[..split]);
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, reply[split + 4..].to_vec())
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[test]
fn serves_the_page_the_module_and_the_hosts_answers() {
    let server = start(&[]);
    let (status, page) = request(&server, "GET", "/", b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("<canvas id=\"pad\""));
    let (status, wasm) = request(&server, "GET", "/tinynet.wasm", b"");
    assert_eq!(status, 200);
    assert_eq!(&wasm[..4], b"\0asm");

    let (status, model_bytes) = request(&server, "GET", "/model.postcard", b"");
    assert_eq!(status, 200);
    let model = Model::from_bytes(&model_bytes).unwrap();
    let info = json(&request(&server, "GET", "/api/info", b"").1);
    assert_eq!(info["model"]["id"], format!("{:016x}", model.model_id()));
    assert_eq!(info["chip"], serde_json::Value::Null);
    assert_eq!(info["test_set"]["images"], 10_000);

    // The host's answer for test image 0 is Model::infer's.
    let (images, labels) = mnist::load_test(&mnist::default_data_dir()).unwrap();
    let (status, image0) = request(&server, "GET", "/api/test-image/0", b"");
    assert_eq!((status, &image0[..]), (200, &images[..INPUT]));
    let answer = json(&request(&server, "POST", "/api/infer", &image0).1);
    let p = model.infer(image0.as_slice().try_into().unwrap());
    assert_eq!(answer["class"], p.class);
    assert_eq!(answer["class"], labels[0]);
    assert_eq!(answer["logits"], serde_json::json!(p.logits()));

    // The mistakes are the test images the model gets wrong.
    let mistakes = json(&request(&server, "GET", "/api/mistakes", b"").1);
    let listed = mistakes["mistakes"].as_array().unwrap();
    let wrong = images
        .chunks_exact(INPUT)
        .zip(&labels)
        .filter(|(px, &l)| model.infer((*px).try_into().unwrap()).class != l)
        .count();
    assert_eq!(listed.len(), wrong);
    assert_eq!(info["test_set"]["mistakes"], wrong);
    let (status, pixels) = request(&server, "GET", "/api/mistakes/images", b"");
    assert_eq!((status, pixels.len()), (200, wrong * INPUT));
    let first = listed[0]["index"].as_u64().unwrap() as usize;
    assert_eq!(pixels[..INPUT], images[first * INPUT..(first + 1) * INPUT]);

    // Bad requests: clear errors, never a crash (the server still answers afterwards).
    let (status, body) = request(&server, "POST", "/api/infer", b"abc");
    assert_eq!(status, 400);
    assert!(json(&body)["error"]
        .as_str()
        .unwrap()
        .contains("784 bytes; got 3"));
    let (status, body) = request(&server, "POST", "/api/chip", &image0);
    assert_eq!(status, 404);
    assert!(json(&body)["error"].as_str().unwrap().contains("--qemu"));
    for path in [
        "/run/metrics.json",
        "/run/../Cargo.toml",
        "/nothing",
        "/api/test-image/10000",
    ] {
        assert_eq!(request(&server, "GET", path, b"").0, 404, "{path}");
    }
    assert_eq!(request(&server, "GET", "/", b"").0, 200);
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["serve", "--run", "/nonexistent-run", "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--run /nonexistent-run: not a folder"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.postcard");
    std::fs::write(&bad, b"not a model").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .args(["serve", "--model", bad.to_str().unwrap(), "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.postcard") && stderr.contains("magic"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
