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
 */
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify, type Identify } from '@libp2p/identify';
import { gossipsub, TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { preSharedKey } from '@libp2p/pnet';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import {
  encodeAction,
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
  /** Gossipsub mesh degree; default D 2, Dlo 1, Dhi 4 (every agent dials every agent, and
   * publishes are flooded to all subscribers, so the mesh only adds redundancy). */
  readonly mesh?: MeshDegree;
  /** Redial back-off: first delay and cap in ms (default 1000 and 10000). */
  readonly redial?: { readonly initialMs?: number; readonly maxMs?: number };
}

export interface Libp2pTransportStats extends TransportStats {
  readonly rejectedByReason: Record<RejectReason, number>;
  /** Publishes that reached no peer at all (nobody subscribed yet): the message is lost. */
  publishedToNobody: number;
  /** Publishes that failed with an error. */
  publishErrors: number;
  /** Exceptions thrown by the handlers (caught and logged). */
  handlerErrors: number;
}

export function actionTopic(runId: string): string {
  return `/netac/${runId}/act/1`;
}

export function shareTopic(runId: string, agent: number): string {
  return `/netac/${runId}/share/${agent}/1`;
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
const DEFAULT_MESH: MeshDegree = { D: 2, Dlo: 1, Dhi: 4 };
const READY_POLL_MS = 200;

function latin1(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
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
  private readonly actTopic: string;
  private readonly ownShareTopic: string;
  /** Topic → what its messages must be (every topic of the run). */
  private readonly expectations = new Map<string, TopicExpectation>();
  /** Topics this agent subscribes to: the action topic and its share sources' topics. */
  private readonly subscriptions: string[] = [];
  private readonly dialStates = new Map<number, DialState>();
  /** Decoded messages between the validator and the 'message' event (same Message object). */
  private readonly accepted = new WeakMap<Message, DecodedMessage>();
  private node: Libp2p<Services> | undefined;
  private listening: Promise<void> | undefined;
  private handlers: TransportHandlers | undefined;
  private currentStep: number | undefined;
  private stopped = false;
  private stopWaiting: ((error: Error) => void) | undefined;
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
    const mesh = options.mesh ?? DEFAULT_MESH;
    const node = await createLibp2p<Services>({
      privateKey: options.privateKey,
      start: false,
      addresses: { listen: [...(options.listen ?? DEFAULT_LISTEN)] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      ...(options.swarmKey !== undefined ? { connectionProtector: preSharedKey({ psk: options.swarmKey }) } : {}),
      ...(options.denyUnknownPeers === false
        ? {}
        : {
            connectionGater: {
              denyInboundEncryptedConnection: (peerId: PeerId) => !listed(peerId),
              denyOutboundEncryptedConnection: (peerId: PeerId) => !listed(peerId),
            },
          }),
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
          fastMsgIdFn: (rpc) => latin1(rpc.from) + '/' + latin1(rpc.seqno),
          msgIdFn: messageId,
          msgIdToStrFn: latin1,
          seenTTL: 30_000,
          D: mesh.D,
          Dlo: mesh.Dlo,
          Dhi: mesh.Dhi,
          Dout: Math.min(mesh.Dlo - 1, Math.floor(mesh.D / 2)),
          Dscore: Math.min(mesh.Dlo, 4),
          Dlazy: Math.max(mesh.D, 2),
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
  }

  publishAction(message: ActionMessage): void {
    this.noteStep(message.step);
    this.publish(this.actTopic, encodeAction(this.runTag, message));
  }

  publishShare(message: ShareMessage): void {
    this.noteStep(message.step);
    this.publish(this.ownShareTopic, encodeShare(this.runTag, message));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const state of this.dialStates.values()) clearTimeout(state.timer);
    this.stopWaiting?.(new Error(`agent ${this.agent}: transport stopped before its peers were ready`));
    this.handlers = undefined;
    await this.listening?.catch(() => undefined);
    await this.node?.stop();
  }

  // ---------------------------------------------------------------------------------------

  private noteStep(step: number): void {
    if (this.currentStep === undefined || step > this.currentStep) this.currentStep = step;
  }

  private publish(topic: string, bytes: Uint8Array): void {
    const node = this.node;
    if (node === undefined || this.stopped) throw new Error(`agent ${this.agent}: publish on a transport that is not running`);
    this.stats.messagesOut++;
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
    const sender = message.type === 'signed' ? message.from.toString() : undefined;
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
      if (decoded.kind === 'action') handlers.onAction(decoded.message);
      else handlers.onShare(decoded.message);
    } catch (error) {
      this.stats.handlerErrors++;
      this.log(`${decoded.kind} handler threw: ${errorText(error)}`);
    }
  }

  private log(text: string): void {
    this.options.onLog?.(`agent ${this.agent}: ${text}`);
  }

  private scheduleDial(agent: number, delayMs: number): void {
    if (this.stopped) return;
    const peer = this.directory.get(agent);
    if (peer === undefined || peer.addresses.length === 0 || agent === this.agent) return;
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
      await node.dial(peer.addresses);
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
        this.log(`cannot reach agent ${peer.agent} at ${peer.addresses.join(' ')}: ${errorText(error)} (retrying in ${delay / 1000} s)`);
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
