//! The playground's WebAssembly module under Node.js on all 10,000 MNIST test images: logits
//! identical to the host's `Model::infer`, every one. Fails (never skips) when Node.js is
//! missing, with the install command.

use std::process::Command;

use host::data::mnist;
use host::device::firmware_build::{default_model_path, workspace_root};
use host::serve::wasm_build::build_wasm;
use model_format::{Model, INPUT};

#[test]
fn wasm_under_node_gives_the_host_logits_on_the_whole_test_set() {
    let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
    let version = Command::new(&node).arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "Node.js is missing ({version:?}): install it with `apt-get install -y nodejs` (or set NODE)"
    );

    let wasm = build_wasm().expect("building the WebAssembly module");
    let model_path = default_model_path();
    let bytes = std::fs::read(&model_path).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let (images, _) = mnist::load_test(&mnist::default_data_dir()).unwrap();
    assert_eq!(images.len(), 10_000 * INPUT);
    let expected: Vec<u8> = images
        .chunks_exact(INPUT)
        .flat_map(|px| {
            let p = model.infer(px.try_into().unwrap());
            p.logits()
                .iter()
                .flat_map(|l| l.to_le_bytes())
                .collect::<Vec<_>>()
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let (images_path, expected_path) =
        (dir.path().join("images.u8"), dir.path().join("logits.i32"));
    std::fs::write(&images_path, &images).unwrap();
    std::fs::write(&expected_path, &expected).unwrap();
    let script = workspace_root().join("playground/node/check-logits.mjs");
    let out = Command::new(&node)
        .arg(&script)
        .arg(&wasm)
        .arg(&model_path)
        .arg(&images_path)
        .arg(&expected_path)
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "node check-logits.mjs failed:\n{stdout}{stderr}"
    );
    assert!(
        stdout.contains("identical to the host's on 10000 images"),
        "{stdout}"
    );
}
