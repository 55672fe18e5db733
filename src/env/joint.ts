/**
 * Joint-action indexing shared by the finite MDPs and exact evaluation.
 *
 * A joint action (a^1, …, a^N) of a finite MDP has the index a = Σ_i a^i · Π_{j<i} n_j, agent 0
 * least significant (the FiniteMdp convention in ./types.ts). Index-based methods exist only
 * while the index is an exact small integer: above 2^31 joint actions they are refused, and the
 * procedural MDP works from the joint array instead.
 */
import type { JointAction } from './types.js';

/** Largest joint-action count for which index-based (jointIndex) methods are allowed. */
export const MAX_INDEXED_JOINT_ACTIONS = 2 ** 31;

/** Π_i n_i as a float: exact up to 2^53, an approximation (or Infinity) beyond. */
export function jointActionCountOf(actionCounts: readonly number[]): number {
  let count = 1;
  for (const n of actionCounts) count *= n;
  return count;
}

/** Throws unless joint indices of this many joint actions are exact small integers. */
export function assertIndexable(jointActionCount: number, what: string): void {
  if (!(jointActionCount <= MAX_INDEXED_JOINT_ACTIONS)) {
    throw new Error(
      `${what}: ${jointActionCount} joint actions exceed 2^31, so joint indices are not supported; ` +
        'use the joint-action (array) methods instead',
    );
  }
}

/** a = Σ_i a^i · Π_{j<i} n_j. Throws on an action out of range. */
export function encodeJointAction(joint: ArrayLike<number>, actionCounts: readonly number[]): number {
  if (joint.length !== actionCounts.length) {
    throw new Error(`joint action has ${joint.length} entries, expected ${actionCounts.length} (one per agent)`);
  }
  let index = 0;
  let stride = 1;
  for (let agent = 0; agent < actionCounts.length; agent++) {
    const action = joint[agent];
    if (!Number.isInteger(action) || action < 0 || action >= actionCounts[agent]) {
      throw new Error(`joint action: agent ${agent} has action ${action}, expected an integer in [0, ${actionCounts[agent]})`);
    }
    index += action * stride;
    stride *= actionCounts[agent];
  }
  return index;
}

/** The inverse of encodeJointAction, into out (length N). Throws on an index out of range. */
export function decodeJointIndex(index: number, actionCounts: readonly number[], out: JointAction): JointAction {
  if (!Number.isInteger(index) || index < 0 || index >= jointActionCountOf(actionCounts)) {
    throw new Error(`joint index ${index} out of range [0, ${jointActionCountOf(actionCounts)})`);
  }
  let rest = index;
  for (let agent = 0; agent < actionCounts.length; agent++) {
    const n = actionCounts[agent];
    const action = rest % n;
    out[agent] = action;
    rest = (rest - action) / n;
  }
  return out;
}
