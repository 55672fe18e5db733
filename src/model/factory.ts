/**
 * Build an approximator from its scenario-file spec.
 *
 * - 'linear': a LinearModel. inputSize must be divisible by outputSize: the input is outputSize
 *   blocks of d = inputSize / outputSize features sharing one weight vector w ∈ R^d
 *   (output_k = w · block_k), so parameterCount = d. Initial weights: initialParameters, else
 *   zeros (`random` is not used: a linear model needs no symmetry breaking, and zeros keep runs
 *   comparable).
 * - 'mlp': an MlpModel with spec.hidden and spec.activation; initialParameters, else
 *   Glorot-uniform from `random` (one of the two is required).
 */
import { LinearModel } from './linear.js';
import { MlpModel } from './mlp.js';
import type { Approximator, ModelSpec } from './types.js';

export interface ModelInit {
  /** Uniform [0, 1) source, e.g. the agent's seeded `init/<i>` stream. */
  readonly random?: () => number;
  /** Exact initial flat parameters (copied); wins over `random`. */
  readonly initialParameters?: Float32Array;
}

export function createModel(spec: ModelSpec, inputSize: number, outputSize: number, init: ModelInit = {}): Approximator {
  switch (spec.kind) {
    case 'linear':
      return new LinearModel(inputSize, outputSize, init.initialParameters);
    case 'mlp':
      return new MlpModel({
        inputSize,
        outputSize,
        hidden: spec.hidden,
        activation: spec.activation,
        initialParameters: init.initialParameters,
        random: init.random,
      });
    default: {
      const unknown: { kind?: unknown } = spec;
      throw new Error(`unknown model kind '${String(unknown.kind)}' (expected linear or mlp)`);
    }
  }
}
