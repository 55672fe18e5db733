/**
 * The `faults` section (run config, or `netac sim --faults FILE`): fault injection and hostile
 * agents for robustness experiments. Off by default; logged loudly when on.
 *
 * ```yaml
 * dropShares: 0.2                              # each critic share lost with this probability
 * delayMs: { min: 0, max: 30 }                 # libp2p runs only
 * partition: { agents: [0, 1], fromMs: 2000, toMs: 5000 }   # libp2p runs only
 * hostile:                                     # agents that send valid but harmful shares
 *   - { agent: 2, share: constant, value: 1000 }
 *   - { agent: 5, share: negated }
 * ```
 */
import * as z from 'zod';
import type { FaultPlan } from '../net/fault-transport.js';
import { checkTopLevel, failure, readStructuredFile } from './config.js';
import { expected, intAtLeast, nonNegativeNumber, strictObject } from './config-schema.js';

export type HostileShare = { readonly agent: number; readonly share: 'constant'; readonly value: number } | { readonly agent: number; readonly share: 'negated' };

export interface FaultConfig extends FaultPlan {
  readonly hostile: readonly HostileShare[];
}

const probability = () => z.number(expected('a probability in [0, 1]')).min(0, expected('a probability in [0, 1]')).max(1, expected('a probability in [0, 1]'));

export const faultSchema = strictObject({
  dropShares: probability().optional(),
  delayMs: strictObject({ min: nonNegativeNumber(), max: nonNegativeNumber() })
    .refine((delay) => delay.max >= delay.min, expected('max >= min'))
    .optional(),
  partition: strictObject({
    agents: z.array(intAtLeast(0), expected('a list of agent ids')).min(1, expected('at least one agent')),
    fromMs: nonNegativeNumber(),
    toMs: nonNegativeNumber(),
  })
    .refine((partition) => partition.toMs > partition.fromMs, expected('toMs > fromMs'))
    .optional(),
  hostile: z
    .array(
      z.discriminatedUnion(
        'share',
        [
          strictObject({ agent: intAtLeast(0), share: z.literal('constant'), value: z.number(expected('a finite number')) }),
          strictObject({ agent: intAtLeast(0), share: z.literal('negated') }),
        ],
        { error: () => "expected { agent, share: 'constant', value } or { agent, share: 'negated' }" },
      ),
      expected('a list of hostile agents'),
    )
    .default([]),
});

export const NO_FAULTS: FaultConfig = { hostile: [] };

export function parseFaults(obj: unknown, source: string): FaultConfig {
  checkTopLevel(obj, source, 'faults section');
  const result = faultSchema.safeParse(obj, { reportInput: true });
  if (!result.success) throw failure(result.error, source);
  return result.data;
}

export function loadFaults(path: string): FaultConfig {
  return parseFaults(readStructuredFile(path), path);
}

/** The share transform of a hostile agent (applied to what it sends, never to its own learner). */
export function hostileTransform(config: FaultConfig, agent: number): ((share: Float32Array) => void) | undefined {
  const entry = config.hostile.find((hostile) => hostile.agent === agent);
  if (!entry) return undefined;
  if (entry.share === 'constant') {
    const value = entry.value;
    return (share) => share.fill(value);
  }
  return (share) => {
    for (let k = 0; k < share.length; k++) share[k] = -share[k];
  };
}

export function describeHostile(config: FaultConfig): string {
  return config.hostile
    .map((hostile) => `agent ${hostile.agent} sends ${hostile.share === 'constant' ? `the constant ${hostile.value}` : 'its negated parameters'}`)
    .join('; ');
}
