// The WebAssembly module under Node.js on a set of 28x28 images: its logits must equal the
// host's (model_format::Model::infer, run natively), every one of them.
//
//   node check-logits.mjs MODULE.wasm MODEL.postcard IMAGES.u8 EXPECTED.i32
//
// IMAGES.u8: n x 784 pixel bytes. EXPECTED.i32: n x classes little-endian i32 logits. Also
// checks that the hidden activations the page shows reproduce the logits (layer 2 on them).
// Prints one summary line; exits 1 on the first difference (with the image and both logits).
import { readFileSync } from "node:fs";
import { TinyNet, INPUT } from "../web/tinynet.js";

const [wasmPath, modelPath, imagesPath, expectedPath] = process.argv.slice(2);
if (!expectedPath) {
  console.error("usage: node check-logits.mjs MODULE.wasm MODEL.postcard IMAGES.u8 EXPECTED.i32");
  process.exit(2);
}
const net = await TinyNet.load(readFileSync(wasmPath));
net.loadModel(readFileSync(modelPath));
const images = readFileSync(imagesPath);
const raw = readFileSync(expectedPath);
const expected = new Int32Array(raw.buffer, raw.byteOffset, raw.length / 4);
const n = images.length / INPUT;
if (!Number.isInteger(n) || expected.length !== n * net.classes) {
  console.error(`${n} images but ${expected.length / net.classes} expected logit rows`);
  process.exit(2);
}
const start = performance.now();
let activationsChecked = 0;
for (let i = 0; i < n; i++) {
  net.setInput(images.subarray(i * INPUT, (i + 1) * INPUT));
  const { logits } = net.infer();
  const want = expected.subarray(i * net.classes, (i + 1) * net.classes);
  if (!logits.every((l, k) => l === want[k])) {
    console.error(`image ${i}: wasm logits ${Array.from(logits)} differ from the host's ${Array.from(want)}`);
    process.exit(1);
  }
  if (!net.activations().agree) {
    console.error(`image ${i}: the hidden activations do not reproduce the logits`);
    process.exit(1);
  }
  activationsChecked++;
}
const ms = performance.now() - start;
console.log(
  `wasm logits identical to the host's on ${n} images (${net.classes} classes, model ${net.modelId}); ` +
  `hidden activations reproduce the logits on ${activationsChecked}; ${(ms / n).toFixed(3)} ms an image in Node ${process.version}`
);
