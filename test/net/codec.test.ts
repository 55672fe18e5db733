import { describe, expect, it } from 'vitest';
import {
  ACTION_MESSAGE_BYTES,
  decode,
  encodeAction,
  encodeShare,
  HEADER_BYTES,
  isDecodeError,
  MessageValidator,
  REJECT_REASONS,
  runTagOf,
  type DecodeResult,
  type MessageValidatorOptions,
  type RejectReason,
  type ValidationResult,
} from '../../src/net/codec.js';
import { hashString } from '../../src/core/hash.js';

const RUN = runTagOf('run-a');
const PEERS = ['12D3KooWPeerZero', '12D3KooWPeerOne', '12D3KooWPeerTwo'];

function action(agent = 1, step = 10) {
  return { agent, step, action: 3, stateHash: 0xdeadbeef };
}

function share(agent = 1, step = 10, values: number[] = [0.5, -1.25, 3e-8, 1e30]) {
  return { agent, step, share: Float32Array.from(values) };
}

function reasonOf(result: DecodeResult | ValidationResult): RejectReason | undefined {
  return isDecodeError(result) ? result.reason : undefined;
}

function setFloat(bytes: Uint8Array, index: number, value: number): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setFloat32(HEADER_BYTES + 4 * index, value, true);
  return bytes;
}

describe('wire codec', () => {
  it('uses hashString of the run id as the run tag', () => {
    expect(runTagOf('run-a')).toBe(hashString('run-a'));
    expect(runTagOf('run-a')).not.toBe(runTagOf('run-b'));
  });

  it('lays out the header as documented', () => {
    const bytes = encodeAction(0x01020304, { agent: 0x0506, step: 0x0708090a, action: 1, stateHash: 2 });
    expect(bytes.length).toBe(ACTION_MESSAGE_BYTES);
    expect([...bytes.subarray(0, HEADER_BYTES)]).toEqual([
      0x4e, 0x41, 1, 1, 0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x0a, 0x09, 0x08, 0x07, 8, 0, 0, 0,
    ]);
  });

  it('round-trips actions, including extreme values', () => {
    for (const message of [action(), { agent: 65535, step: 0xffffffff, action: 0xffffffff, stateHash: 0 }]) {
      const decoded = decode(encodeAction(RUN, message));
      expect(decoded).toEqual({ kind: 'action', runTag: RUN, message });
    }
  });

  it('round-trips shares bit for bit and copies them out of the input buffer', () => {
    const message = share(2, 99, [0, -0, 1.5, -3.25, 1e-40, 3.4e38]);
    const bytes = encodeShare(RUN, message);
    expect(bytes.length).toBe(HEADER_BYTES + 4 * 6);
    const decoded = decode(bytes);
    if (decoded.kind !== 'share') throw new Error(`expected a share, got ${decoded.kind}`);
    expect(decoded.message.agent).toBe(2);
    expect(decoded.message.step).toBe(99);
    expect(new Uint32Array(decoded.message.share.buffer)).toEqual(new Uint32Array(message.share.buffer));
    bytes.fill(0);
    expect(decoded.message.share[2]).toBe(1.5);
  });

  it('decodes from a subarray at an odd offset (as gossipsub hands it over)', () => {
    const bytes = encodeShare(RUN, share());
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 1);
    const decoded = decode(padded.subarray(1, 1 + bytes.length));
    expect(decoded.kind).toBe('share');
  });

  it('encodes a share that is a view into a larger buffer', () => {
    const big = Float32Array.from([9, 1, 2, 3, 9]);
    const decoded = decode(encodeShare(RUN, { agent: 0, step: 1, share: big.subarray(1, 4) }));
    if (decoded.kind !== 'share') throw new Error('expected a share');
    expect([...decoded.message.share]).toEqual([1, 2, 3]);
  });

  it('refuses to encode values the format cannot carry', () => {
    expect(() => encodeAction(RUN, { ...action(), agent: 65536 })).toThrow(RangeError);
    expect(() => encodeAction(RUN, { ...action(), step: -1 })).toThrow(RangeError);
    expect(() => encodeAction(RUN, { ...action(), step: 1.5 })).toThrow(RangeError);
    expect(() => encodeAction(RUN, { ...action(), stateHash: -5 })).toThrow(/state hash/);
    expect(() => encodeShare(-1, share())).toThrow(/run tag/);
  });

  describe('decode rejections', () => {
    it('size: shorter than the header', () => {
      expect(reasonOf(decode(new Uint8Array(0)))).toBe('size');
      expect(reasonOf(decode(encodeAction(RUN, action()).subarray(0, HEADER_BYTES - 1)))).toBe('size');
    });

    it('size: truncated payload', () => {
      const bytes = encodeShare(RUN, share());
      expect(reasonOf(decode(bytes.subarray(0, bytes.length - 1)))).toBe('size');
    });

    it('size: trailing bytes', () => {
      const bytes = encodeAction(RUN, action());
      const longer = new Uint8Array(bytes.length + 4);
      longer.set(bytes);
      expect(reasonOf(decode(longer))).toBe('size');
    });

    it('size: an action payload that is not 8 bytes, a share payload not a multiple of 4', () => {
      const actionBytes = new Uint8Array(HEADER_BYTES + 4);
      actionBytes.set(encodeAction(RUN, action()).subarray(0, HEADER_BYTES));
      new DataView(actionBytes.buffer).setUint32(14, 4, true);
      expect(reasonOf(decode(actionBytes))).toBe('size');
      const shareBytes = new Uint8Array(HEADER_BYTES + 6);
      shareBytes.set(encodeShare(RUN, share()).subarray(0, HEADER_BYTES));
      new DataView(shareBytes.buffer).setUint32(14, 6, true);
      expect(reasonOf(decode(shareBytes))).toBe('size');
    });

    it('magic', () => {
      const bytes = encodeAction(RUN, action());
      bytes[1] = 0x42;
      expect(reasonOf(decode(bytes))).toBe('magic');
    });

    it('version', () => {
      const bytes = encodeAction(RUN, action());
      bytes[2] = 2;
      expect(reasonOf(decode(bytes))).toBe('version');
    });

    it('kind', () => {
      const bytes = encodeAction(RUN, action());
      bytes[3] = 3;
      expect(reasonOf(decode(bytes))).toBe('kind');
    });

    it('run', () => {
      expect(reasonOf(decode(encodeAction(runTagOf('run-b'), action()), { runTag: RUN }))).toBe('run');
      expect(reasonOf(decode(encodeAction(RUN, action()), { runTag: RUN }))).toBeUndefined();
    });

    it('agent', () => {
      expect(reasonOf(decode(encodeAction(RUN, action(3)), { agentCount: 3 }))).toBe('agent');
      expect(reasonOf(decode(encodeAction(RUN, action(2)), { agentCount: 3 }))).toBeUndefined();
    });

    it('dimension', () => {
      expect(reasonOf(decode(encodeShare(RUN, share()), { shareDimension: 5 }))).toBe('dimension');
      expect(reasonOf(decode(encodeShare(RUN, share()), { shareDimension: 4 }))).toBeUndefined();
    });

    it('non-finite: NaN, +Infinity, -Infinity, a NaN with payload bits', () => {
      for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        expect(reasonOf(decode(setFloat(encodeShare(RUN, share()), 3, value)))).toBe('non-finite');
      }
      const bytes = encodeShare(RUN, share());
      new DataView(bytes.buffer).setUint32(HEADER_BYTES, 0x7fc01234, true); // a quiet NaN
      expect(reasonOf(decode(bytes))).toBe('non-finite');
    });
  });
});

describe('MessageValidator', () => {
  function validator(overrides: Partial<MessageValidatorOptions> = {}, current: { step: number | undefined } = { step: 10 }) {
    return new MessageValidator({
      runTag: RUN,
      agentCount: 4, // agent 3 is in range but has no listed peer
      shareDimension: 4,
      window: { lag: 2, ahead: 3 },
      currentStep: () => current.step,
      peerIdOfAgent: (agent) => PEERS[agent],
      ...overrides,
    });
  }

  it('accepts a good action and a good share from the listed sender', () => {
    const v = validator();
    expect(v.validate(encodeAction(RUN, action(1, 10)), PEERS[1], { kind: 'action' }).kind).toBe('action');
    expect(v.validate(encodeShare(RUN, share(2, 10)), PEERS[2], { kind: 'share', agent: 2 }).kind).toBe('share');
    expect(v.rejected).toBe(0);
  });

  const cases: Array<[RejectReason, string, (v: MessageValidator) => ValidationResult]> = [
    ['size', 'truncated share', (v) => v.validate(encodeShare(RUN, share()).subarray(0, 20), PEERS[1])],
    ['magic', 'JSON instead of the wire format', (v) => v.validate(new TextEncoder().encode('{"json":"is not the wire format"}'), PEERS[1])],
    ['version', 'version 9', (v) => v.validate(Object.assign(encodeAction(RUN, action()), { 2: 9 }), PEERS[1])],
    ['kind', 'kind 0', (v) => v.validate(Object.assign(encodeAction(RUN, action()), { 3: 0 }), PEERS[1])],
    ['run', 'the tag of another run', (v) => v.validate(encodeAction(runTagOf('other'), action()), PEERS[1])],
    ['agent', 'agent id beyond agentCount', (v) => v.validate(encodeAction(RUN, action(7)), PEERS[1])],
    ['agent', 'agent with no listed peer', (v) => v.validate(encodeAction(RUN, action(3)), PEERS[1])],
    ['sender', 'the peer of agent 2 speaking for agent 1', (v) => v.validate(encodeAction(RUN, action(1)), PEERS[2])],
    ['sender', 'a stranger speaking for agent 1', (v) => v.validate(encodeAction(RUN, action(1)), '12D3KooWStranger')],
    ['sender', 'unsigned', (v) => v.validate(encodeAction(RUN, action(1)), undefined)],
    ['topic', 'action on a share topic', (v) => v.validate(encodeAction(RUN, action(1)), PEERS[1], { kind: 'share', agent: 1 })],
    ['topic', 'share on the share topic of another agent', (v) => v.validate(encodeShare(RUN, share(1)), PEERS[1], { kind: 'share', agent: 2 })],
    ['step', 'step below current − lag', (v) => v.validate(encodeAction(RUN, action(1, 7)), PEERS[1])],
    ['step', 'step above current + ahead', (v) => v.validate(encodeAction(RUN, action(1, 14)), PEERS[1])],
    ['dimension', '3 floats instead of 4', (v) => v.validate(encodeShare(RUN, share(1, 10, [1, 2, 3])), PEERS[1])],
    ['non-finite', 'NaN', (v) => v.validate(encodeShare(RUN, share(1, 10, [1, Number.NaN, 3, 4])), PEERS[1])],
    ['non-finite', '+Infinity', (v) => v.validate(encodeShare(RUN, share(1, 10, [1, 2, Number.POSITIVE_INFINITY, 4])), PEERS[1])],
    ['non-finite', '-Infinity', (v) => v.validate(encodeShare(RUN, share(1, 10, [Number.NEGATIVE_INFINITY, 2, 3, 4])), PEERS[1])],
  ];

  for (const [reason, label, run] of cases) {
    it(`rejects and counts: ${reason} (${label})`, () => {
      const v = validator();
      const result = run(v);
      expect(reasonOf(result)).toBe(reason);
      expect(v.rejected).toBe(1);
      for (const other of REJECT_REASONS) expect(v.rejectedByReason[other]).toBe(other === reason ? 1 : 0);
    });
  }

  it('accepts the window edges and moves with the current step', () => {
    const current = { step: 10 as number | undefined };
    const v = validator({}, current);
    expect(v.validate(encodeAction(RUN, action(1, 8)), PEERS[1]).kind).toBe('action');
    expect(v.validate(encodeAction(RUN, action(1, 13)), PEERS[1]).kind).toBe('action');
    current.step = 20;
    expect(reasonOf(v.validate(encodeAction(RUN, action(1, 13)), PEERS[1]))).toBe('step');
    current.step = 0;
    expect(v.validate(encodeAction(RUN, action(1, 0)), PEERS[1]).kind).toBe('action');
    current.step = undefined; // not known yet: the window is open
    expect(v.validate(encodeAction(RUN, action(1, 123456)), PEERS[1]).kind).toBe('action');
  });

  it('counts rejections cumulatively per reason', () => {
    const v = validator();
    for (let index = 0; index < 3; index++) v.validate(encodeAction(RUN, action(1)), PEERS[2]);
    v.validate(new Uint8Array(3), PEERS[1]);
    expect(v.rejected).toBe(4);
    expect(v.rejectedByReason.sender).toBe(3);
    expect(v.rejectedByReason.size).toBe(1);
  });

  it('refuses a negative window', () => {
    expect(() => validator({ window: { lag: -1, ahead: 0 } })).toThrow(/window/);
  });
});

describe('MessageValidator check order', () => {
  const v = () =>
    new MessageValidator({
      runTag: RUN,
      agentCount: 3,
      shareDimension: 4,
      window: { lag: 2, ahead: 2 },
      currentStep: () => 10,
      peerIdOfAgent: (agent) => PEERS[agent],
    });
  const nan = [Number.NaN, 0, 0, 0];

  it('counts a forged NaN share as a sender rejection, not a payload one', () => {
    expect(reasonOf(v().validate(encodeShare(RUN, share(1, 10, nan)), PEERS[0]))).toBe('sender');
  });

  it('counts a stale NaN share as a step rejection', () => {
    expect(reasonOf(v().validate(encodeShare(RUN, share(1, 3, nan)), PEERS[1]))).toBe('step');
  });

  it('checks the dimension before the floats', () => {
    expect(reasonOf(v().validate(encodeShare(RUN, share(1, 10, [Number.NaN])), PEERS[1]))).toBe('dimension');
  });
});

describe('round messages (an action and its share in one message)', () => {
  const tag = runTagOf('round-run');
  const action = { agent: 2, step: 40, action: 1, stateHash: 0xdeadbeef };
  const share = { agent: 2, step: 38, share: Float32Array.from([0.5, -1.25, 3e-7]) };

  it('round-trips action and share bit for bit', async () => {
    const { encodeRound } = await import('../../src/net/codec.js');
    const decoded = decode(encodeRound(tag, action, share), { runTag: tag, agentCount: 4, shareDimension: 3 });
    expect(decoded.kind).toBe('round');
    if (decoded.kind !== 'round') return;
    expect(decoded.message).toEqual(action);
    expect(decoded.share.step).toBe(38);
    expect(Array.from(decoded.share.share)).toEqual(Array.from(share.share));
  });

  it('rejects a wrong dimension, a non-finite float and a truncated message', async () => {
    const { encodeRound } = await import('../../src/net/codec.js');
    const bytes = encodeRound(tag, action, share);
    const wrongDimension = decode(bytes, { runTag: tag, agentCount: 4, shareDimension: 4 });
    expect(isDecodeError(wrongDimension) && wrongDimension.reason).toBe('dimension');
    const nan = decode(encodeRound(tag, action, { ...share, share: Float32Array.from([1, Number.NaN, 2]) }), { runTag: tag, agentCount: 4, shareDimension: 3 });
    expect(isDecodeError(nan) && nan.reason).toBe('non-finite');
    const truncated = decode(bytes.subarray(0, bytes.length - 2), { runTag: tag, agentCount: 4, shareDimension: 3 });
    expect(isDecodeError(truncated) && truncated.reason).toBe('size');
  });

  it('refuses to encode one agent\'s action with another agent\'s share', async () => {
    const { encodeRound } = await import('../../src/net/codec.js');
    expect(() => encodeRound(tag, action, { ...share, agent: 1 })).toThrow(/one agent's action and share/);
  });
});
