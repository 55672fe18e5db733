#!/usr/bin/env node
// Writes an N-agent version of scenarios/small-explicit.mdp.json's shared-resource game as an
// explicit MDP file:  node scripts/make-resource-mdp.mjs N [w_0,w_1,...] > FILE
//   node scripts/make-resource-mdp.mjs 4 > /tmp/r4.mdp.json            (weights 2.6, 0.2, 0.2, 0.2)
//   node scripts/make-resource-mdp.mjs 4 1,1,1,1 > scenarios/resource-4.mdp.json
//
// 3 resource levels (0 depleted, 1 moderate, 2 rich); each agent harvests (0) or tends (1).
// Agent i's mean reward: w_i·v(s) + 0.5 if it harvests, v = (0.25, 1, 2), w = (2.6, 0.2, ..., 0.2).
// The level moves up/stays/down with probabilities set by the fraction of agents tending
// (interpolated between 'nobody tends' 0.05/0.25/0.7 and 'everyone tends' 0.7/0.25/0.05),
// clipped at the ends. Everyone tending is the team optimum; for every agent but 0, harvesting
// raises its own reward: independent learners are misled.
const agents = Number(process.argv[2] ?? 4);
if (!Number.isInteger(agents) || agents < 2 || agents > 10) {
  process.stderr.write('usage: make-resource-mdp.mjs N   (2 <= N <= 10)\n');
  process.exit(2);
}
const values = [0.25, 1, 2];
const weights = process.argv[3] ? process.argv[3].split(',').map(Number) : Array.from({ length: agents }, (_, i) => (i === 0 ? 2.6 : 0.2));
if (weights.length !== agents || !weights.every((w) => Number.isFinite(w) && w >= 0)) {
  process.stderr.write(`weights: expected ${agents} comma-separated numbers >= 0\n`);
  process.exit(2);
}
const jointCount = 2 ** agents;
const round = (x) => Math.round(x * 1e6) / 1e6;
const transitions = [];
const rewards = [];
for (let s = 0; s < 3; s++) {
  const rows = [];
  const rewardRows = [];
  for (let a = 0; a < jointCount; a++) {
    const tending = Array.from({ length: agents }, (_, i) => (a >> i) & 1);
    const fraction = tending.reduce((x, y) => x + y, 0) / agents;
    const up = round(0.05 + 0.65 * fraction);
    const down = round(0.7 - 0.65 * fraction);
    const stay = round(1 - up - down);
    const row = [0, 0, 0];
    row[Math.min(2, s + 1)] += up;
    row[s] += stay;
    row[Math.max(0, s - 1)] += down;
    rows.push(row.map(round));
    rewardRows.push(tending.map((t, i) => round(weights[i] * values[s] + (t === 0 ? 0.5 : 0))));
  }
  transitions.push(rows);
  rewards.push(rewardRows);
}
const mdp = {
  kind: 'explicit-mdp',
  description: `Shared resource, ${agents} agents (scripts/make-resource-mdp.mjs ${agents} ${weights.join(',')}): harvest (0, +0.5 at once) or tend (1); joint index a = Σ a^i 2^i; agent i earns w_i·v(s) with w = (${weights.join(', ')}), v = (0.25, 1, 2).`,
  agents,
  states: 3,
  actions: Array(agents).fill(2),
  transitions,
  rewards,
  rewardNoise: 0.5,
  initialState: 0,
};
process.stdout.write(`${JSON.stringify(mdp)}\n`);
