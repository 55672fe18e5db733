/**
 * netac's own request-response protocol for a restarted agent to catch up with the run
 * (`/netac/<run>/sync/1`). The rejoining agent asks each peer for its current round, the joint
 * actions of the rounds it missed, and the round messages the peer holds from the rejoining agent
 * itself (what its previous incarnation published just before it died), so it can replay its
 * environment replica and re-publish exactly what the others may already have seen.
 *
 * One length-prefixed JSON request, one length-prefixed JSON response. This is not the hot
 * path. Responses are validated like wire messages: a malformed answer is discarded, never
 * trusted.
 */
import { lpStream } from '@libp2p/utils';
import type { Libp2p, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { ActionMessage } from './transport.js';

export function syncProtocol(runId: string): string {
  return `/netac/${runId}/sync/1`;
}

export interface SyncRequest {
  /** The rejoining agent. */
  readonly agent: number;
  /** The first round it needs the joint action of (its restored round). */
  readonly fromRound: number;
}

export interface SyncResponse {
  /** The responding agent. */
  readonly agent: number;
  /** The round the responder is in: it has completed every round before it. */
  readonly round: number;
  /** Joint actions of rounds fromRound .. round − 1 (one array of N actions each). */
  readonly joints: readonly (readonly number[])[];
  /** Round messages of the requester that the responder holds (for rounds round − 1 and round). */
  readonly actions: readonly ActionMessage[];
  readonly shares: readonly { readonly step: number; readonly share: readonly number[] }[];
}

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function decode(bytes: { subarray(): Uint8Array }): unknown {
  return JSON.parse(new TextDecoder().decode(bytes.subarray()));
}

const isInt = (value: unknown): value is number => Number.isInteger(value);

/** Checks a response's shape; returns undefined (discard) when anything is off. */
export function validSyncResponse(value: unknown, agentCount: number, fromRound: number): SyncResponse | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const response = value as Partial<SyncResponse>;
  if (!isInt(response.agent) || response.agent < 0 || response.agent >= agentCount) return undefined;
  if (!isInt(response.round) || response.round < 0) return undefined;
  if (!Array.isArray(response.joints) || !Array.isArray(response.actions) || !Array.isArray(response.shares)) return undefined;
  if (response.joints.length !== Math.max(0, response.round - fromRound)) return undefined;
  for (const joint of response.joints) {
    if (!Array.isArray(joint) || joint.length !== agentCount || !joint.every((a) => isInt(a) && a >= 0)) return undefined;
  }
  for (const action of response.actions) {
    if (!action || !isInt(action.step) || !isInt(action.action) || !isInt(action.stateHash) || !isInt(action.agent)) return undefined;
  }
  for (const share of response.shares) {
    if (!share || !isInt(share.step) || !Array.isArray(share.share) || !share.share.every(Number.isFinite)) return undefined;
  }
  return response as SyncResponse;
}

/** Serves sync requests with `answer` (which must not throw on a bad request: it returns undefined). */
export async function serveSync(node: Libp2p, runId: string, answer: (request: SyncRequest) => SyncResponse | undefined): Promise<void> {
  await node.handle(syncProtocol(runId), async (stream: Stream) => {
    const framed = lpStream(stream, { maxDataLength: 4096 });
    try {
      const request = decode(await framed.read()) as Partial<SyncRequest>;
      const response = isInt(request.agent) && isInt(request.fromRound) ? answer({ agent: request.agent, fromRound: request.fromRound }) : undefined;
      await framed.write(encode(response ?? null));
      await stream.close();
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

/** Asks the peer `peerId` for what `request.agent` missed; undefined when it cannot or will not answer. */
export async function requestSync(
  node: Libp2p,
  peerId: string,
  runId: string,
  request: SyncRequest,
  agentCount: number,
  timeoutMs = 10_000,
): Promise<SyncResponse | undefined> {
  const signal = AbortSignal.timeout(timeoutMs);
  const stream = await node.dialProtocol(peerIdFromString(peerId), syncProtocol(runId), { signal });
  const framed = lpStream(stream, { maxDataLength: MAX_RESPONSE_BYTES });
  await framed.write(encode(request), { signal });
  const response = validSyncResponse(decode(await framed.read({ signal })), agentCount, request.fromRound);
  await stream.close().catch(() => {});
  return response;
}
