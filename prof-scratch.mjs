import * as tf from '@tensorflow/tfjs';
import { loadScenario, loadTopology } from './dist/run/config.js';
import { simulateBatchedRun } from './dist/run/batched-sim.js';
const [backend, alg] = process.argv.slice(2);
const scenario = { ...loadScenario('scenarios/coop-nav-6.yaml'), backend, algorithm: Number(alg), steps: 50 };
const warm = await simulateBatchedRun(scenario, loadTopology('topologies/ring.yaml'), 0, { uniformBaseline: false }); warm.learners.dispose();
const info = await tf.profile(async () => {
  const q = await simulateBatchedRun(scenario, loadTopology('topologies/ring.yaml'), 0, { uniformBaseline: false });
  q.learners.dispose();
});
const kernels = new Map();
for (const k of info.kernels) { const key = `${k.name} ${JSON.stringify(k.inputShapes)}`; const e = kernels.get(key) ?? { n: 0, ms: 0 }; e.n++; e.ms += k.kernelTimeMs ?? 0; kernels.set(key, e); }
let total = 0; for (const e of kernels.values()) total += e.ms;
console.log('kernel ms per step', (total / 50).toFixed(2), 'kernels per step', (info.kernels.length / 50).toFixed(0));
for (const [k, e] of [...kernels].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log((1000 * e.ms / 50).toFixed(0).padStart(5), 'µs', (e.n / 50).toFixed(1).padStart(4), k);
