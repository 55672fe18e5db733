/**
 * Linear approximator in plain typed arrays (no TensorFlow.js): the hot path of the simulator.
 *
 * One weight vector w ∈ R^d is shared by `outputSize` blocks of the input. The input has length
 * outputSize·d, block k is input[k·d, (k+1)·d), and
 *
 *     output_k = w · input[k·d : (k+1)·d].
 *
 * - outputSize = 1: a linear critic (or reward model) Q(s, a) = w · φ(s, a).
 * - outputSize = |A^i| with one feature block φ^i(s, b) per action b: the scores θ · φ^i(s, b) of a
 *   linear softmax policy. With outputWeights = onehot(a) − π, `gradient` gives
 *   ∇_θ log π(a | s) = φ(s, a) − Σ_b π(b | s) φ(s, b).
 *
 * Performance rules (FACTS.md): no allocation per call, simple indexed loops, and only
 * Float32Array arguments (a function that sees both Float64Array and Float32Array gets 2-3x
 * slower). Sums are accumulated in JS numbers (float64) and rounded once when stored.
 * Arrays may be longer than needed: only the first inputSize / outputSize / d entries are used.
 */
import type { Approximator } from './types.js';

export class LinearModel implements Approximator {
  readonly inputSize: number;
  readonly outputSize: number;
  /** d = inputSize / outputSize: features per block, and the number of weights. */
  readonly featureSize: number;
  readonly parameterCount: number;
  private readonly w: Float32Array;

  /**
   * @param inputSize outputSize·d: the whole input (all blocks).
   * @param outputSize number of blocks/outputs (1 for a critic, |A^i| for policy scores).
   * @param initialWeights d initial weights (copied); zeros when omitted.
   */
  constructor(inputSize: number, outputSize = 1, initialWeights?: Float32Array) {
    if (!Number.isInteger(outputSize) || outputSize < 1) {
      throw new Error(`linear model: outputSize must be a positive integer, got ${outputSize}`);
    }
    if (!Number.isInteger(inputSize) || inputSize < 1 || inputSize % outputSize !== 0) {
      throw new Error(
        `linear model: inputSize (${inputSize}) must be a positive multiple of outputSize (${outputSize}): ` +
          'the input is outputSize blocks of d features sharing one weight vector',
      );
    }
    this.inputSize = inputSize;
    this.outputSize = outputSize;
    this.featureSize = inputSize / outputSize;
    this.parameterCount = this.featureSize;
    this.w = new Float32Array(this.featureSize);
    if (initialWeights !== undefined) {
      if (initialWeights.length !== this.featureSize) {
        throw new Error(
          `linear model: ${initialWeights.length} initial weights given, ${this.featureSize} expected`,
        );
      }
      this.w.set(initialWeights);
    }
  }

  evaluate(input: Float32Array, output: Float32Array): void {
    const w = this.w;
    const d = this.featureSize;
    const m = this.outputSize;
    if (input.length < this.inputSize || output.length < m) this.sizeError('evaluate', input.length, output.length);
    let base = 0;
    for (let k = 0; k < m; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += w[j] * input[base + j];
      output[k] = s;
      base += d;
    }
  }

  gradient(input: Float32Array, outputWeights: Float32Array, paramGrad: Float32Array): void {
    const d = this.featureSize;
    const m = this.outputSize;
    if (input.length < this.inputSize || outputWeights.length < m || paramGrad.length < d) {
      this.sizeError('gradient', input.length, outputWeights.length, paramGrad.length);
    }
    if (m === 1) {
      const c = outputWeights[0];
      for (let j = 0; j < d; j++) paramGrad[j] = c * input[j];
      return;
    }
    for (let j = 0; j < d; j++) {
      let s = 0;
      let idx = j;
      for (let k = 0; k < m; k++) {
        s += outputWeights[k] * input[idx];
        idx += d;
      }
      paramGrad[j] = s;
    }
  }

  /** The live weight vector (no copy): it changes with setParameters/addScaled. Do not write. */
  parameters(): Float32Array {
    return this.w;
  }

  setParameters(values: Float32Array): void {
    if (values.length !== this.featureSize) {
      throw new Error(`linear model: setParameters got ${values.length} values, ${this.featureSize} expected`);
    }
    this.w.set(values);
  }

  addScaled(scale: number, direction: Float32Array): void {
    const w = this.w;
    const d = this.featureSize;
    if (direction.length < d) {
      throw new Error(`linear model: addScaled got ${direction.length} values, ${d} expected`);
    }
    for (let j = 0; j < d; j++) w[j] += scale * direction[j];
  }

  dispose(): void {
    // Nothing native to free.
  }

  private sizeError(method: string, ...lengths: number[]): never {
    throw new Error(
      `linear model: ${method} got arrays of length ${lengths.join(', ')}; needs input ≥ ${this.inputSize}, ` +
        `outputs/outputWeights ≥ ${this.outputSize}, paramGrad ≥ ${this.featureSize}`,
    );
  }
}
