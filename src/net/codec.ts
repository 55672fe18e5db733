/**
 * The wire format of round messages (shared/DESIGN.md "Wire format and validation"): a small
 * versioned binary header followed by the payload. No JSON. All integers and floats are
 * little-endian.
 *
 * ```
 * offset size  field
 *      0    2  magic 'N' 'A' (0x4e 0x41)
 *      2    1  version (1)
 *      3    1  kind (1 action, 2 share, 4 round: an action and a critic share in one message)
 *      4    4  run tag: hashString(run id), u32
 *      8    2  agent id, u16
 *     10    4  step, u32
 *     14    4  payload length in bytes, u32
 *     18    …  payload
 *              action: action u32, state hash u32 (8 bytes)
 *              share:  float32 × dimension
 *              round:  action u32, state hash u32, share step u32, float32 × dimension
 * ```
 *
 * A round message carries what an agent publishes in one round, its action a^i_step and its
 * critic share of iteration `share step`, under one signature: senders use it on the action
 * topic when every agent receives the share anyway or it is small (see Libp2pTransport); the
 * header's step is the action's. Kind 3 is not used.
 *
 * `decode` checks the structure (and, given expectations, run, agent, dimension) and that every
 * float is finite; `MessageValidator` adds what depends on the run and the moment: the sender's
 * verified peer id, the topic, and the step window. Rejections are results, never exceptions:
 * a bad message from the network is routine, not a bug.
 */
import { hashString } from '../core/hash.js';
import type { ActionMessage, ShareMessage } from './transport.js';

export const WIRE_MAGIC_0 = 0x4e; // 'N'
export const WIRE_MAGIC_1 = 0x41; // 'A'
export const WIRE_VERSION = 1;
export const KIND_ACTION = 1;
export const KIND_SHARE = 2;
export const KIND_ROUND = 4;
export const HEADER_BYTES = 18;
export const ACTION_PAYLOAD_BYTES = 8;
export const ACTION_MESSAGE_BYTES = HEADER_BYTES + ACTION_PAYLOAD_BYTES;
/** Round payload bytes before the floats: action, state hash, share step. */
export const ROUND_FIXED_BYTES = 12;
export const MAX_AGENT_ID = 0xffff;
export const MAX_U32 = 0xffffffff;

/** Why `decode` refused a message. */
export type DecodeReason =
  | 'size'
  | 'magic'
  | 'version'
  | 'kind'
  | 'run'
  | 'agent'
  | 'step'
  | 'dimension'
  | 'non-finite';

/** Why a message was refused: a decode reason, or a check that needs the network context. */
export type RejectReason = DecodeReason | 'sender' | 'topic';

export const REJECT_REASONS: readonly RejectReason[] = [
  'size',
  'magic',
  'version',
  'kind',
  'run',
  'agent',
  'step',
  'dimension',
  'non-finite',
  'sender',
  'topic',
];

export interface DecodeError<R extends RejectReason = DecodeReason> {
  readonly kind: 'error';
  readonly reason: R;
  /** Human-readable explanation, for logs. */
  readonly detail: string;
}

export type Rejection = DecodeError<RejectReason>;

export type DecodedMessage =
  | { readonly kind: 'action'; readonly runTag: number; readonly message: ActionMessage }
  | { readonly kind: 'share'; readonly runTag: number; readonly message: ShareMessage }
  /** A round message: the action (`message`) and the critic share (`share`) of one agent. */
  | { readonly kind: 'round'; readonly runTag: number; readonly message: ActionMessage; readonly share: ShareMessage };

export type DecodeResult = DecodedMessage | DecodeError;

/** Optional checks `decode` makes when it is told what to expect. */
export interface DecodeExpectations {
  readonly runTag?: number;
  /** Agent ids must be below this. */
  readonly agentCount?: number;
  /** Shares must have exactly this many floats. */
  readonly shareDimension?: number;
}

/** The run tag carried by every message of a run: a u32 hash of the run id. */
export function runTagOf(runId: string): number {
  return hashString(runId);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function checkU32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new RangeError(`wire: ${name} must be an integer in [0, 2^32), got ${value}`);
  }
}

function checkAgent(agent: number): void {
  if (!Number.isInteger(agent) || agent < 0 || agent > MAX_AGENT_ID) {
    throw new RangeError(`wire: agent id must be an integer in [0, 65535], got ${agent}`);
  }
}

function writeHeader(view: DataView, bytes: Uint8Array, kind: number, runTag: number, agent: number, step: number, payloadBytes: number): void {
  bytes[0] = WIRE_MAGIC_0;
  bytes[1] = WIRE_MAGIC_1;
  bytes[2] = WIRE_VERSION;
  bytes[3] = kind;
  view.setUint32(4, runTag, true);
  view.setUint16(8, agent, true);
  view.setUint32(10, step, true);
  view.setUint32(14, payloadBytes, true);
}

/** Encodes an action message. Throws RangeError on values the format cannot carry (a caller bug). */
export function encodeAction(runTag: number, message: ActionMessage): Uint8Array {
  checkU32('run tag', runTag);
  checkAgent(message.agent);
  checkU32('step', message.step);
  checkU32('action', message.action);
  checkU32('state hash', message.stateHash);
  const bytes = new Uint8Array(ACTION_MESSAGE_BYTES);
  const view = new DataView(bytes.buffer);
  writeHeader(view, bytes, KIND_ACTION, runTag, message.agent, message.step, ACTION_PAYLOAD_BYTES);
  view.setUint32(HEADER_BYTES, message.action, true);
  view.setUint32(HEADER_BYTES + 4, message.stateHash, true);
  return bytes;
}

/** Encodes a share message (floats copied as little-endian float32). Non-finite values are
 * encoded as they are: receivers reject them, which is what a test of the validator needs. */
export function encodeShare(runTag: number, message: ShareMessage): Uint8Array {
  checkU32('run tag', runTag);
  checkAgent(message.agent);
  checkU32('step', message.step);
  const share = message.share;
  const payloadBytes = share.length * 4;
  const bytes = new Uint8Array(HEADER_BYTES + payloadBytes);
  const view = new DataView(bytes.buffer);
  writeHeader(view, bytes, KIND_SHARE, runTag, message.agent, message.step, payloadBytes);
  if (LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(share.buffer, share.byteOffset, payloadBytes), HEADER_BYTES);
  } else {
    for (let index = 0; index < share.length; index++) view.setFloat32(HEADER_BYTES + index * 4, share[index], true);
  }
  return bytes;
}

/**
 * Encodes a round message: an action and the same agent's critic share (any iteration: the
 * Agent sends its share of iteration step − actionLead with its action of round `step`).
 */
export function encodeRound(runTag: number, action: ActionMessage, share: ShareMessage): Uint8Array {
  checkU32('run tag', runTag);
  checkAgent(action.agent);
  if (share.agent !== action.agent) throw new RangeError(`wire: a round message carries one agent's action and share, got agents ${action.agent} and ${share.agent}`);
  checkU32('step', action.step);
  checkU32('share step', share.step);
  checkU32('action', action.action);
  checkU32('state hash', action.stateHash);
  const floats = share.share;
  const payloadBytes = ROUND_FIXED_BYTES + floats.length * 4;
  const bytes = new Uint8Array(HEADER_BYTES + payloadBytes);
  const view = new DataView(bytes.buffer);
  writeHeader(view, bytes, KIND_ROUND, runTag, action.agent, action.step, payloadBytes);
  view.setUint32(HEADER_BYTES, action.action, true);
  view.setUint32(HEADER_BYTES + 4, action.stateHash, true);
  view.setUint32(HEADER_BYTES + 8, share.step, true);
  const at = HEADER_BYTES + ROUND_FIXED_BYTES;
  if (LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(floats.buffer, floats.byteOffset, floats.length * 4), at);
  } else {
    for (let index = 0; index < floats.length; index++) view.setFloat32(at + index * 4, floats[index], true);
  }
  return bytes;
}

function fail<R extends RejectReason>(reason: R, detail: string): DecodeError<R> {
  return { kind: 'error', reason, detail };
}

/** The fixed-size header of a message whose structure has been checked. */
export interface WireHeader {
  readonly kind: 'action' | 'share' | 'round';
  readonly runTag: number;
  readonly agent: number;
  readonly step: number;
  readonly payloadBytes: number;
}

/**
 * Checks and reads the header: size, magic, version, kind, payload size against the total (and
 * the action payload's fixed size, a share payload's float alignment), then, given
 * expectations, the run tag and the agent id. Reads no payload.
 */
export function decodeHeader(bytes: Uint8Array, expect: DecodeExpectations = {}): WireHeader | DecodeError {
  if (bytes.length < HEADER_BYTES) return fail('size', `${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  if (bytes[0] !== WIRE_MAGIC_0 || bytes[1] !== WIRE_MAGIC_1) return fail('magic', 'bad magic');
  if (bytes[2] !== WIRE_VERSION) return fail('version', `version ${bytes[2]}, expected ${WIRE_VERSION}`);
  const kindByte = bytes[3];
  if (kindByte !== KIND_ACTION && kindByte !== KIND_SHARE && kindByte !== KIND_ROUND) return fail('kind', `unknown kind ${kindByte}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloadBytes = view.getUint32(14, true);
  if (bytes.length !== HEADER_BYTES + payloadBytes) {
    return fail('size', `payload length ${payloadBytes} does not match the ${bytes.length - HEADER_BYTES} bytes after the header`);
  }
  const kind = kindByte === KIND_ACTION ? 'action' : kindByte === KIND_SHARE ? 'share' : 'round';
  if (kind === 'action' && payloadBytes !== ACTION_PAYLOAD_BYTES) {
    return fail('size', `action payload of ${payloadBytes} bytes, expected ${ACTION_PAYLOAD_BYTES}`);
  }
  if (kind === 'share' && payloadBytes % 4 !== 0) return fail('size', `share payload of ${payloadBytes} bytes is not a whole number of float32`);
  if (kind === 'round' && (payloadBytes < ROUND_FIXED_BYTES || payloadBytes % 4 !== 0)) {
    return fail('size', `round payload of ${payloadBytes} bytes is not ${ROUND_FIXED_BYTES} bytes and a whole number of float32`);
  }
  const runTag = view.getUint32(4, true);
  if (expect.runTag !== undefined && runTag !== expect.runTag) return fail('run', `run tag ${runTag}, expected ${expect.runTag}`);
  const agent = view.getUint16(8, true);
  if (expect.agentCount !== undefined && agent >= expect.agentCount) {
    return fail('agent', `agent id ${agent} is not below the agent count ${expect.agentCount}`);
  }
  return { kind, runTag, agent, step: view.getUint32(10, true), payloadBytes };
}

/**
 * Reads the payload of a message whose header `decodeHeader` accepted. Checks a share's
 * dimension (given an expectation) and that every float is finite; copies the floats into a
 * fresh Float32Array, so the input buffer may be reused.
 */
export function decodePayload(bytes: Uint8Array, header: WireHeader, expect: DecodeExpectations = {}): DecodeResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { runTag, agent, step } = header;
  if (header.kind === 'action') {
    const action = view.getUint32(HEADER_BYTES, true);
    const stateHash = view.getUint32(HEADER_BYTES + 4, true);
    return { kind: 'action', runTag, message: { agent, step, action, stateHash } };
  }
  const at = header.kind === 'round' ? HEADER_BYTES + ROUND_FIXED_BYTES : HEADER_BYTES;
  const floatBytes = header.payloadBytes - (at - HEADER_BYTES);
  const share = readFloats(bytes, view, at, floatBytes, expect);
  if (!(share instanceof Float32Array)) return share;
  if (header.kind === 'share') return { kind: 'share', runTag, message: { agent, step, share } };
  const action = view.getUint32(HEADER_BYTES, true);
  const stateHash = view.getUint32(HEADER_BYTES + 4, true);
  const shareStep = view.getUint32(HEADER_BYTES + 8, true);
  return { kind: 'round', runTag, message: { agent, step, action, stateHash }, share: { agent, step: shareStep, share } };
}

/** The floats of a share (checked: dimension, every float finite), copied out of the buffer. */
function readFloats(bytes: Uint8Array, view: DataView, at: number, floatBytes: number, expect: DecodeExpectations): Float32Array | DecodeError {
  const dimension = floatBytes / 4;
  if (expect.shareDimension !== undefined && dimension !== expect.shareDimension) {
    return fail('dimension', `share of dimension ${dimension}, expected ${expect.shareDimension}`);
  }
  const share = new Float32Array(dimension);
  if (LITTLE_ENDIAN) {
    new Uint8Array(share.buffer).set(bytes.subarray(at, at + floatBytes));
  } else {
    for (let index = 0; index < dimension; index++) share[index] = view.getFloat32(at + index * 4, true);
  }
  for (let index = 0; index < dimension; index++) {
    const value = share[index];
    // value - value is 0 for every finite float, NaN for NaN and ±Infinity.
    if (value - value !== 0) return fail('non-finite', `share[${index}] is ${value}`);
  }
  return share;
}

/**
 * Decodes a message: `decodeHeader` then `decodePayload`. Checks, in order: size, magic,
 * version, kind, payload size, then (given expectations) run tag, agent id and share
 * dimension, and finally that every float is finite.
 */
export function decode(bytes: Uint8Array, expect: DecodeExpectations = {}): DecodeResult {
  const header = decodeHeader(bytes, expect);
  if (header.kind === 'error') return header;
  return decodePayload(bytes, header, expect);
}

export function isDecodeError(result: DecodeResult | Rejection | ValidationResult): result is Rejection {
  return result.kind === 'error';
}

/** Where a message arrived, when the topic implies what it must be. */
export type TopicExpectation = { readonly kind: 'action' } | { readonly kind: 'share'; readonly agent: number };

export interface StepWindow {
  /** Accept steps down to current − lag. */
  readonly lag: number;
  /** Accept steps up to current + ahead. */
  readonly ahead: number;
}

export interface MessageValidatorOptions {
  readonly runTag: number;
  readonly agentCount: number;
  readonly shareDimension: number;
  readonly window: StepWindow;
  /** The local current step; undefined while it is not known yet (every step is accepted). */
  readonly currentStep: () => number | undefined;
  /** The peer id the run config lists for an agent, undefined if none. */
  readonly peerIdOfAgent: (agent: number) => string | undefined;
}

export type ValidationResult = DecodedMessage | Rejection;

function zeroCounts(): Record<RejectReason, number> {
  const counts = {} as Record<RejectReason, number>;
  for (const reason of REJECT_REASONS) counts[reason] = 0;
  return counts;
}

/**
 * Validates received messages against the run: every check of shared/DESIGN.md "Wire format and
 * validation". Counts every rejection, in total and per reason. Order: header (size, magic,
 * version, kind, run, agent), listed sender, topic, step window, then the payload (dimension,
 * non-finite): a forged or stale message is refused before its payload is read, and is counted
 * under 'sender' or 'step' whatever its payload holds.
 */
export class MessageValidator {
  readonly rejectedByReason: Record<RejectReason, number> = zeroCounts();
  rejected = 0;
  private readonly expect: DecodeExpectations;

  constructor(private readonly options: MessageValidatorOptions) {
    const { window } = options;
    if (!(window.lag >= 0) || !(window.ahead >= 0)) throw new RangeError('MessageValidator: window lag and ahead must be ≥ 0');
    this.expect = { runTag: options.runTag, agentCount: options.agentCount, shareDimension: options.shareDimension };
  }

  /**
   * @param bytes the message data
   * @param sender the verified origin's peer id (StrictSign `msg.from`); undefined for an unsigned message
   * @param topic what the topic it arrived on requires, if anything
   */
  validate(bytes: Uint8Array, sender: string | undefined, topic?: TopicExpectation): ValidationResult {
    // Cheap checks first: a forged or stale message is refused before its payload is read.
    const header = decodeHeader(bytes, this.expect);
    if (header.kind === 'error') return this.reject(header);
    const { agent, step } = header;
    const expected = this.options.peerIdOfAgent(agent);
    if (expected === undefined) return this.reject(fail('agent', `no peer is listed for agent ${agent}`));
    if (sender !== expected) {
      return this.reject(fail('sender', `agent ${agent} is ${expected} in the run config, but the message was signed by ${sender ?? 'nobody'}`));
    }
    if (topic !== undefined) {
      // Round messages (an action with a share) travel on the action topic.
      const topicKind = header.kind === 'round' ? 'action' : header.kind;
      if (topic.kind !== topicKind) return this.reject(fail('topic', `${header.kind} message on a ${topic.kind} topic`));
      if (topic.kind === 'share' && topic.agent !== agent) {
        return this.reject(fail('topic', `share of agent ${agent} on the share topic of agent ${topic.agent}`));
      }
    }
    const current = this.options.currentStep();
    if (current !== undefined) {
      const { lag, ahead } = this.options.window;
      if (step < current - lag || step > current + ahead) {
        return this.reject(fail('step', `step ${step} outside [${current - lag}, ${current + ahead}]`));
      }
    }
    if (header.kind === 'round') {
      const shareStep = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(HEADER_BYTES + 8, true);
      if (shareStep > step) return this.reject(fail('step', `share step ${shareStep} after the action step ${step}`));
      if (current !== undefined && shareStep < current - this.options.window.lag) {
        return this.reject(fail('step', `share step ${shareStep} below ${current - this.options.window.lag}`));
      }
    }
    const decoded = decodePayload(bytes, header, this.expect);
    if (decoded.kind === 'error') return this.reject(decoded);
    return decoded;
  }

  private reject(rejection: Rejection): Rejection {
    this.rejected++;
    this.rejectedByReason[rejection.reason]++;
    return rejection;
  }
}
