/**
 * Step-size schedules (ALGORITHMS.md "Step sizes"): β_ω,t = β_v,t = c_ω (t+1)^(-0.65) and
 * β_θ,t = c_θ (t+1)^(-0.85) by default — two time-scales, the critic faster than the actor.
 */
export type StepSizeSchedule =
  | { readonly kind: 'constant'; readonly value: number }
  | { readonly kind: 'decaying'; readonly c: number; readonly p: number };

/** The paper's critic schedule: (t+1)^-0.65. */
export const PAPER_CRITIC_SCHEDULE: StepSizeSchedule = { kind: 'decaying', c: 1, p: 0.65 };
/** The paper's actor schedule: (t+1)^-0.85. */
export const PAPER_ACTOR_SCHEDULE: StepSizeSchedule = { kind: 'decaying', c: 1, p: 0.85 };

/** Step size at iteration t (t = 0, 1, ...). */
export function stepSizeAt(schedule: StepSizeSchedule, t: number): number {
  return schedule.kind === 'constant' ? schedule.value : schedule.c * Math.pow(t + 1, -schedule.p);
}
