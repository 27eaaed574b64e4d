// The playground in a real browser: Debian's chromium, driven by playwright-core, loads the page
// from `host serve --qemu`, draws strokes that trace an MNIST test digit, and checks that the
// class and logits the page shows equal the host's for the same 28x28 input, and that the chip
// panel shows the same logits. Then clicks a test-set mistake (its logits must be the host's),
// and checks a phone-sized viewport (no sideways scrolling, a drawing classifies). Screenshots
// go to out/.
//
//   node browser-test.mjs HOST_BINARY [--board mps2-an386] [--digit N]
//
// Environment: CHROMIUM (default /usr/bin/chromium).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "out");
const args = process.argv.slice(2);
const hostBin = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const board = opt("--board", "mps2-an386");
const digit = Number(opt("--digit", "0"));
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const t0 = performance.now();
const secs = () => ((performance.now() - t0) / 1000).toFixed(1);

function fail(message) {
  console.error(`browser test FAILED: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

if (!hostBin || !existsSync(hostBin)) {
  console.error("usage: node browser-test.mjs HOST_BINARY [--board B] [--digit N] (build it: cargo build -p host)");
  process.exit(2);
}
if (!existsSync(chromiumPath)) {
  console.error(`no chromium at ${chromiumPath}: install it with 'apt-get install -y chromium' (or set CHROMIUM)`);
  process.exit(1);
}
mkdirSync(out, { recursive: true });

// ---- the server ------------------------------------------------------------------------------
function startServer() {
  // A process group of its own: the test stops the server and its QEMU together.
  const server = spawn(hostBin, ["serve", "--qemu", "--board", board, "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  server.stderr.on("data", (d) => (stderr += d));
  const url = new Promise((resolve, reject) => {
    let stdout = "";
    server.stdout.on("data", (d) => {
      stdout += d;
      const m = stdout.match(/serving the playground at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) resolve(m[1]);
    });
    server.on("exit", (code) => reject(new Error(`host serve exited (${code}):\n${stderr}`)));
    // unref: a pending timer must not keep Node alive once the test is over.
    setTimeout(() => reject(new Error(`host serve printed no URL within 10 minutes:\n${stderr}`)), 600_000).unref();
  });
  return { server, url };
}

async function post(url, pixels) {
  const r = await fetch(url, { method: "POST", body: Uint8Array.from(pixels) });
  if (!r.ok) fail(`POST ${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// Strokes tracing a 28x28 image: one horizontal stroke per run of ink (> 127) in each row,
// in pad coordinates.
function strokesOf(pixels, box) {
  const strokes = [];
  const at = (x, y) => [box.x + ((x + 0.5) * box.width) / 28, box.y + ((y + 0.5) * box.height) / 28];
  for (let y = 0; y < 28; y++) {
    let x = 0;
    while (x < 28) {
      if (pixels[y * 28 + x] > 127) {
        const start = x;
        while (x < 28 && pixels[y * 28 + x] > 127) x++;
        strokes.push([at(start, y), at(x - 1, y)]);
      } else x++;
    }
  }
  return strokes;
}

async function draw(page, pixels) {
  const box = await page.locator("#pad").boundingBox();
  for (const [[x0, y0], [x1, y1]] of strokesOf(pixels, box)) {
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x1, y1, { steps: 3 });
    await page.mouse.up();
  }
}

// The page's shown class and logits, once the chip has answered for the latest drawing.
async function settled(page, withChip) {
  await page.waitForFunction(
    (chip) => window.playground.logits && (!chip || window.playground.chipSeq === window.playground.seq),
    withChip,
    { timeout: 60_000 },
  );
  await page.waitForTimeout(100);
  return page.evaluate(() => ({
    input: window.playground.input,
    seq: window.playground.seq,
    chipSeq: window.playground.chipSeq,
    shownClass: Number(document.getElementById("class").textContent),
    shownLogits: Array.from(document.querySelectorAll(".logit-value"), (e) => Number(e.textContent)),
    chipLogits: Array.from(document.querySelectorAll(".chip-logit"), (e) => Number(e.textContent)),
    chipClass: Number(document.getElementById("chip-class")?.textContent),
    chipVerdict: document.getElementById("chip-verdict")?.textContent,
    chipCount: document.getElementById("chip-count")?.textContent,
    chipSeqShown: Number(document.getElementById("chip").dataset.seq),
  }));
}

const { server, url: urlPromise } = startServer();
let browser;
try {
  const url = await urlPromise;
  console.log(`[${secs()} s] host serve --qemu --board ${board} is up at ${url}`);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
  const errors = [];
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url);
  await page.waitForFunction(() => window.playground.ready === true, null, { timeout: 30_000 });
  console.log(`[${secs()} s] page loaded (${browser.version()})`);

  // 1. Draw test digit `digit`.
  const test = await fetch(`${url}api/test-image/${digit}`);
  const pixels = new Uint8Array(await test.arrayBuffer());
  await draw(page, pixels);
  const drawn = await settled(page, true);
  if (!drawn.input || drawn.input.length !== 784) fail("the page has no 28x28 input after drawing");
  const host = await post(`${url}api/infer`, drawn.input);
  console.log(`[${secs()} s] drew test image ${digit}: page says ${drawn.shownClass} ${JSON.stringify(drawn.shownLogits)}`);
  console.log(`            host says ${host.class} ${JSON.stringify(host.logits)}`);
  console.log(`            chip says ${drawn.chipClass} ${JSON.stringify(drawn.chipLogits)} (${drawn.chipVerdict}, ${drawn.chipCount} instructions)`);
  if (drawn.shownClass !== host.class) fail(`page class ${drawn.shownClass}, host ${host.class}`);
  if (!same(drawn.shownLogits, host.logits)) fail("the page's logits differ from the host's");
  if (drawn.chipSeqShown !== drawn.seq) fail(`chip panel shows drawing ${drawn.chipSeqShown}, the page is at ${drawn.seq}`);
  if (!same(drawn.chipLogits, host.logits)) fail("the chip panel's logits differ from the host's");
  if (drawn.chipClass !== host.class) fail(`chip class ${drawn.chipClass}, host ${host.class}`);
  if (drawn.chipVerdict !== "identical") fail(`chip panel says ${drawn.chipVerdict}`);
  const mistakes = (await (await fetch(`${url}api/mistakes`)).json()).mistakes;
  await page.screenshot({ path: join(out, "playground.png") });
  console.log(`[${secs()} s] drawn digit: page, host and chip agree; screenshot out/playground.png`);

  // 2. A test-set mistake, clicked: the page's logits are the host's for that image.
  const first = mistakes[0];
  await page.locator(".mistake").first().click();
  await page.waitForFunction((seq) => window.playground.seq > seq && window.playground.chipSeq === window.playground.seq, drawn.seq, { timeout: 30_000 });
  const clicked = await settled(page, true);
  if (!same(clicked.shownLogits, first.logits)) fail(`mistake ${first.index}: page logits differ from the host's`);
  if (!same(clicked.chipLogits, first.logits)) fail(`mistake ${first.index}: chip logits differ from the host's`);
  console.log(`[${secs()} s] test-set mistake ${first.index} (label ${first.label}, predicted ${first.predicted}): page and chip give the host's logits`);

  // 3. A phone: 390 x 844, touch; nothing wider than the screen, and a drawing classifies.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  phone.on("pageerror", (e) => errors.push(String(e)));
  await phone.goto(url);
  await phone.waitForFunction(() => window.playground.ready === true, null, { timeout: 30_000 });
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  if (width > 390) fail(`on a 390 px wide phone the page is ${width} px wide (sideways scrolling)`);
  await draw(phone, pixels);
  const onPhone = await settled(phone, true);
  const hostPhone = await post(`${url}api/infer`, onPhone.input);
  if (!same(onPhone.shownLogits, hostPhone.logits)) fail("on the phone, the page's logits differ from the host's");
  await phone.screenshot({ path: join(out, "playground-phone.png"), fullPage: false });
  console.log(`[${secs()} s] phone viewport: ${width} px wide, drawing classified as ${onPhone.shownClass}, host agrees; out/playground-phone.png`);

  if (errors.length) fail(`the page logged errors:\n${errors.join("\n")}`);
  console.log(`browser test passed in ${secs()} s`);
} catch (e) {
  if (!process.exitCode) console.error(`browser test FAILED: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}
