/**
 * The ModelMaker learners use: linear models start from uniform ±scale weights drawn from the
 * agent's init stream (zeros at scale 0); MLPs take Glorot-uniform weights from the same stream.
 * TensorFlow.js is loaded only when a scenario asks for an MLP (`loadModelMaker`), so linear runs
 * start in milliseconds and never touch it.
 */
import { LinearModel } from '../model/linear.js';
import type { Approximator, ModelSpec } from '../model/types.js';
import type { ModelMaker } from './learner.js';

function linearModel(inputSize: number, outputSize: number, random: () => number, scale: number): Approximator {
  const featureSize = inputSize / outputSize;
  const initial = new Float32Array(featureSize);
  if (scale > 0) for (let k = 0; k < featureSize; k++) initial[k] = (2 * random() - 1) * scale;
  return new LinearModel(inputSize, outputSize, initial);
}

/** Makes linear models only; throws on an MLP spec (use loadModelMaker for those). */
export const makeLinearModel: ModelMaker = (spec, inputSize, outputSize, init) => {
  if (spec.kind !== 'linear') throw new Error(`model kind '${spec.kind}' needs loadModelMaker() (TensorFlow.js)`);
  return linearModel(inputSize, outputSize, init.random, init.scale);
};

/** A ModelMaker for the given specs, loading TensorFlow.js only if one of them is an MLP. */
export async function loadModelMaker(specs: readonly ModelSpec[]): Promise<ModelMaker> {
  if (specs.every((spec) => spec.kind === 'linear')) return makeLinearModel;
  const { createModel } = await import('../model/factory.js');
  return (spec, inputSize, outputSize, init) =>
    spec.kind === 'linear'
      ? linearModel(inputSize, outputSize, init.random, init.scale)
      : createModel(spec, inputSize, outputSize, { random: init.random });
}
