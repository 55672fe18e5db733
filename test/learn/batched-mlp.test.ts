// BatchedMlp (N agents' MLPs in batched tensor ops) against N MlpModels (whose gradients
// test/model/mlp.test.ts checks against finite differences): same outputs, same gradient steps,
// exact flat parameter round trip, consensus, and no tensor leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RandomStream } from '../../src/core/rng.js';
import { selectBackend } from '../../src/model/backend.js';
import { MlpModel, glorotUniformParameters } from '../../src/model/mlp.js';
import { BatchedMlp, mixingMatrix } from '../../src/learn/batched-mlp.js';

const N = 3;
const IN = 7;
const HIDDEN = [6, 5];
const OUT = 4;
const B = 2;

function random(stream: RandomStream, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let k = 0; k < n; k++) a[k] = (2 * stream.nextFloat() - 1) * scale;
  return a;
}

function setup(seed: number) {
  const stream = RandomStream.create(seed, 'batched-mlp-test');
  const initial = Array.from({ length: N }, () => {
    const p = glorotUniformParameters(IN, HIDDEN, OUT, () => stream.nextFloat());
    // Non-zero biases, so that their layout is exercised too.
    for (let k = 0; k < p.length; k++) if (p[k] === 0) p[k] = (2 * stream.nextFloat() - 1) * 0.3;
    return p;
  });
  const batched = new BatchedMlp({ agents: N, inputSize: IN, outputSize: OUT, hidden: HIDDEN, activation: 'tanh', initial });
  const models = initial.map((p) => new MlpModel({ inputSize: IN, outputSize: OUT, hidden: HIDDEN, activation: 'tanh', initialParameters: p }));
  const inputs = random(stream, N * B * IN, 2);
  const weights = random(stream, N * B * OUT);
  return { initial, batched, models, inputs, weights, stream };
}

function close(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let k = 0; k < actual.length; k++) worst = Math.max(worst, Math.abs(actual[k] - expected[k]) / Math.max(1, Math.abs(expected[k])));
  expect(worst).toBeLessThan(tolerance);
}

describe.each(['cpu', 'wasm'] as const)('BatchedMlp on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend);
  });
  afterAll(() => {});

  it('flat parameters round-trip exactly (upload, read back, set, read back)', () => {
    const { initial, batched, models, stream } = setup(1);
    const read = batched.parameters();
    for (let i = 0; i < N; i++) expect(Buffer.from(read[i].buffer).equals(Buffer.from(initial[i].buffer))).toBe(true);
    const other = initial.map((p) => random(stream, p.length));
    batched.setParameters(other);
    const again = batched.parameters();
    for (let i = 0; i < N; i++) expect(Array.from(again[i])).toEqual(Array.from(other[i]));
    batched.dispose();
    for (const m of models) m.dispose();
  });

  it('forward equals each agent’s MlpModel', () => {
    const { batched, models, inputs } = setup(2);
    const out = tf.tidy(() => Float32Array.from(batched.forward(tf.tensor3d(inputs, [N, B, IN])).output.dataSync()));
    for (let i = 0; i < N; i++) {
      const expected = new Float32Array(B * OUT);
      models[i].evaluateBatch(inputs.subarray(i * B * IN, (i + 1) * B * IN), B, expected);
      close(out.subarray(i * B * OUT, (i + 1) * B * OUT), expected, 1e-6);
    }
    batched.dispose();
    for (const m of models) m.dispose();
  });

  it('applyGradient = w + MlpModel.gradientBatch, per agent (all rows, first row only, shared input)', () => {
    for (const variant of ['all rows', 'first row', 'shared input'] as const) {
      const { initial, batched, models, inputs, weights } = setup(3);
      // The shared variant: every agent sees agent 0's rows.
      const x = variant === 'shared input' ? Float32Array.from({ length: N * B * IN }, (_, k) => inputs[k % (B * IN)]) : inputs;
      const rows = variant === 'first row' ? 1 : B;
      const g = new Float32Array(N * rows * OUT);
      for (let i = 0; i < N; i++) g.set(weights.subarray(i * B * OUT, i * B * OUT + rows * OUT), i * rows * OUT);
      tf.tidy(() => {
        const pass = batched.forward(tf.tensor3d(x, [N, B, IN]), variant === 'shared input' ? tf.tensor3d(x.slice(0, B * IN), [1, B, IN]) : undefined);
        batched.applyGradient(pass, tf.tensor3d(g, [N, rows, OUT]));
      });
      const after = batched.parameters();
      for (let i = 0; i < N; i++) {
        const gradient = new Float32Array(initial[i].length);
        models[i].gradientBatch(x.subarray(i * B * IN, i * B * IN + rows * IN), g.subarray(i * rows * OUT, (i + 1) * rows * OUT), rows, gradient);
        const expected = Float32Array.from(initial[i], (w, k) => w + gradient[k]);
        close(after[i], expected, 1e-6);
      }
      batched.dispose();
      for (const m of models) m.dispose();
    }
  });

  it('agentCode: inputs [x, one-hot of the agent] with x shared, the code rows as per-agent biases', () => {
    const { initial, batched: plain, models, inputs, weights } = setup(6);
    plain.dispose();
    // The last N of the IN inputs are the agent's code; the first IN − N are shared.
    const shared = IN - N;
    const coded = new BatchedMlp({ agents: N, inputSize: IN, outputSize: OUT, hidden: HIDDEN, activation: 'tanh', initial, agentCode: true });
    const x = new Float32Array(N * B * shared);
    for (let i = 0; i < N; i++) x.set(inputs.subarray(0, B * shared), i * B * shared);
    const full = new Float32Array(N * B * IN);
    for (let i = 0; i < N; i++) {
      for (let b = 0; b < B; b++) {
        full.set(inputs.subarray(b * shared, (b + 1) * shared), (i * B + b) * IN);
        full[(i * B + b) * IN + shared + i] = 1;
      }
    }
    for (let i = 0; i < N; i++) expect(Array.from(coded.parameters()[i])).toEqual(Array.from(initial[i]));
    const out = tf.tidy(() => {
      const pass = coded.forward(tf.tensor3d(x, [N, B, shared]), tf.tensor3d(x.slice(0, B * shared), [1, B, shared]));
      const output = Float32Array.from(pass.output.dataSync());
      coded.applyGradient(pass, tf.tensor3d(weights, [N, B, OUT]));
      return output;
    });
    const after = coded.parameters();
    for (let i = 0; i < N; i++) {
      const expected = new Float32Array(B * OUT);
      models[i].evaluateBatch(full.subarray(i * B * IN, (i + 1) * B * IN), B, expected);
      close(out.subarray(i * B * OUT, (i + 1) * B * OUT), expected, 1e-6);
      const gradient = new Float32Array(initial[i].length);
      models[i].gradientBatch(full.subarray(i * B * IN, (i + 1) * B * IN), weights.subarray(i * B * OUT, (i + 1) * B * OUT), B, gradient);
      close(after[i], Float32Array.from(initial[i], (w, k) => w + gradient[k]), 1e-6);
      // The other agents' code rows saw no input: unchanged, bit for bit.
      for (let j = 0; j < N; j++) {
        if (j === i) continue;
        const row = (shared + j) * HIDDEN[0];
        expect(Array.from(after[i].subarray(row, row + HIDDEN[0]))).toEqual(Array.from(initial[i].subarray(row, row + HIDDEN[0])));
      }
    }
    coded.dispose();
    for (const m of models) m.dispose();
  });

  it('consensus (fused with the step or alone) mixes every agent’s parameters by C', () => {
    const { initial, batched, models } = setup(4);
    const rows = [
      Float64Array.from([1 / 3, 1 / 3, 1 / 3]),
      Float64Array.from([1 / 3, 1 / 2, 1 / 6]),
      Float64Array.from([1 / 3, 1 / 6, 1 / 2]),
    ];
    const c = mixingMatrix(rows);
    for (let i = 0; i < N; i++) {
      let sum = 0;
      for (let j = 0; j < N; j++) sum += c[i * N + j];
      expect(Math.abs(sum - 1)).toBeLessThan(1e-7);
    }
    // Metropolis weights on a ring of 3 (1/3 is no float32): rows sum to 1 exactly.
    const ring = mixingMatrix([0, 1, 2].map(() => Float64Array.from([1 / 3, 1 / 3, 1 / 3])));
    expect(ring[0] + ring[1] + ring[2]).toBe(1);
    tf.tidy(() => batched.mix(tf.tensor2d(c, [N, N])));
    const mixed = batched.parameters();
    for (let i = 0; i < N; i++) {
      const expected = Float32Array.from(initial[0], (_, k) => rows[i][0] * initial[0][k] + rows[i][1] * initial[1][k] + rows[i][2] * initial[2][k]);
      close(mixed[i], expected, 1e-6);
    }
    batched.dispose();
    for (const m of models) m.dispose();
  });

  it('no tensor leaks: forward, gradient steps and consensus leave the live tensor count unchanged', () => {
    const { batched, models, inputs, weights } = setup(5);
    const c = tf.tensor2d(mixingMatrix([Float64Array.from([0.5, 0.5, 0]), Float64Array.from([0.5, 0, 0.5]), Float64Array.from([0, 0.5, 0.5])]), [N, N]);
    const step = () =>
      tf.tidy(() => {
        const pass = batched.forward(tf.tensor3d(inputs, [N, B, IN]));
        batched.applyGradient(pass, tf.tensor3d(weights, [N, B, OUT]), c);
      });
    step();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 200; k++) step();
    expect(tf.memory().numTensors).toBe(before);
    batched.dispose();
    c.dispose();
    for (const m of models) m.dispose();
    expect(() => batched.parameters()).toThrow(/dispose/);
  });
});
