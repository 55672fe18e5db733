import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { RandomStream } from '../../src/core/rng.js';
import { selectBackend } from '../../src/model/backend.js';
import { MlpModel } from '../../src/model/mlp.js';

function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

function randomArray(stream: RandomStream, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * stream.nextFloat() - 1) * scale;
  return a;
}

describe('selectBackend', () => {
  it('selects cpu and wasm explicitly, idempotently', async () => {
    const cpu = await selectBackend('cpu');
    expect(cpu).toEqual({ name: 'cpu', tfBackend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    expect(await selectBackend('cpu')).toBe(cpu);

    const wasm = await selectBackend('wasm');
    expect(wasm).toEqual({ name: 'wasm', tfBackend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    expect(await selectBackend('wasm')).toBe(wasm);

    // Asking for cpu again switches back and returns the first result.
    expect(await selectBackend('cpu')).toBe(cpu);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('runs the same MLP on cpu and wasm with results within 1e-5', async () => {
    const stream = RandomStream.create(3, 'backend-mlp');
    const model = new MlpModel({
      inputSize: 6,
      outputSize: 3,
      hidden: [16, 8],
      activation: 'relu',
      random: () => stream.nextFloat(),
    });
    const batch = 4;
    const xs = randomArray(stream, batch * 6, 2);
    const ows = randomArray(stream, batch * 3);
    const run = (): { out: Float32Array; outs: Float32Array; grad: Float32Array; gradBatch: Float32Array } => {
      const out = new Float32Array(3);
      const outs = new Float32Array(batch * 3);
      const grad = new Float32Array(model.parameterCount);
      const gradBatch = new Float32Array(model.parameterCount);
      model.evaluate(xs.subarray(0, 6), out);
      model.evaluateBatch(xs, batch, outs);
      model.gradient(xs.subarray(0, 6), ows.subarray(0, 3), grad);
      model.gradientBatch(xs, ows, batch, gradBatch);
      return { out, outs, grad, gradBatch };
    };
    await selectBackend('cpu');
    const onCpu = run();
    await selectBackend('wasm');
    const onWasm = run();
    for (const key of ['out', 'outs', 'grad', 'gradBatch'] as const) {
      const a = onCpu[key];
      const b = onWasm[key];
      expect(b.length).toBe(a.length);
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      expect(maxDiff, key).toBeLessThan(1e-5);
      expect(a.some((v) => v !== 0)).toBe(true);
    }

    // No tensor leak on wasm either.
    const out = new Float32Array(3);
    const grad = new Float32Array(model.parameterCount);
    const step = (): void => {
      model.gradient(xs.subarray(0, 6), ows.subarray(0, 3), grad);
      model.evaluate(xs.subarray(0, 6), out);
      model.addScaled(1e-4, grad);
    };
    for (let i = 0; i < 10; i++) step();
    const after10 = tf.memory().numTensors;
    for (let i = 0; i < 990; i++) step();
    expect(tf.memory().numTensors).toBe(after10);
    model.dispose();
  });

  it.skipIf(tfjsNodeInstalled())('fails with a clear one-line error when tfjs-node is requested but absent', async () => {
    const before = tf.getBackend();
    const error: unknown = await selectBackend('tfjs-node').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/^backend 'tfjs-node' is not available: .*tfjs-node/);
    expect(message).not.toContain('\n');
    // The failure leaves the current backend alone, and a retry fails the same way.
    expect(tf.getBackend()).toBe(before);
    await expect(selectBackend('tfjs-node')).rejects.toThrow(message);
  });

  it('auto picks the best available backend and says why it fell back', async () => {
    const auto = await selectBackend('auto');
    if (tfjsNodeInstalled() && auto.name === 'tfjs-node') {
      expect(auto.fallbackReason).toBeUndefined();
    } else {
      expect(auto.name).toBe('wasm');
      expect(auto.fallbackReason).toMatch(/tfjs-node/);
    }
    expect(tf.getBackend()).toBe(auto.tfBackend);
    await selectBackend('cpu');
    expect(await selectBackend()).toBe(auto);
    expect(tf.getBackend()).toBe(auto.tfBackend);
  });

  it('rejects an unknown backend name', async () => {
    await expect(selectBackend('webgpu' as never)).rejects.toThrow(/unknown backend 'webgpu'/);
  });
});
