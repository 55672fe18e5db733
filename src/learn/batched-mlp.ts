/**
 * N multi-layer perceptrons of one shape, one per agent, evaluated and updated together in
 * batched TensorFlow.js ops: the batched simulator's counterpart of N MlpModels
 * (src/model/mlp.ts), with the same math and the same flat parameter layout per agent.
 *
 * Parameters live on the device, stacked over agents: W_l transposed, as [N, n_l, n_{l−1}], and b_l
 * as [N, 1, n_l]. Inputs are [N, B, inputSize] (agent i's B rows), outputs [N, B, outputSize]:
 *
 *     h_0 = x,  h_l = act(h_{l−1} W_l + b_l) (hidden layers),  f = h_H W_{H+1} + b_{H+1}
 *
 * with one batched matMul per layer. Backprop is hand-written as in MlpModel (no tape, so no
 * gather or other kernels whose gradients the wasm backend lacks): for output weights g [N, B, out]
 * it gives ∇_w Σ_b Σ_k g[i,b,k]·f_k(x[i,b]; w_i) for every agent i at once, and `applyGradient`
 * adds that to the parameters, so a learning step w ← w + β·δ·∇f is one call with g = β·δ·(…).
 *
 * Speed (BENCHMARKS.md, "Neural simulator (coop-nav)"): TensorFlow.js' wasm backend hands a
 * matMul to XNNPACK only when both operands have batch 1 and neither is transposed; batched ones
 * run in a plain blocked loop. Hence: weights stored transposed (contiguous forward loops); the
 * first layer's gradient as one batch-1 matMul when every agent sees the same input rows
 * (`shared`, `agentCode`); one-row gradients as broadcast products on wasm; backprop on the rows
 * that carry a gradient only.
 *
 * Consensus is one matMul per tensor with the N×N weight matrix, fused with the learning step:
 * `applyGradient(…, C)` gives w_i ← Σ_j C[i][j] (w_j + Δw_j).
 *
 * Memory: the parameter tensors are the only long-lived ones (kept, replaced on every update,
 * the old ones disposed). Call forward/applyGradient/mix inside tf.tidy; `dispose` frees all.
 */
import * as tf from '@tensorflow/tfjs';
import { activationBackward, activationForward, layerShapes, type Activation, type LayerShape } from '../model/mlp.js';

export interface BatchedMlpOptions {
  readonly agents: number;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly hidden: readonly number[];
  readonly activation: Activation;
  /** Agent i's initial flat parameters in MlpModel's layout (W_1 row-major, b_1, W_2, ...). */
  readonly initial: readonly Float32Array[];
  /**
   * The last N inputs are a one-hot code of the agent (agent i's input has a 1 at
   * inputSize − N + i, as policyInput builds it). Agent i's row of W_1 for that 1 then acts as a
   * bias of its own; the rows for the other agents' codes never see a non-zero input, so their
   * gradient is exactly zero and they are kept on the host. Inputs to `forward` are then the first
   * inputSize − N columns only, the same for every agent: the first layer's weight gradient can
   * take the shared-input path.
   */
  readonly agentCode?: boolean;
}

/** A forward pass: the output and the input of every layer (what backprop needs). */
export interface BatchedForward {
  /** [N, B, outputSize] */
  readonly output: tf.Tensor3D;
  /** [x, h_1, …, h_H]: the input of layer l at index l. */
  readonly layerInputs: readonly tf.Tensor3D[];
  /** x[0] as [1, B, inputSize] when every agent's input rows are the same (see forward). */
  readonly shared?: tf.Tensor3D;
}

export class BatchedMlp {
  readonly agents: number;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly hidden: readonly number[];
  readonly activation: Activation;
  /** Parameters per agent (MlpModel's count). */
  readonly parameterCount: number;
  private readonly layers: readonly LayerShape[];
  /** Columns of W_1 on the device: inputSize, or inputSize − N with agentCode. */
  private readonly inputColumns: number;
  private readonly agentCode: boolean;
  private weights: tf.Tensor3D[];
  private biases: tf.Tensor3D[];
  /** With agentCode: agent i's W_1 row for its own code, [N, 1, n_1]. */
  private codeRows: tf.Tensor3D | null = null;
  /** With agentCode: every agent's flat parameters as given (the other agents' code rows are read from here). */
  private readonly hostCopy: Float32Array[] = [];
  private disposed = false;

  constructor(options: BatchedMlpOptions) {
    const { agents, inputSize, outputSize, hidden, activation, initial } = options;
    if (activation !== 'tanh' && activation !== 'relu' && activation !== 'sigmoid') {
      throw new Error(`batched mlp: unknown activation '${String(activation)}'`);
    }
    this.agents = agents;
    this.inputSize = inputSize;
    this.outputSize = outputSize;
    this.hidden = [...hidden];
    this.activation = activation;
    // Each agent's flat vector has MlpModel's layout.
    const { layers, parameterCount } = layerShapes(inputSize, hidden, outputSize);
    this.layers = layers;
    this.parameterCount = parameterCount;
    if (initial.length !== agents) throw new Error(`batched mlp: ${initial.length} initial vectors for ${agents} agents`);
    for (const [i, values] of initial.entries()) {
      if (values.length !== parameterCount) throw new Error(`batched mlp: agent ${i}: ${values.length} initial parameters, ${parameterCount} expected`);
    }
    this.agentCode = options.agentCode === true;
    this.inputColumns = this.agentCode ? inputSize - agents : inputSize;
    if (this.inputColumns < 1) throw new Error(`batched mlp: agentCode needs more than ${agents} inputs, got ${inputSize}`);
    this.weights = [];
    this.biases = [];
    this.upload(initial);
  }

  /**
   * Forward pass for inputs x [N, B, inputSize]. Inside tf.tidy. `shared`, when every agent's rows
   * are the same, is agent 0's rows as [1, B, inputSize]: the first layer's weight gradient is
   * then one plain matMul (δᵀ x for all agents at once), which TensorFlow.js' wasm backend runs
   * in XNNPACK instead of its slow batched loop. With agentCode, x holds the inputs without the
   * agent's code (inputSize − N columns).
   */
  forward(x: tf.Tensor3D, shared?: tf.Tensor3D): BatchedForward {
    this.check();
    const layerInputs: tf.Tensor3D[] = [x];
    let h: tf.Tensor3D = x;
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      let z = tf.add(tf.matMul(h, this.weights[l], false, true), this.biases[l]) as tf.Tensor3D;
      if (l === 0 && this.codeRows !== null) z = tf.add(z, this.codeRows);
      if (l < last) {
        h = activationForward(this.activation, z);
        layerInputs.push(h);
      } else {
        h = z;
      }
    }
    return { output: h, layerInputs, shared };
  }

  /**
   * w_i ← w_i + ∇_{w_i} Σ_b Σ_k outputWeights[i,b,k]·f_k(x[i,b]; w_i) for every agent i, with the
   * layer inputs of a forward pass at the current parameters (outputWeights may cover only the
   * first rows of that pass: [N, B' ≤ B, outputSize]); then, with `mixing` (the consensus
   * matrix C, see mixingMatrix), w_i ← Σ_j C[i][j] w_j. Inside tf.tidy.
   */
  applyGradient(forward: BatchedForward, outputWeights: tf.Tensor3D, mixing: tf.Tensor2D | null = null): void {
    this.check();
    const gradients = this.gradients(forward, outputWeights);
    const weights: tf.Tensor3D[] = [];
    const biases: tf.Tensor3D[] = [];
    for (let l = 0; l < this.layers.length; l++) {
      let w: tf.Tensor3D = tf.add(this.weights[l], gradients.weights[l]);
      let b: tf.Tensor3D = tf.add(this.biases[l], gradients.biases[l]);
      if (mixing !== null) {
        w = this.mixTensor(mixing, w);
        b = this.mixTensor(mixing, b);
      }
      weights.push(tf.keep(w));
      biases.push(tf.keep(b));
    }
    // The code row's input is 1: its gradient is b_1's (added separately, as MlpModel does).
    let codeRows: tf.Tensor3D | null = null;
    if (this.codeRows !== null) {
      let updated = tf.add(this.codeRows, gradients.biases[0]) as tf.Tensor3D;
      if (mixing !== null) updated = this.mixTensor(mixing, updated);
      codeRows = tf.keep(updated);
    }
    this.replace(weights, biases, codeRows);
  }

  /** Σ_j mixing[i][j]·t_j over the agent axis of t [N, r, c]. */
  private mixTensor(mixing: tf.Tensor2D, t: tf.Tensor3D): tf.Tensor3D {
    const [n, rows, columns] = t.shape;
    return tf.reshape(tf.matMul(mixing, tf.reshape(t, [n, rows * columns])), [n, rows, columns]);
  }

  /**
   * The per-layer gradients: ∇_W as [N, fanOut, fanIn] (transposed, like the weights), ∇_b as
   * [N, 1, fanOut].
   */
  gradients(forward: BatchedForward, outputWeights: tf.Tensor3D): { weights: tf.Tensor3D[]; biases: tf.Tensor3D[] } {
    const weights: tf.Tensor3D[] = new Array(this.layers.length);
    const biases: tf.Tensor3D[] = new Array(this.layers.length);
    let delta: tf.Tensor3D = outputWeights;
    // Output weights for the first `rows` input rows only: the other rows do not enter the sum.
    const rows = outputWeights.shape[1];
    const firstRows = (t: tf.Tensor3D): tf.Tensor3D => (t.shape[1] === rows ? t : tf.slice(t, [0, 0, 0], [t.shape[0], rows, t.shape[2]]));
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const h = firstRows(forward.layerInputs[l]);
      if (l === 0 && forward.shared !== undefined) {
        // ∇W_1ᵀ for agent i = δ_iᵀ x with the same x: stack the δ_iᵀ as [1, N·fanOut, B].
        const { fanOut } = this.layers[0];
        const transposed = rows === 1 ? delta : tf.transpose(delta, [0, 2, 1]);
        const stacked = tf.reshape(transposed, [1, this.agents * fanOut, rows]);
        weights[l] = tf.reshape(tf.matMul(stacked, firstRows(forward.shared)), [this.agents, fanOut, this.inputColumns]);
      } else if (rows === 1 && tf.getBackend() === 'wasm') {
        // One row: ∇W_lᵀ = δᵀ h is an outer product per agent. The wasm backend's broadcasting
        // multiply does it ~2× faster than its batched matMul loop (same values: no sums); the
        // cpu backend's is much slower, so it keeps the matMul.
        const { fanOut } = this.layers[l];
        weights[l] = tf.mul(tf.reshape(delta, [this.agents, fanOut, 1]), h) as tf.Tensor3D;
      } else {
        weights[l] = tf.matMul(delta, h, true, false);
      }
      biases[l] = rows === 1 ? delta : tf.sum(delta, 1, true);
      if (l > 0) delta = activationBackward(this.activation, tf.matMul(delta, this.weights[l]), h);
    }
    return { weights, biases };
  }

  /** Consensus alone: w_i ← Σ_j mixing[i][j]·w_j for every parameter tensor. Inside tf.tidy. */
  mix(mixing: tf.Tensor2D): void {
    this.check();
    const weights = this.weights.map((w) => tf.keep(this.mixTensor(mixing, w)));
    const biases = this.biases.map((b) => tf.keep(this.mixTensor(mixing, b)));
    const codeRows = this.codeRows === null ? null : tf.keep(this.mixTensor(mixing, this.codeRows));
    this.replace(weights, biases, codeRows);
  }

  /** Every agent's flat parameters (MlpModel layout), read back from the device. */
  parameters(): Float32Array[] {
    this.check();
    const out = Array.from({ length: this.agents }, () => new Float32Array(this.parameterCount));
    for (let l = 0; l < this.layers.length; l++) {
      const { fanIn, fanOut, weightOffset } = this.layers[l];
      const w = this.weights[l].dataSync(); // [N][fanOut][columns]
      const b = this.biases[l].dataSync();
      const columns = l === 0 ? this.inputColumns : fanIn;
      const wSize = fanIn * fanOut;
      for (let i = 0; i < this.agents; i++) {
        const flat = out[i];
        const base = i * fanOut * columns;
        for (let j = 0; j < fanOut; j++) {
          for (let k = 0; k < columns; k++) flat[weightOffset + k * fanOut + j] = w[base + j * columns + k];
        }
        flat.set(b.subarray(i * fanOut, (i + 1) * fanOut), weightOffset + wSize);
      }
    }
    if (this.codeRows !== null) {
      // Code rows: agent i's own from the device, the others' unchanged from the host copy.
      const { fanOut } = this.layers[0];
      const own = this.codeRows.dataSync();
      for (let i = 0; i < this.agents; i++) {
        for (let j = 0; j < this.agents; j++) {
          const row = (this.inputColumns + j) * fanOut;
          if (j === i) out[i].set(own.subarray(i * fanOut, (i + 1) * fanOut), row);
          else out[i].set(this.hostCopy[i].subarray(row, row + fanOut), row);
        }
      }
    }
    return out;
  }

  /** Replace every agent's parameters (flat, MlpModel layout). */
  setParameters(values: readonly Float32Array[]): void {
    this.check();
    if (values.length !== this.agents || values.some((v) => v.length !== this.parameterCount)) {
      throw new Error(`batched mlp: setParameters expects ${this.agents} vectors of ${this.parameterCount}`);
    }
    const old = [...this.weights, ...this.biases, ...(this.codeRows === null ? [] : [this.codeRows])];
    this.upload(values);
    for (const t of old) t.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    for (const t of [...this.weights, ...this.biases]) t.dispose();
    this.codeRows?.dispose();
    this.codeRows = null;
    this.weights = [];
    this.biases = [];
    this.disposed = true;
  }

  private upload(values: readonly Float32Array[]): void {
    const n = this.agents;
    const weights: tf.Tensor3D[] = [];
    const biases: tf.Tensor3D[] = [];
    for (const [l, { fanIn, fanOut, weightOffset }] of this.layers.entries()) {
      const wSize = fanIn * fanOut;
      const columns = l === 0 ? this.inputColumns : fanIn;
      // Fresh buffers: the cpu backend would otherwise share them with the tensor.
      const w = new Float32Array(n * fanOut * columns);
      const b = new Float32Array(n * fanOut);
      for (let i = 0; i < n; i++) {
        const flat = values[i];
        const base = i * fanOut * columns;
        for (let j = 0; j < fanOut; j++) {
          for (let k = 0; k < columns; k++) w[base + j * columns + k] = flat[weightOffset + k * fanOut + j];
        }
        b.set(flat.subarray(weightOffset + wSize, weightOffset + wSize + fanOut), i * fanOut);
      }
      weights.push(tf.tensor3d(w, [n, fanOut, columns]));
      biases.push(tf.tensor3d(b, [n, 1, fanOut]));
    }
    this.weights = weights;
    this.biases = biases;
    if (this.agentCode) {
      const fanOut = this.layers[0].fanOut;
      const rows = new Float32Array(n * fanOut);
      for (let i = 0; i < n; i++) {
        const row = (this.inputColumns + i) * fanOut;
        rows.set(values[i].subarray(row, row + fanOut), i * fanOut);
      }
      this.codeRows = tf.tensor3d(rows, [n, 1, fanOut]);
      this.hostCopy.length = 0;
      for (const v of values) this.hostCopy.push(Float32Array.from(v));
    }
  }

  private replace(weights: tf.Tensor3D[], biases: tf.Tensor3D[], codeRows: tf.Tensor3D | null = null): void {
    for (const t of this.weights) t.dispose();
    for (const t of this.biases) t.dispose();
    this.codeRows?.dispose();
    this.weights = weights;
    this.biases = biases;
    this.codeRows = codeRows;
  }

  private check(): void {
    if (this.disposed) throw new Error('batched mlp: used after dispose()');
  }
}

/**
 * The consensus matrix C in float32 for `applyGradient`/`mix`, from its float64 rows: the
 * off-diagonal weights rounded to float32 and each diagonal entry 1 minus their (exact) sum, so
 * that every row of the float32 matrix sums to 1 (exactly for the usual weights such as 1/3: a
 * row summing to 1 + 3e-8 would inflate every parameter by that factor at every step).
 */
export function mixingMatrix(rows: readonly Float64Array[]): Float32Array {
  const n = rows.length;
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    let offSum = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      out[i * n + j] = rows[i][j];
      offSum += out[i * n + j];
    }
    out[i * n + i] = 1 - offSum;
  }
  return out;
}
