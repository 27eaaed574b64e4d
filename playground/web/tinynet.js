// The loader of the WebAssembly module (playground/wasm): the page and the Node test both use
// it. Plain `extern "C"` exports, so no generated glue: copy bytes in, call, read results out.

const SIDE = 28;
const INPUT = SIDE * SIDE;

export class TinyNet {
  /** Instantiate the module from its bytes (an ArrayBuffer or typed array). */
  static async load(wasmBytes) {
    const { instance } = await WebAssembly.instantiate(wasmBytes, {});
    return new TinyNet(instance.exports);
  }

  constructor(exports) {
    this.x = exports;
    this.classes = 0;
    this.hidden = 0;
  }

  // Views are taken afresh at each call: the memory's buffer is replaced if it ever grows.
  bytes(ptr, len) {
    return new Uint8Array(this.x.memory.buffer, ptr, len);
  }

  error() {
    const text = this.bytes(this.x.mf_error_ptr(), this.x.mf_error_len());
    return new TextDecoder().decode(text);
  }

  /** Decode a model file; throws with the module's reason if it does not load. */
  loadModel(modelBytes) {
    const bytes = new Uint8Array(modelBytes);
    const ptr = this.x.mf_model_buffer(bytes.length);
    if (ptr === 0) throw new Error(this.error());
    this.bytes(ptr, bytes.length).set(bytes);
    if (this.x.mf_model_load(bytes.length) !== 0) throw new Error(this.error());
    this.classes = this.x.mf_classes();
    this.hidden = this.x.mf_hidden();
    this.logitScale = this.x.mf_logit_scale();
    this.modelId = BigInt.asUintN(64, this.x.mf_model_id()).toString(16).padStart(16, "0");
  }

  /**
   * Preprocess a picture (e.g. a canvas's ImageData: RGBA) into the net's 28x28 input, with the
   * Rust preprocessing of `host classify --image`. Returns the 784 input pixels, or throws
   * (e.g. "no digit found: the picture is blank").
   */
  preprocess(pixels, width, height, channels = 4) {
    const ptr = this.x.mf_image_buffer(pixels.length);
    if (ptr === 0) throw new Error(this.error());
    this.bytes(ptr, pixels.length).set(pixels);
    if (this.x.mf_preprocess(width, height, channels) !== 0) throw new Error(this.error());
    return this.bytes(this.x.mf_input_ptr(), INPUT).slice();
  }

  /** Set the 784 input pixels directly (an MNIST test image). */
  setInput(pixels) {
    this.bytes(this.x.mf_input_ptr(), INPUT).set(pixels);
  }

  /** Run the chip's forward pass on the input: { class, logits: Int32Array }. */
  infer() {
    const cls = this.x.mf_infer();
    if (cls < 0) throw new Error(this.error());
    const logits = new Int32Array(this.x.memory.buffer, this.x.mf_logits_ptr(), this.classes).slice();
    return { class: cls, logits };
  }

  /**
   * The last inference's hidden activations (u8), and whether layer 2 on them reproduces its
   * logits (always, unless the module is broken: the heat map shows what the net used).
   */
  activations() {
    const agree = this.x.mf_activations();
    if (agree < 0) throw new Error(this.error());
    const values = this.bytes(this.x.mf_hidden_ptr(), this.x.mf_hidden_len()).slice();
    return { values, agree: agree === 1 };
  }

  /** softmax(logit x logit_scale): the float model's probabilities, as the host computes them. */
  probabilities(logits) {
    const scores = Array.from(logits, (l) => l * this.logitScale);
    const max = Math.max(...scores);
    const exps = scores.map((s) => Math.exp(s - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  }
}

export { SIDE, INPUT };
