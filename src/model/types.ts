/**
 * One interface for every function approximator (critics, reward models, policy scores):
 * a map f(x; w) from an input vector to `outputSize` outputs, with parameters w as one flat
 * Float32Array — the vector consensus averages and the wire carries.
 */
export interface Approximator {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly parameterCount: number;

  /** output[k] = f_k(input; w). */
  evaluate(input: Float32Array, output: Float32Array): void;
  /**
   * paramGrad = ∇_w Σ_k outputWeights[k] · f_k(input; w) (a vector-Jacobian product):
   * outputWeights = [1] gives ∇_w f for a scalar critic; onehot(a) − π gives ∇_θ log π(a).
   */
  gradient(input: Float32Array, outputWeights: Float32Array, paramGrad: Float32Array): void;

  /** The flat parameter vector w. A view: valid until the next mutation, never to be written. */
  parameters(): Float32Array;
  /** w ← values (length parameterCount). */
  setParameters(values: Float32Array): void;
  /** w ← w + scale · direction. */
  addScaled(scale: number, direction: Float32Array): void;
  /** Free native resources (tensors). Idempotent. */
  dispose(): void;
}

/** Model settings as they appear in a scenario file. */
export type ModelSpec =
  | { readonly kind: 'linear' }
  | {
      readonly kind: 'mlp';
      /** Hidden layer sizes, e.g. [64, 64]. */
      readonly hidden: readonly number[];
      readonly activation: 'tanh' | 'relu' | 'sigmoid';
    };
