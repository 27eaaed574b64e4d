// The playground page: drawing pad -> Rust preprocessing and int8 forward pass (WebAssembly)
// -> class, logits, softmax, hidden activations; the chip's answer beside it; the test set's
// mistakes; the training run's pictures. Plain JS, no framework, no build step.
import { TinyNet, SIDE, INPUT } from "/tinynet.js";

const $ = (id) => document.getElementById(id);
const PEN = 18; // stroke width on the 280x280 pad: ~2 px of the 28x28 input, as MNIST's strokes

// What the page last computed; the browser test reads it (window.playground).
const state = { seq: 0, input: null, class: null, logits: null, chip: null, chipSeq: -1, error: null };
window.playground = state;

let net;
let info;

async function main() {
  const [wasm, model, infoJson] = await Promise.all([
    fetch("/tinynet.wasm").then((r) => r.arrayBuffer()),
    fetch("/model.postcard").then((r) => r.arrayBuffer()),
    fetch("/api/info").then((r) => r.json()),
  ]);
  info = infoJson;
  net = await TinyNet.load(wasm);
  net.loadModel(model);
  $("meta").textContent =
    `model ${net.modelId} (784-${net.hidden}-${net.classes}, ${info.model.layout}), ` +
    `WebAssembly module ${(info.wasm_bytes / 1024).toFixed(1)} KiB` +
    (info.chip ? `, chip: ${info.chip.board}` : "");
  setupPad();
  setupChip();
  loadMistakes();
  loadRun();
  state.ready = true;
}

// ---- drawing pad -------------------------------------------------------------------------
const strokes = [];
let current = null;

function setupPad() {
  const pad = $("pad");
  const ctx = pad.getContext("2d");
  const point = (e) => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener("pointerdown", (e) => {
    pad.setPointerCapture(e.pointerId);
    current = [point(e)];
    strokes.push(current);
    redraw(ctx);
  });
  pad.addEventListener("pointermove", (e) => {
    if (!current) return;
    current.push(point(e));
    redraw(ctx);
    scheduleClassify();
  });
  const end = () => {
    if (!current) return;
    current = null;
    scheduleClassify();
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  $("undo").addEventListener("click", () => {
    strokes.pop();
    redraw(ctx);
    scheduleClassify();
  });
  $("clear").addEventListener("click", () => {
    strokes.length = 0;
    redraw(ctx);
    scheduleClassify();
  });
  redraw(ctx);
}

function redraw(ctx) {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.strokeStyle = "#111";
  ctx.fillStyle = "#111";
  ctx.lineWidth = PEN;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const s of strokes) {
    ctx.beginPath();
    ctx.moveTo(s[0][0], s[0][1]);
    if (s.length === 1) ctx.lineTo(s[0][0] + 0.01, s[0][1]);
    for (const [x, y] of s.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

let pending = false;
function scheduleClassify() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    classifyPad();
  });
}

function classifyPad() {
  const pad = $("pad");
  if (strokes.length === 0) {
    showEmpty("Draw a digit with the mouse, a pen or a finger.");
    return;
  }
  const image = pad.getContext("2d").getImageData(0, 0, pad.width, pad.height);
  let input;
  try {
    input = net.preprocess(image.data, image.width, image.height, 4);
  } catch (e) {
    showEmpty(String(e.message || e));
    return;
  }
  classify(input, "your drawing");
}

// ---- the net -----------------------------------------------------------------------------
function classify(input, what) {
  net.setInput(input);
  const { class: cls, logits } = net.infer();
  const { values, agree } = net.activations();
  const probs = net.probabilities(logits);
  state.seq += 1;
  Object.assign(state, { input: Array.from(input), class: cls, logits: Array.from(logits), error: null });
  $("status").textContent = `Classified ${what} in the browser.`;
  drawInput(input);
  $("class").textContent = String(cls);
  $("confidence").textContent = `${(100 * probs[cls]).toFixed(1)} % confident`;
  drawLogits(logits, probs, cls);
  drawHidden(values, agree);
  askChip(state.seq, input, logits);
}

function showEmpty(message) {
  state.seq += 1;
  Object.assign(state, { input: null, class: null, logits: null, chip: null, error: message });
  $("status").textContent = message;
  $("class").textContent = "–";
  $("confidence").textContent = "";
  $("logits").querySelector("tbody").innerHTML = "";
  drawInput(new Uint8Array(INPUT));
  drawHidden(new Uint8Array(0), true);
  if (info && info.chip) chipMessage("Waiting for a drawing.");
}

function drawInput(input) {
  drawGrey($("input"), input, SIDE, SIDE);
}

function drawGrey(canvas, values, w, h) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = values[i] ?? 0;
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

function drawLogits(logits, probs, cls) {
  const max = Math.max(1, ...Array.from(logits, Math.abs));
  const rows = Array.from(logits, (l, k) => {
    const width = (50 * Math.abs(l)) / max;
    const bar = l >= 0
      ? `<span class="pos" style="left:50%;width:${width}%"></span>`
      : `<span class="negv" style="left:${50 - width}%;width:${width}%"></span>`;
    return `<tr class="${k === cls ? "top" : ""}"><td>${k}</td>` +
      `<td class="barcell"><div class="bar">${bar}<span class="zero" style="left:50%"></span></div></td>` +
      `<td class="num logit-value">${l}</td><td class="num">${(100 * probs[k]).toFixed(1)} %</td></tr>`;
  });
  $("logits").querySelector("tbody").innerHTML = rows.join("");
}

// Heat map of the hidden units: as square as the count allows, dark = 0, bright = 255.
function drawHidden(values, agree) {
  const canvas = $("hidden");
  const n = values.length;
  if (n === 0) {
    drawGrey(canvas, [], 1, 1);
    return;
  }
  const cols = Math.ceil(Math.sqrt(2 * n));
  const rows = Math.ceil(n / cols);
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  for (let i = 0; i < cols * rows; i++) {
    const v = i < n ? values[i] : 0;
    // A warm ramp: black -> red -> yellow -> white.
    const rgb = [Math.min(255, 3 * v), Math.max(0, Math.min(255, 3 * v - 255)), Math.max(0, 3 * v - 510)];
    img.data.set(i < n ? [...rgb, 255] : [40, 44, 52, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  const active = Array.from(values).filter((v) => v > 0).length;
  $("hidden-note").textContent =
    `${n} units, ${active} active (u8 after requantisation and ReLU; brighter = larger).` +
    (agree ? "" : " WARNING: these activations do not reproduce the logits.");
}

// ---- the chip ----------------------------------------------------------------------------
function setupChip() {
  if (!info.chip) return;
  chipMessage(`${info.chip.board} is ready: draw a digit.`);
}

function chipMessage(text) {
  $("chip").innerHTML = `<p class="note">${escapeHtml(text)}</p>`;
}

let chipBusy = false;
let chipNext = null;

function askChip(seq, input, logits) {
  if (!info.chip) return;
  chipNext = { seq, input: Uint8Array.from(input), logits: Array.from(logits) };
  if (!chipBusy) pumpChip();
}

// One request at a time (the server holds one connection to the chip); only the latest
// drawing is sent once the chip is free again.
async function pumpChip() {
  chipBusy = true;
  while (chipNext) {
    const job = chipNext;
    chipNext = null;
    try {
      const r = await fetch("/api/chip", { method: "POST", body: job.input });
      const answer = await r.json();
      if (!r.ok) throw new Error(answer.error || r.statusText);
      showChip(job, answer);
    } catch (e) {
      state.chip = { error: String(e.message || e) };
      state.chipSeq = job.seq;
      chipMessage(`the chip did not answer: ${e.message || e}`);
    }
  }
  chipBusy = false;
}

function showChip(job, answer) {
  const same = answer.logits.length === job.logits.length && answer.logits.every((l, k) => l === job.logits[k]);
  state.chip = { ...answer, identical: same };
  state.chipSeq = job.seq;
  const rows = answer.logits.map((l, k) =>
    `<tr${k === answer.class ? ' class="top"' : ""}><td>${k}</td><td>${job.logits[k]}</td>` +
    `<td class="chip-logit">${l}</td></tr>`).join("");
  const el = $("chip");
  el.dataset.seq = String(job.seq);
  el.innerHTML =
    `<p><span class="badge ${same ? "same" : "diff"}" id="chip-verdict">${same ? "identical" : "DIFFERENT"}</span> ` +
    `${escapeHtml(answer.board)} says <b id="chip-class">${answer.class}</b>, ` +
    `<span id="chip-confidence">${(100 * answer.confidence).toFixed(1)} %</span> confident</p>` +
    `<p><span class="count" id="chip-count">${answer.count.toLocaleString("en")}</span> ${escapeHtml(answer.unit)}</p>` +
    `<table><thead><tr><th>digit</th><th>browser</th><th>chip</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// ---- the test set's mistakes -------------------------------------------------------------
let mistakes = [];
let mistakePixels = new Uint8Array(0);
let shown = 0;

async function loadMistakes() {
  const r = await fetch("/api/mistakes");
  const body = await r.json();
  if (!r.ok) {
    $("mistakes-note").textContent = `No test set: ${body.error}`;
    return;
  }
  mistakes = body.mistakes;
  // All their pixels in one request, 784 bytes each, in the same order.
  mistakePixels = new Uint8Array(await fetch("/api/mistakes/images").then((r) => r.arrayBuffer()));
  $("mistakes-note").textContent =
    `${mistakes.length} of ${body.images.toLocaleString("en")} test images are misclassified ` +
    `(accuracy ${(100 * (1 - mistakes.length / body.images)).toFixed(2)} %). ` +
    "Label → prediction; click one to run it here and on the chip.";
  $("more").addEventListener("click", showMoreMistakes);
  showMoreMistakes();
}

function showMoreMistakes() {
  const box = $("mistakes");
  const next = mistakes.slice(shown, shown + 48);
  next.forEach((m, k) => {
    const at = (shown + k) * INPUT;
    const pixels = mistakePixels.subarray(at, at + INPUT);
    const item = document.createElement("div");
    item.className = "mistake";
    item.title = `test image ${m.index}`;
    const canvas = document.createElement("canvas");
    item.append(canvas);
    const label = document.createElement("div");
    label.innerHTML = `${m.label} → <span class="wrong">${m.predicted}</span>`;
    item.append(label);
    box.append(item);
    drawGrey(canvas, pixels, SIDE, SIDE);
    item.addEventListener("click", () => {
      strokes.length = 0;
      redraw($("pad").getContext("2d"));
      classify(pixels, `test image ${m.index} (label ${m.label})`);
      $("result-card").scrollIntoView({ behavior: "smooth" });
    });
  });
  shown += next.length;
  $("more").hidden = shown >= mistakes.length;
}

// ---- the training run --------------------------------------------------------------------
async function loadRun() {
  const box = $("run");
  if (!info.run) {
    box.innerHTML = `<p class="note">The model ${escapeHtml(info.model.path)} has no run folder beside it: ` +
      "start the server with <code>--run DIR</code> (a folder written by <code>host train</code>) to see its " +
      "loss, accuracy, weights and confusion matrix here.</p>";
    return;
  }
  let html = "";
  if (info.metrics) {
    const m = await fetch("/run/metrics.json").then((r) => r.json());
    const pct = (x) => (x == null ? "–" : `${(100 * x).toFixed(2)} %`);
    html += `<dl><dt>hidden units</dt><dd>${m.hidden}</dd><dt>iterations</dt><dd>${m.iters}</dd>` +
      `<dt>validation accuracy</dt><dd>${pct(m.val_acc)}</dd><dt>test accuracy (float)</dt><dd>${pct(m.test_acc)}</dd>` +
      `<dt>test accuracy (int8)</dt><dd>${pct(m.int8_test_acc)}</dd><dt>final loss</dt><dd>${Number(m.final_loss).toFixed(4)}</dd></dl>`;
  }
  for (const p of info.pictures) html += `<a href="/run/${p}"><img src="/run/${p}" alt="${p}"></a>`;
  box.innerHTML = html || `<p class="note">${escapeHtml(info.run)} holds no pictures yet (<code>host report DIR</code> draws them).</p>`;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

main().catch((e) => {
  state.error = String(e.message || e);
  $("meta").innerHTML = `<span class="error">The playground did not start: ${escapeHtml(e.message || e)}</span>`;
});
