/**
 * The network transport: one agent per process over libp2p 3 (TCP, Noise, Yamux, identify,
 * @libp2p/gossipsub with StrictSign). See shared/DESIGN.md "Lockstep over gossip", "Wire format
 * and validation", "Identity and access", and shared/FACTS.md (libp2p).
 *
 * Topics: `/netac/<run>/act/1` (every agent) and `/netac/<run>/share/<agent>/1` (one per sender;
 * its readers subscribe). Every received message goes through a gossipsub topic validator
 * (MessageValidator): bad messages are rejected, counted, never delivered and never forwarded.
 *
 * Choices worth knowing:
 * - Fast message ids: `fastMsgIdFn` is the raw (from, seqno) bytes, so duplicates are dropped
 *   before their signature is verified (FACTS: 36 vs 19 rounds/s). The spec'd id (`msgIdFn`)
 *   is the origin's multihash plus the seqno, never the content: re-publishing an identical
 *   payload gets a new seqno and therefore a new id.
 * - Out-of-window steps are *ignored* (not delivered, not forwarded, counted as rejected 'step')
 *   rather than *rejected*: a late re-publish of an honest peer must not cost it score. Every
 *   other validation failure is a reject (gossipsub penalises the sender: see scoreParams).
 * - Peer scoring is set up for a permissioned swarm on one machine or LAN: the IP colocation
 *   penalty is off (by default it graylists everyone once more than 11 agents share an IP) and
 *   only invalid messages cost score; the delivery-rate penalties are off (slow learners would
 *   otherwise be pruned from meshes).
 * - Connections: every directory peer with addresses is dialled and redialled forever with
 *   exponential back-off (1 s doubling, capped at 10 s); @libp2p/bootstrap would dial once.
 *   By default only directory peers may connect at all (connection gater).
 * - Discovery (option `mdns`): mDNS with a per-run service tag; a discovered directory peer is
 *   dialled (and redialled) at the addresses it announced, so the run config may give none.
 * - Speed (BENCHMARKS.md "netac launch"): a lockstep round costs each agent one signature, and
 *   per peer one Ed25519 verification and a few frames through gossipsub, yamux, noise and TCP,
 *   so the cost is per message. Hence: no gossipsub mesh and no IHAVE gossip by default (every
 *   agent is connected to every agent and publishes are flooded, so a mesh only forwarded
 *   duplicates); one round message for a round's action and share when the share goes to
 *   (nearly) everyone or is small (`mergeRounds`); re-publishes with back-off
 *   (`republishBackoff`); the signing key imported once; and three work-arounds for per-frame
 *   costs of the libp2p stack (`workarounds`).
 */
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify, type Identify } from '@libp2p/identify';
import { gossipsub, TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { preSharedKey } from '@libp2p/pnet';
import { mdns } from '@libp2p/mdns';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { AbortOptions, Ed25519PrivateKey, PeerId, PeerInfo, PrivateKey } from '@libp2p/interface';
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { StreamState, YamuxStream } from '@libp2p/yamux/stream';
import { Socket } from 'node:net';
import {
  encodeAction,
  encodeRound,
  encodeShare,
  MessageValidator,
  runTagOf,
  type DecodedMessage,
  type RejectReason,
  type StepWindow,
  type TopicExpectation,
} from './codec.js';
import type { ActionMessage, ShareMessage, Transport, TransportHandlers, TransportStats } from './transport.js';

/** One agent as the run config lists it. */
export interface PeerDirectoryEntry {
  readonly agent: number;
  /** Base58 peer id (from `netac keygen`). */
  readonly peerId: string;
  /** Multiaddrs to dial it at (with or without a trailing /p2p/<peerId>); may be empty. */
  readonly addresses: readonly string[];
}

export interface MeshDegree {
  readonly D: number;
  readonly Dlo: number;
  readonly Dhi: number;
}

export interface Libp2pTransportOptions {
  readonly agent: number;
  readonly runId: string;
  readonly agentCount: number;
  /** Float count of every share (the local critic share's length). */
  readonly shareDimension: number;
  readonly privateKey: PrivateKey;
  /** Default ['/ip4/127.0.0.1/tcp/0']. */
  readonly listen?: readonly string[];
  /** The run config's directory of all agents (this one included). */
  readonly peers: readonly PeerDirectoryEntry[];
  /** Agents whose share topics to subscribe to (time-varying graphs: every possible neighbour). */
  readonly shareSources: readonly number[];
  /** Agents that read this agent's share topic; default shareSources (undirected graphs). */
  readonly shareReaders?: readonly number[];
  /** Agents that must be connected and subscribed before start() resolves. */
  readonly requiredPeers: readonly number[];
  readonly onLog?: (line: string) => void;
  /** pnet pre-shared key (95 bytes, see keys.ts). */
  readonly swarmKey?: Uint8Array;
  /** Accepted steps: [current − lag, current + ahead]; default lag 32, ahead 32. */
  readonly window?: StepWindow;
  /** The step the agent starts (or resumes) at; until it is set or something is published,
   * messages of any step are accepted. */
  readonly initialStep?: number;
  /** Refuse connections from peers not in the directory (default true). */
  readonly denyUnknownPeers?: boolean;
  /** Reject start() after this long if peers are still missing (default: wait until stop()). */
  readonly startTimeoutMs?: number;
  /** Gossipsub mesh degree; default none (D = Dlo = Dhi = 0). Every agent is connected to every
   * agent (start() waits for it) and publishes are flooded to all subscribers, so a mesh only
   * forwards duplicates: with D 2 each agent re-sent every message it received to 2 more peers,
   * which dropped it as a duplicate. Lost messages are recovered by the Agent's re-publishing. */
  readonly mesh?: MeshDegree;
  /** IHAVE/IWANT gossip (a second way to recover lost messages through third peers): peers told
   * per topic and heartbeat (Dlazy, default 0: off), heartbeats of message ids advertised
   * (default 1), heartbeat interval (default 1000 ms). */
  readonly gossip?: { readonly lazyDegree?: number; readonly historyHeartbeats?: number; readonly heartbeatMs?: number };
  /**
   * Work-arounds for per-message costs in the libp2p stack (each default true; see the functions
   * of the same names): `coalesceWrites` (one writev per frame instead of two writes, per TCP
   * connection), `lazyWindowUpdates` (yamux window updates at half the window instead of after
   * every frame; process-wide) and `cachedVerifyKeys` (Ed25519 public keys imported once, not at
   * every signature check; process-wide). The process-wide ones stay once applied.
   */
  readonly workarounds?: { readonly coalesceWrites?: boolean; readonly lazyWindowUpdates?: boolean; readonly cachedVerifyKeys?: boolean };
  /**
   * Re-publish throttle. The Agent re-publishes its round messages on a fixed tick while it waits
   * (gossipsub does not retransmit), and every re-publish is a new signed message that every
   * receiver verifies again. When set, a message already sent for the same (kind, step) goes out
   * again only after `initialMs`, then after doubling intervals up to `maxMs`: a slow agent is
   * not buried under its waiting peers' re-publishes (without it, 8 agents on 2 busy cores fell
   * into a congestion collapse: queues of stale re-publishes, rounds of tens of seconds).
   * Default: off (every publish goes out).
   */
  readonly republishBackoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * Send a round's action and critic share as one signed round message on the action topic
   * (the share still reaches only the handlers of its readers). Halves the messages each agent
   * signs, sends, receives and verifies per round. Default: when every other agent reads this
   * agent's share anyway (time-varying graphs, complete graphs) or the share is at most 4 KiB
   * (then sending it to non-readers costs less than a second message to the readers).
   */
  readonly mergeRounds?: boolean;
  /** Redial back-off: first delay and cap in ms (default 1000 and 10000). */
  readonly redial?: { readonly initialMs?: number; readonly maxMs?: number };
  /**
   * LAN discovery by mDNS (service tag `mdnsServiceTag(runId)`, so other runs are never seen):
   * every discovered peer that the directory lists is dialled (and redialled) at the addresses it
   * announced, so a directory entry may have no addresses at all. Query interval default 5000 ms.
   */
  readonly mdns?: boolean | { readonly intervalMs?: number };
  /** Addresses to announce (identify, mDNS) instead of the listen addresses, e.g. the LAN
   * address when listening on 0.0.0.0. */
  readonly announce?: readonly string[];
}

export interface Libp2pTransportStats extends TransportStats {
  readonly rejectedByReason: Record<RejectReason, number>;
  /** Publishes that reached no peer at all (nobody subscribed yet): the message is lost. */
  publishedToNobody: number;
  /** Publishes that failed with an error. */
  publishErrors: number;
  /** Exceptions thrown by the handlers (caught and logged). */
  handlerErrors: number;
  /** Re-publishes (a second or later send of the same kind and step) that went out. */
  republished: number;
  /** Re-publishes held back by `republishBackoff`. */
  republishesThrottled: number;
}

export function actionTopic(runId: string): string {
  return `/netac/${runId}/act/1`;
}

export function shareTopic(runId: string, agent: number): string {
  return `/netac/${runId}/share/${agent}/1`;
}

/**
 * The mDNS service tag (the PTR name queried) of a run: agents of other runs on the same LAN
 * query and answer another name, so they never discover each other. One DNS label of at most
 * 56 characters: the run id ('.' → '-', first 40 characters) and its 32-bit run tag in hex.
 */
export function mdnsServiceTag(runId: string): string {
  const readable = runId.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40);
  return `_netac-${readable}-${runTagOf(runId).toString(16).padStart(8, '0')}._udp.local`;
}

// A type alias, not an interface: libp2p's ServiceMap needs the implicit index signature.
type Services = {
  identify: Identify;
  pubsub: GossipSub;
};

interface DirectoryPeer {
  readonly agent: number;
  readonly peerId: PeerId;
  readonly peerIdString: string;
  readonly addresses: Multiaddr[];
}

interface DialState {
  backoffMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  dialing: boolean;
  failures: number;
}

const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0'];
const DEFAULT_WINDOW: StepWindow = { lag: 32, ahead: 32 };
const NO_MESH: MeshDegree = { D: 0, Dlo: 0, Dhi: 0 };

/**
 * Coalesces the writes of one frame into one syscall: @libp2p/tcp writes each buffer of a frame
 * with its own socket.write (Noise: the 2-byte length, then the ciphertext), i.e. two syscalls
 * and two TCP segments per message with Nagle off. Corking the socket for the duration of one
 * sendData call turns them into one writev, with no added latency (uncork flushes at once).
 * Applied per connection from the connection gater, to the raw TCP connection; anything else
 * (another transport, another @libp2p/tcp shape) is left alone.
 */
function coalesceFrameWrites(maConn: unknown): void {
  const connection = maConn as { socket?: unknown; sendData?: (data: unknown) => unknown; netacCoalesced?: boolean };
  if (!(connection.socket instanceof Socket) || typeof connection.sendData !== 'function' || connection.netacCoalesced === true) return;
  const socket = connection.socket;
  const sendData = connection.sendData;
  connection.netacCoalesced = true;
  connection.sendData = function (this: unknown, data: unknown) {
    socket.cork();
    try {
      return sendData.call(this, data);
    } finally {
      socket.uncork();
    }
  };
}

let windowUpdatesPatched = false;

/**
 * @libp2p/yamux 8 sends a WINDOW_UPDATE frame after *every* data frame it receives, so each
 * gossipsub message costs a second frame (encrypt, write, read, decrypt) in the other direction.
 * go-yamux and the yamux spec only send one once the unused window falls to half. This makes
 * YamuxStream do the same (process-wide, once): skip the update while more than half of the
 * receive window is unused, on an established stream (updates that carry SYN/ACK flags, and any
 * stream state this does not know, go through unchanged). Flow control stays intact: the sender
 * always has at least half a window (≥ 128 KiB) of credit.
 */
function lazyWindowUpdates(): void {
  if (windowUpdatesPatched) return;
  windowUpdatesPatched = true;
  const prototype = YamuxStream.prototype as unknown as Record<string, unknown>;
  const original = prototype.sendWindowUpdate;
  if (typeof original !== 'function') return;
  prototype.sendWindowUpdate = function (this: { state?: unknown; recvWindow?: unknown; recvWindowCapacity?: unknown }) {
    const { state, recvWindow, recvWindowCapacity } = this;
    const established = state === StreamState.Established || state === StreamState.SYNSent;
    if (established && typeof recvWindow === 'number' && typeof recvWindowCapacity === 'number' && recvWindowCapacity > recvWindow / 2) return;
    (original as (this: unknown) => void).call(this);
  };
}

let verifyKeysPatched = false;

/**
 * @libp2p/crypto imports the sender's Ed25519 public key from JWK for every signature it checks
 * (FACTS: +3% of an agent's CPU). This keeps one node:crypto KeyObject per public key (a run has a
 * handful; at most 4096 are kept) and verifies with it: the same OpenSSL call, the same answer.
 * Process-wide, once; checked on a fresh signature (valid and tampered) before it stays in place.
 */
function cachedVerifyKeys(privateKey: PrivateKey): void {
  if (verifyKeysPatched || privateKey.type !== 'Ed25519') return;
  verifyKeysPatched = true;
  const prototype = Object.getPrototypeOf(privateKey.publicKey) as Record<string, unknown>;
  const original = prototype.verify;
  if (typeof original !== 'function') return;
  const keyObjects = new Map<string, KeyObject>();
  const fast = function (this: { type?: unknown; raw?: unknown }, data: unknown, signature: unknown, options?: AbortOptions): unknown {
    const raw = this.raw;
    if (this.type !== 'Ed25519' || !(raw instanceof Uint8Array) || raw.length !== 32 || !(data instanceof Uint8Array) || !(signature instanceof Uint8Array) || signature.length !== 64) {
      return (original as (...args: unknown[]) => unknown).call(this, data, signature, options);
    }
    options?.signal?.throwIfAborted();
    const id = latin1(raw);
    let keyObject = keyObjects.get(id);
    if (keyObject === undefined) {
      keyObject = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') } });
      if (keyObjects.size < 4096) keyObjects.set(id, keyObject);
    }
    return cryptoVerify(null, data, keyObject, signature);
  };
  try {
    const probe = new TextEncoder().encode('netac verify self-check');
    const signature = privateKey.sign(probe);
    if (signature instanceof Promise) return;
    const tampered = Uint8Array.from(signature);
    tampered[0] ^= 1;
    const publicKey = privateKey.publicKey;
    const agrees = (sig: Uint8Array) => fast.call(publicKey, probe, sig) === (original as (...args: unknown[]) => unknown).call(publicKey, probe, sig);
    if (fast.call(publicKey, probe, signature) === true && agrees(signature) && agrees(tampered)) prototype.verify = fast;
  } catch {
    // Leave @libp2p/crypto's verify in place.
  }
}

/** Shares up to this size ride with the action to every agent (see `mergeRounds`). */
const MERGE_MAX_SHARE_BYTES = 4096;
/** Sent-message records older than this many steps behind the newest are forgotten. */
const SENT_HISTORY_STEPS = 8;
const READY_POLL_MS = 200;
/** Stream watchdog: period, and checks in a row without a gossipsub stream before hanging up. */
const STREAM_CHECK_MS = 1000;
const STREAM_CHECKS = 4;

function latin1(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * Fast message id (gossipsub looks it up before verifying the signature, so a duplicate costs no
 * Ed25519 verification): the raw origin and seqno bytes as one latin1 string (no BigInt).
 */
function fastMessageId(rpc: { from?: Uint8Array; seqno?: Uint8Array }): string {
  return latin1(rpc.from) + latin1(rpc.seqno);
}

/** Spec'd message id: origin multihash + 8-byte big-endian seqno (never the content). */
function messageId(msg: Message): Uint8Array {
  if (msg.type !== 'signed') throw new Error('netac: unsigned message (StrictSign expected)');
  const origin = msg.from.toMultihash().bytes;
  const id = new Uint8Array(origin.length + 8);
  id.set(origin, 0);
  new DataView(id.buffer).setBigUint64(origin.length, BigInt.asUintN(64, msg.sequenceNumber), false);
  return id;
}

/**
 * The node's private key with Ed25519 signing through one cached node:crypto KeyObject.
 * @libp2p/crypto imports the key from JWK on every sign (about half the cost of a signature);
 * Ed25519 signatures are deterministic, so the bytes are the same (checked once here; any other
 * key type, or a mismatch, keeps the original key).
 */
function withCachedSigner(key: PrivateKey): PrivateKey {
  if (key.type !== 'Ed25519' || key.raw.length !== 64) return key;
  const original = key;
  try {
    const keyObject = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: Buffer.from(key.raw.subarray(0, 32)).toString('base64url'),
        x: Buffer.from(key.publicKey.raw).toString('base64url'),
      },
    });
    const fast: Ed25519PrivateKey = {
      type: 'Ed25519',
      raw: original.raw,
      publicKey: original.publicKey,
      equals: (other?: unknown) => original.equals(other),
      sign(data: Parameters<Ed25519PrivateKey['sign']>[0], options?: AbortOptions): Uint8Array {
        options?.signal?.throwIfAborted();
        return cryptoSign(null, data instanceof Uint8Array ? data : data.subarray(), keyObject);
      },
    };
    const probe = new TextEncoder().encode('netac signer self-check');
    const expected = original.sign(probe);
    if (expected instanceof Promise) return original;
    return Buffer.from(fast.sign(probe) as Uint8Array).equals(expected) ? fast : original;
  } catch {
    return original;
  }
}

function allFinite(values: Float32Array): boolean {
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (value - value !== 0) return false;
  }
  return true;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    // AggregateError (several addresses failed) hides the useful part in .errors.
    const inner = (error as Error & { errors?: unknown[] }).errors;
    if (Array.isArray(inner) && inner.length > 0) return inner.map(errorText).join('; ');
    return error.message.length > 0 ? error.message : error.name;
  }
  return String(error);
}

export class Libp2pTransport implements Transport {
  readonly agent: number;
  readonly runTag: number;
  readonly stats: Libp2pTransportStats;
  readonly peerId: string;

  private readonly options: Libp2pTransportOptions;
  private readonly validator: MessageValidator;
  private readonly directory = new Map<number, DirectoryPeer>();
  private readonly agentOfPeer = new Map<string, number>();
  /** Directory peer ids by their multihash bytes (latin1): names a verified sender without
   * base58-encoding it for every message. */
  private readonly peerIdOfMultihash = new Map<string, string>();
  private readonly actTopic: string;
  private readonly ownShareTopic: string;
  /** Topic → what its messages must be (every topic of the run). */
  private readonly expectations = new Map<string, TopicExpectation>();
  /** Topics this agent subscribes to: the action topic and its share sources' topics. */
  private readonly subscriptions: string[] = [];
  private readonly dialStates = new Map<number, DialState>();
  /** Addresses directory peers announced by mDNS (dialled after the configured ones). */
  private readonly discovered = new Map<number, Multiaddr[]>();
  /** Peers found by mDNS that the directory does not list (logged once each, never dialled). */
  private readonly ignoredDiscoveries = new Set<string>();
  /** Consecutive watchdog checks that found a connected peer with no gossipsub stream to it. */
  private readonly streamless = new Map<number, number>();
  private streamWatch: ReturnType<typeof setInterval> | undefined;
  /** Decoded messages between the validator and the 'message' event (same Message object). */
  private readonly accepted = new WeakMap<Message, DecodedMessage>();
  private node: Libp2p<Services> | undefined;
  private listening: Promise<void> | undefined;
  private handlers: TransportHandlers | undefined;
  private currentStep: number | undefined;
  private stopped = false;
  private stopWaiting: ((error: Error) => void) | undefined;
  /** Sends by (step, kind) of the last few steps: when last sent and how often (re-publishes). */
  private readonly sent = new Map<number, { at: number; sends: number }>();
  /** Send actions and shares of a round as one round message (see `mergeRounds`). */
  private readonly mergeRounds: boolean;
  /** An action waiting (until the end of the tick) for the share of its round, or a share for its action. */
  private heldAction: ActionMessage | undefined;
  private heldShare: ShareMessage | undefined;
  /** Agents whose shares this agent reads. */
  private readonly shareSources: ReadonlySet<number>;
  private newestSentStep = 0;
  private lastRejectLog = 0;
  private suppressedRejectLogs = 0;

  constructor(options: Libp2pTransportOptions) {
    this.options = options;
    this.agent = options.agent;
    this.runTag = runTagOf(options.runId);
    this.actTopic = actionTopic(options.runId);
    this.ownShareTopic = shareTopic(options.runId, options.agent);
    this.peerId = peerIdFromPrivateKey(options.privateKey).toString();
    this.currentStep = options.initialStep;

    const where = `agent ${options.agent}`;
    if (!Number.isInteger(options.shareDimension) || options.shareDimension < 0) {
      throw new Error(`${where}: shareDimension must be a non-negative integer, got ${options.shareDimension}`);
    }
    const backoff = options.republishBackoff;
    if (backoff !== undefined && !(backoff.initialMs > 0 && backoff.maxMs >= backoff.initialMs && Number.isFinite(backoff.maxMs))) {
      throw new Error(`${where}: republishBackoff needs 0 < initialMs ≤ maxMs < ∞, got ${backoff.initialMs} and ${backoff.maxMs}`);
    }
    if (!Number.isInteger(options.agentCount) || options.agentCount < 1 || options.agentCount > 0x10000) {
      throw new Error(`${where}: agentCount must be an integer in [1, 65536], got ${options.agentCount}`);
    }
    for (const entry of options.peers) {
      if (!Number.isInteger(entry.agent) || entry.agent < 0 || entry.agent >= options.agentCount) {
        throw new Error(`${where}: peer directory lists agent ${entry.agent}, outside [0, ${options.agentCount})`);
      }
      if (this.directory.has(entry.agent)) throw new Error(`${where}: peer directory lists agent ${entry.agent} twice`);
      let peerId: PeerId;
      try {
        peerId = peerIdFromString(entry.peerId);
      } catch (error) {
        throw new Error(`${where}: agent ${entry.agent}'s peer id "${entry.peerId}" is not a peer id: ${errorText(error)}`);
      }
      const peerIdString = peerId.toString();
      if (this.agentOfPeer.has(peerIdString)) {
        throw new Error(`${where}: peer id ${peerIdString} is listed for agents ${this.agentOfPeer.get(peerIdString)} and ${entry.agent}`);
      }
      const addresses = entry.addresses.map((text) => {
        let address: Multiaddr;
        try {
          address = multiaddr(text);
        } catch (error) {
          throw new Error(`${where}: agent ${entry.agent}'s address "${text}" is not a multiaddr: ${errorText(error)}`);
        }
        const listed = address.getComponents().find((component) => component.name === 'p2p')?.value;
        if (listed === undefined) return address.encapsulate(`/p2p/${peerIdString}`);
        if (listed !== peerIdString) {
          throw new Error(`${where}: agent ${entry.agent}'s address "${text}" names peer ${listed}, but its peer id is ${peerIdString}`);
        }
        return address;
      });
      this.directory.set(entry.agent, { agent: entry.agent, peerId, peerIdString, addresses });
      this.agentOfPeer.set(peerIdString, entry.agent);
      this.peerIdOfMultihash.set(latin1(peerId.toMultihash().bytes), peerIdString);
    }
    const self = this.directory.get(options.agent);
    if (self === undefined) throw new Error(`${where}: the peer directory does not list this agent`);
    if (self.peerIdString !== this.peerId) {
      throw new Error(`${where}: the private key's peer id is ${this.peerId}, but the run config lists ${self.peerIdString} for this agent`);
    }
    const checkListed = (what: string, agents: readonly number[]): void => {
      for (const agent of agents) {
        if (!this.directory.has(agent)) throw new Error(`${where}: ${what} include agent ${agent}, which the peer directory does not list`);
      }
    };
    checkListed('share sources', options.shareSources);
    checkListed('share readers', options.shareReaders ?? []);
    checkListed('required peers', options.requiredPeers);

    this.expectations.set(this.actTopic, { kind: 'action' });
    for (const agent of this.directory.keys()) this.expectations.set(shareTopic(options.runId, agent), { kind: 'share', agent });
    this.subscriptions.push(this.actTopic);
    for (const agent of new Set(options.shareSources)) {
      if (agent !== options.agent) this.subscriptions.push(shareTopic(options.runId, agent));
    }
    this.shareSources = new Set(options.shareSources.filter((agent) => agent !== options.agent));
    const readers = new Set((options.shareReaders ?? options.shareSources).filter((agent) => agent !== options.agent));
    this.mergeRounds =
      options.mergeRounds ?? (readers.size >= this.directory.size - 1 || options.shareDimension * 4 <= MERGE_MAX_SHARE_BYTES);

    this.validator = new MessageValidator({
      runTag: this.runTag,
      agentCount: options.agentCount,
      shareDimension: options.shareDimension,
      window: options.window ?? DEFAULT_WINDOW,
      currentStep: () => this.currentStep,
      peerIdOfAgent: (agent) => this.directory.get(agent)?.peerIdString,
    });
    this.stats = {
      messagesIn: 0,
      messagesOut: 0,
      rejected: 0,
      bytesOut: 0,
      rejectedByReason: this.validator.rejectedByReason,
      publishedToNobody: 0,
      publishErrors: 0,
      handlerErrors: 0,
      republished: 0,
      republishesThrottled: 0,
    };
  }

  /** The node's actual listen multiaddrs, each ending in /p2p/<peer id>. Empty before start(). */
  /** The libp2p node once started (for netac's own protocols, e.g. the rejoin sync). */
  get libp2p(): Libp2p<Services> | undefined {
    return this.node;
  }

  listenAddresses(): string[] {
    return this.node?.getMultiaddrs().map((address) => address.toString()) ?? [];
  }

  /** Sets the local current step, the centre of the accepted step window. Publishing does it too. */
  setCurrentStep(step: number): void {
    this.currentStep = step;
  }

  /** Agents currently connected (for logs and tests). */
  connectedAgents(): number[] {
    const node = this.node;
    if (node === undefined) return [];
    const agents: number[] = [];
    for (const peer of node.getPeers()) {
      const agent = this.agentOfPeer.get(peer.toString());
      if (agent !== undefined) agents.push(agent);
    }
    return agents.sort((a, b) => a - b);
  }

  /**
   * Creates and starts the libp2p node (listening, not yet subscribed or dialling) and returns
   * its listen addresses. start() calls it; call it first when the addresses must be known
   * before start() (listening on port 0, then telling the others).
   */
  async listen(): Promise<string[]> {
    if (this.stopped) throw new Error(`agent ${this.agent}: transport was stopped`);
    this.listening ??= this.createNode();
    await this.listening;
    return this.listenAddresses();
  }

  /** Peer ids of every current connection, listed or not (for diagnostics and tests). */
  connectedPeers(): string[] {
    return this.node?.getPeers().map((peer) => peer.toString()) ?? [];
  }

  /** Subscribes, dials the directory, and resolves once every required peer is ready. */
  async start(handlers: TransportHandlers): Promise<void> {
    if (this.handlers !== undefined) throw new Error(`agent ${this.agent}: transport already started`);
    this.handlers = handlers;
    await this.listen();
    const pubsub = this.node!.services.pubsub;
    // The 'message' listener is attached (createNode) before we subscribe, so nothing that
    // peers publish to us is missed (FACTS: no retransmission).
    for (const topic of this.subscriptions) pubsub.subscribe(topic);
    for (const [agent, peer] of this.directory) {
      if (agent !== this.agent && peer.addresses.length > 0) this.scheduleDial(agent, 0);
    }
    await this.waitUntilReady();
  }

  private async createNode(): Promise<void> {
    const options = this.options;
    const listed = (peerId: PeerId): boolean => this.agentOfPeer.has(peerId.toString());
    const capacity = Math.max(100, 4 * options.agentCount);
    const allowedTopics = [...this.expectations.keys()];
    const topicScore = createTopicScoreParams({
      topicWeight: 1,
      timeInMeshWeight: 0,
      firstMessageDeliveriesWeight: 0,
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      invalidMessageDeliveriesWeight: -1,
      invalidMessageDeliveriesDecay: 0.5,
    });
    const mesh = options.mesh ?? NO_MESH;
    const gossip = options.gossip ?? {};
    const workarounds = options.workarounds ?? {};
    if (workarounds.lazyWindowUpdates !== false) lazyWindowUpdates();
    if (workarounds.cachedVerifyKeys !== false) cachedVerifyKeys(options.privateKey);
    const coalesce = workarounds.coalesceWrites !== false;
    const historyHeartbeats = gossip.historyHeartbeats ?? 1;
    const node = await createLibp2p<Services>({
      privateKey: withCachedSigner(options.privateKey),
      start: false,
      addresses: {
        listen: [...(options.listen ?? DEFAULT_LISTEN)],
        ...(options.announce !== undefined && options.announce.length > 0 ? { announce: [...options.announce] } : {}),
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      ...(options.swarmKey !== undefined ? { connectionProtector: preSharedKey({ psk: options.swarmKey }) } : {}),
      ...(options.mdns !== undefined && options.mdns !== false ? { peerDiscovery: [this.mdnsDiscovery()] } : {}),
      connectionGater: {
        // Not a filter: the first place a raw connection passes through (see coalesceFrameWrites).
        denyInboundConnection: (maConn: unknown) => {
          if (coalesce) coalesceFrameWrites(maConn);
          return false;
        },
        denyOutboundConnection: (_peerId: PeerId, maConn: unknown) => {
          if (coalesce) coalesceFrameWrites(maConn);
          return false;
        },
        ...(options.denyUnknownPeers === false
          ? {}
          : {
              denyInboundEncryptedConnection: (peerId: PeerId) => !listed(peerId),
              denyOutboundEncryptedConnection: (peerId: PeerId) => !listed(peerId),
            }),
      },
      connectionManager: {
        maxConnections: capacity,
        // FACTS: the default (5 per second per remote IP) resets dials when more than 5 local
        // processes dial one node.
        inboundConnectionThreshold: capacity,
        maxIncomingPendingConnections: capacity,
      },
      // A learner blocking the event loop (checkpoint, big batch) must not cost connections.
      connectionMonitor: { abortConnectionOnPingFailure: false },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          emitSelf: false,
          floodPublish: true,
          fallbackToFloodsub: false,
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          fastMsgIdFn: fastMessageId,
          msgIdFn: messageId,
          msgIdToStrFn: latin1,
          seenTTL: 30_000,
          // One encoding per publish for all its recipients.
          batchPublish: true,
          D: mesh.D,
          Dlo: mesh.Dlo,
          Dhi: mesh.Dhi,
          Dout: Math.max(0, Math.min(mesh.Dlo - 1, Math.floor(mesh.D / 2))),
          Dscore: Math.min(mesh.Dlo, 4),
          Dlazy: gossip.lazyDegree ?? 0,
          gossipFactor: 0,
          heartbeatInterval: gossip.heartbeatMs ?? 1000,
          mcacheGossip: historyHeartbeats,
          mcacheLength: Math.max(5, historyHeartbeats),
          allowedTopics,
          scoreParams: {
            IPColocationFactorWeight: 0,
            topics: Object.fromEntries(allowedTopics.map((topic) => [topic, topicScore])),
          },
        }),
      },
    });
    this.node = node; // stop() stops it from now on
    if (this.stopped) throw new Error(`agent ${this.agent}: transport stopped while starting`);
    const pubsub = node.services.pubsub;

    // Every topic of the run gets a validator, subscribed or not: gossipsub would otherwise
    // accept (and could forward) anything on a topic of the run that this agent does not read.
    for (const topic of allowedTopics) {
      pubsub.topicValidators.set(topic, (_source, message) => this.validate(message));
    }
    pubsub.addEventListener('message', (event) => this.deliver(event.detail));
    node.addEventListener('peer:disconnect', (event) => {
      const agent = this.agentOfPeer.get(event.detail.toString());
      if (agent === undefined) return;
      this.log(`disconnected from agent ${agent}`);
      this.scheduleDial(agent, 0);
    });

    await node.start();
    if (this.stopped) {
      await node.stop();
      throw new Error(`agent ${this.agent}: transport stopped while starting`);
    }
    this.log(`listening on ${this.listenAddresses().join(' ')}`);
    this.streamWatch = setInterval(() => this.checkStreams(), STREAM_CHECK_MS);
    this.streamWatch.unref();
  }

  publishAction(message: ActionMessage): void {
    this.noteStep(message.step);
    if (!this.merging()) {
      this.sendAction(message);
      return;
    }
    const share = this.heldShare;
    if (share !== undefined && share.agent === message.agent) {
      this.heldShare = undefined;
      this.sendRound(message, share);
      return;
    }
    // The round's share may follow in the same tick: hold the action until then (or until the
    // tick ends) so that both go out as one round message.
    if (this.heldAction !== undefined) this.sendAction(this.heldAction);
    this.heldAction = message;
    queueMicrotask(() => {
      if (this.heldAction !== message) return;
      this.heldAction = undefined;
      if (!this.stopped) this.sendAction(message);
    });
  }

  publishShare(message: ShareMessage): void {
    this.noteStep(message.step);
    if (!this.merging()) {
      this.sendShare(message);
      return;
    }
    const action = this.heldAction;
    if (action !== undefined && action.agent === message.agent) {
      this.heldAction = undefined;
      this.sendRound(action, message);
      return;
    }
    // The Agent publishes a round's share right before its action (in the same tick): hold the
    // share until then, as publishAction holds an action for its share.
    if (this.heldShare !== undefined) this.sendShare(this.heldShare);
    this.heldShare = message;
    queueMicrotask(() => {
      if (this.heldShare !== message) return;
      this.heldShare = undefined;
      if (!this.stopped) this.sendShare(message);
    });
  }

  /** True when a round's action and share go out as one message (`mergeRounds`, running). */
  private merging(): boolean {
    return this.mergeRounds && this.node !== undefined && !this.stopped;
  }

  /** One agent's action and share of a round, as one round message. */
  private sendRound(action: ActionMessage, share: ShareMessage): void {
    if (!allFinite(share.share)) {
      // Receivers reject a share that is not finite. Sent apart, as without merging, so that
      // only the share is refused and the action (which every round needs) still arrives.
      this.sendAction(action);
      this.sendShare(share);
      return;
    }
    // One message, one throttle record (the action's): the share is sent whenever it is.
    if (!this.maySend(action.step, 0)) return;
    this.publish(this.actTopic, encodeRound(this.runTag, action, share), 2);
  }

  private sendAction(message: ActionMessage): void {
    if (!this.maySend(message.step, 0)) return;
    this.publish(this.actTopic, encodeAction(this.runTag, message), 1);
  }

  private sendShare(message: ShareMessage): void {
    if (!this.maySend(message.step, 1)) return;
    this.publish(this.ownShareTopic, encodeShare(this.runTag, message), 1);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const state of this.dialStates.values()) clearTimeout(state.timer);
    clearInterval(this.streamWatch);
    this.stopWaiting?.(new Error(`agent ${this.agent}: transport stopped before its peers were ready`));
    this.handlers = undefined;
    await this.listening?.catch(() => undefined);
    await this.node?.stop();
  }

  // ---------------------------------------------------------------------------------------

  private noteStep(step: number): void {
    if (this.currentStep === undefined || step > this.currentStep) this.currentStep = step;
  }

  /** Counts re-publishes and applies `republishBackoff`: false when this send is held back. */
  private maySend(step: number, kind: 0 | 1): boolean {
    const key = step * 2 + kind;
    const now = performance.now();
    const record = this.sent.get(key);
    if (record === undefined) {
      this.sent.set(key, { at: now, sends: 1 });
      if (step > this.newestSentStep) {
        this.newestSentStep = step;
        for (const old of this.sent.keys()) if (old < (step - SENT_HISTORY_STEPS) * 2) this.sent.delete(old);
      }
      return true;
    }
    const backoff = this.options.republishBackoff;
    if (backoff !== undefined && now - record.at < Math.min(backoff.initialMs * 2 ** (record.sends - 1), backoff.maxMs)) {
      this.stats.republishesThrottled++;
      return false;
    }
    record.at = now;
    record.sends++;
    this.stats.republished++;
    return true;
  }

  /** `messages`: the actions and shares the bytes carry (a round message is two). */
  private publish(topic: string, bytes: Uint8Array, messages: number): void {
    const node = this.node;
    if (node === undefined || this.stopped) throw new Error(`agent ${this.agent}: publish on a transport that is not running`);
    this.stats.messagesOut += messages;
    this.stats.bytesOut += bytes.length;
    node.services.pubsub.publish(topic, bytes).then(
      (result) => {
        if (result.recipients.length === 0) this.stats.publishedToNobody++;
      },
      (error: unknown) => {
        if (this.stopped) return;
        const text = errorText(error);
        if (text.includes('PublishError.Duplicate')) return; // re-publish of a seen id: harmless
        this.stats.publishErrors++;
        this.log(`publish on ${topic} failed: ${text}`);
      },
    );
  }

  private validate(message: Message): TopicValidatorResult {
    const expectation = this.expectations.get(message.topic);
    const sender =
      message.type === 'signed' ? (this.peerIdOfMultihash.get(latin1(message.from.toMultihash().bytes)) ?? message.from.toString()) : undefined;
    const result = this.validator.validate(message.data, sender, expectation);
    if (result.kind === 'error') {
      this.stats.rejected++;
      const now = Date.now();
      if (now - this.lastRejectLog >= 1000) {
        const suppressed = this.suppressedRejectLogs > 0 ? ` (+${this.suppressedRejectLogs} more rejections)` : '';
        const who = sender === undefined ? 'an unsigned sender' : `${sender}${this.agentOfPeer.has(sender) ? ` (agent ${this.agentOfPeer.get(sender)})` : ''}`;
        this.log(`rejected a message on ${message.topic} from ${who}: ${result.reason}: ${result.detail}${suppressed}`);
        this.lastRejectLog = now;
        this.suppressedRejectLogs = 0;
      } else {
        this.suppressedRejectLogs++;
      }
      return result.reason === 'step' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject;
    }
    this.accepted.set(message, result);
    return TopicValidatorResult.Accept;
  }

  private deliver(message: Message): void {
    const decoded = this.accepted.get(message);
    const handlers = this.handlers;
    if (decoded === undefined || handlers === undefined) return;
    this.accepted.delete(message);
    this.stats.messagesIn++;
    try {
      if (decoded.kind === 'share') {
        handlers.onShare(decoded.message);
      } else {
        handlers.onAction(decoded.message);
        // The share of a round message, for its readers only (as if it came on its share topic).
        if (decoded.kind === 'round' && this.shareSources.has(decoded.share.agent)) {
          this.stats.messagesIn++;
          handlers.onShare(decoded.share);
        }
      }
    } catch (error) {
      this.stats.handlerErrors++;
      this.log(`${decoded.kind} handler threw: ${errorText(error)}`);
    }
  }

  private log(text: string): void {
    this.options.onLog?.(`agent ${this.agent}: ${text}`);
  }

  /**
   * The mDNS discovery service, with every answer it hears passed to onDiscovered. (libp2p's own
   * 'peer:discovery' event fires only for peers new to its peer store, so a peer heard again, or
   * at another address, would go unnoticed.)
   */
  private mdnsDiscovery(): ReturnType<typeof mdns> {
    const setting = this.options.mdns;
    const factory = mdns({
      serviceTag: mdnsServiceTag(this.options.runId),
      interval: (typeof setting === 'object' ? setting.intervalMs : undefined) ?? 5000,
    });
    return (components) => {
      const service = factory(components);
      service.addEventListener('peer', (event) => this.onDiscovered(event.detail));
      return service;
    };
  }

  /** A peer answered on mDNS: dial it if the directory lists it, else ignore it (logged once). */
  private onDiscovered(info: PeerInfo): void {
    if (this.stopped) return;
    const id = info.id.toString();
    const agent = this.agentOfPeer.get(id);
    if (agent === undefined) {
      if (!this.ignoredDiscoveries.has(id) && this.ignoredDiscoveries.size < 1000) {
        this.ignoredDiscoveries.add(id);
        this.log(`mDNS: ignoring peer ${id}: the run config does not list it`);
      }
      return;
    }
    if (agent === this.agent) return;
    // A loopback address names the announcer's own machine: useless from another one, and on
    // this one possibly another agent's port. Kept only when nothing else was announced.
    const isLoopback = (address: Multiaddr) =>
      address.getComponents().some((c) => (c.name === 'ip4' && c.value?.startsWith('127.') === true) || (c.name === 'ip6' && c.value === '::1'));
    const remote = info.multiaddrs.filter((address) => !isLoopback(address));
    const known = this.discovered.get(agent) ?? [];
    const knownText = new Set(known.map((address) => address.toString()));
    const added = (remote.length > 0 ? remote : info.multiaddrs)
      .map((address) => (address.getComponents().some((c) => c.name === 'p2p') ? address : address.encapsulate(`/p2p/${id}`)))
      .filter((address) => !knownText.has(address.toString()));
    if (added.length > 0) {
      // Kept (at most 16, newest first): a peer may answer on several interfaces in turn.
      this.discovered.set(agent, [...added, ...known].slice(0, 16));
      this.log(`mDNS: found agent ${agent} at ${added.map((address) => address.decapsulateCode(CODE_P2P).toString()).join(' ')}`);
      const state = this.dialStates.get(agent);
      if (state?.timer !== undefined && !state.dialing) {
        // New addresses: dial now rather than after the back-off of the old ones.
        clearTimeout(state.timer);
        state.timer = undefined;
        state.backoffMs = this.options.redial?.initialMs ?? 1000;
      }
    }
    if (this.node !== undefined && this.node.getConnections(info.id).length === 0) this.scheduleDial(agent, 0);
  }

  /**
   * Repairs a one-way link: connected to a directory peer, but gossipsub has no stream to send to
   * it on. It happens when a connection dies unnoticed (a network outage swallowed the reset) and
   * the peer reconnects: gossipsub keeps its outbound stream on the dead connection, drops it when
   * a write there finally fails, and never opens one on the new connection (the peer never
   * disconnected), so everything published to that peer is lost. After STREAM_CHECKS checks in a
   * row: hang up; both sides redial and gossipsub starts afresh.
   */
  private checkStreams(): void {
    const node = this.node;
    if (node === undefined || this.stopped) return;
    // Not in the typed API (see missingPeers): without it there is nothing to check.
    const outbound = (node.services.pubsub as unknown as { streamsOutbound?: unknown }).streamsOutbound;
    if (!(outbound instanceof Map)) return;
    for (const [agent, peer] of this.directory) {
      if (agent === this.agent) continue;
      if (outbound.has(peer.peerIdString) || !node.getConnections(peer.peerId).some((c) => c.status === 'open')) {
        this.streamless.delete(agent);
        continue;
      }
      const checks = (this.streamless.get(agent) ?? 0) + 1;
      this.streamless.set(agent, checks);
      if (checks >= STREAM_CHECKS) {
        this.streamless.delete(agent);
        this.log(`connected to agent ${agent}, but gossipsub has no stream to it: reconnecting`);
        node.hangUp(peer.peerId).catch((error: unknown) => this.log(`hanging up on agent ${agent} failed: ${errorText(error)}`));
      }
    }
  }

  /** Where to dial a directory peer: the run config's addresses, then those it announced on mDNS. */
  private dialAddresses(peer: DirectoryPeer): Multiaddr[] {
    const discovered = this.discovered.get(peer.agent);
    return discovered === undefined ? peer.addresses : [...peer.addresses, ...discovered];
  }

  private scheduleDial(agent: number, delayMs: number): void {
    if (this.stopped) return;
    const peer = this.directory.get(agent);
    if (peer === undefined || this.dialAddresses(peer).length === 0 || agent === this.agent) return;
    let state = this.dialStates.get(agent);
    if (state === undefined) {
      state = { backoffMs: this.options.redial?.initialMs ?? 1000, timer: undefined, dialing: false, failures: 0 };
      this.dialStates.set(agent, state);
    }
    if (state.timer !== undefined || state.dialing) return;
    const dialState = state;
    dialState.timer = setTimeout(() => {
      dialState.timer = undefined;
      void this.dial(peer, dialState);
    }, delayMs);
  }

  private async dial(peer: DirectoryPeer, state: DialState): Promise<void> {
    const node = this.node;
    if (this.stopped || node === undefined) return;
    if (node.getConnections(peer.peerId).length > 0) return; // peer:disconnect schedules the next dial
    state.dialing = true;
    try {
      await node.dial(this.dialAddresses(peer));
      state.dialing = false;
      if (state.failures > 0) this.log(`connected to agent ${peer.agent} after ${state.failures} failed dials`);
      state.failures = 0;
      state.backoffMs = this.options.redial?.initialMs ?? 1000;
    } catch (error) {
      state.dialing = false;
      if (this.stopped) return;
      state.failures++;
      const maxMs = this.options.redial?.maxMs ?? 10_000;
      const delay = state.backoffMs;
      if (state.failures === 1 || (delay >= maxMs && state.failures % 6 === 0)) {
        this.log(`cannot reach agent ${peer.agent} at ${this.dialAddresses(peer).join(' ')}: ${errorText(error)} (retrying in ${delay / 1000} s)`);
      }
      state.backoffMs = Math.min(delay * 2, maxMs);
      this.scheduleDial(peer.agent, delay);
    }
  }

  /** Which required agents are not ready yet, and why. */
  private missingPeers(): Array<{ agent: number; why: string }> {
    const node = this.node!;
    const pubsub = node.services.pubsub;
    const actSubscribers = new Set(pubsub.getSubscribers(this.actTopic).map((peer) => peer.toString()));
    const shareSubscribers = new Set(pubsub.getSubscribers(this.ownShareTopic).map((peer) => peer.toString()));
    const readers = new Set(this.options.shareReaders ?? this.options.shareSources);
    // A peer is listed as subscribed as soon as its subscriptions arrive on *its* stream to us,
    // but what we publish travels on *our* stream to it, which gossipsub opens asynchronously:
    // until then publishes to that peer are dropped silently (sendRpc returns false). Not in the
    // typed API, so read defensively: if a gossipsub version renames it, skip this check.
    const outbound = (pubsub as unknown as { streamsOutbound?: unknown }).streamsOutbound;
    const outboundStreams = outbound instanceof Map ? (outbound as Map<string, unknown>) : undefined;
    const missing: Array<{ agent: number; why: string }> = [];
    for (const agent of this.options.requiredPeers) {
      if (agent === this.agent) continue;
      const peer = this.directory.get(agent)!;
      if (node.getConnections(peer.peerId).length === 0) missing.push({ agent, why: 'not connected' });
      else if (outboundStreams !== undefined && !outboundStreams.has(peer.peerIdString)) missing.push({ agent, why: 'no gossipsub stream to it yet' });
      else if (!actSubscribers.has(peer.peerIdString)) missing.push({ agent, why: 'not subscribed to the action topic' });
      else if (readers.has(agent) && !shareSubscribers.has(peer.peerIdString)) missing.push({ agent, why: 'not subscribed to our share topic' });
    }
    return missing;
  }

  private waitUntilReady(): Promise<void> {
    const required = this.options.requiredPeers.filter((agent) => agent !== this.agent);
    const total = required.length;
    const pubsub = this.node!.services.pubsub;
    return new Promise<void>((resolve, reject) => {
      let lastLog = 0;
      let lastLoggedReady = -1;
      const started = Date.now();
      const cleanup = (): void => {
        clearInterval(poll);
        clearTimeout(timeout);
        pubsub.removeEventListener('subscription-change', check);
        this.stopWaiting = undefined;
      };
      const check = (): void => {
        if (this.stopped) return;
        const missing = this.missingPeers();
        const ready = total - missing.length;
        const now = Date.now();
        if (missing.length === 0) {
          cleanup();
          this.log(`${total}/${total} peers ready after ${now - started} ms`);
          resolve();
          return;
        }
        if (now - lastLog >= 1000 && (ready !== lastLoggedReady || now - lastLog >= 5000)) {
          lastLog = now;
          lastLoggedReady = ready;
          const waiting = missing.map(({ agent, why }) => `${agent} (${why})`).join(', ');
          this.log(`${ready}/${total} peers ready; waiting for ${waiting}`);
        }
      };
      const poll = setInterval(check, READY_POLL_MS);
      const timeoutMs = this.options.startTimeoutMs;
      const timeout =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              cleanup();
              const waiting = this.missingPeers().map(({ agent, why }) => `agent ${agent} (${why})`).join(', ');
              reject(new Error(`agent ${this.agent}: peers not ready after ${timeoutMs} ms: ${waiting}`));
            }, timeoutMs);
      this.stopWaiting = (error) => {
        cleanup();
        reject(error);
      };
      pubsub.addEventListener('subscription-change', check);
      check();
    });
  }
}
