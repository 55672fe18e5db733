/**
 * `netac launch`: N `netac agent` OS processes on this machine, one libp2p node each — no central
 * process takes part in learning; the launcher only starts them, shows their combined progress
 * from their JSON logs, and stops them all on Ctrl-C or when one fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface LaunchOptions {
  /** Path of the netac entry script (bin/netac.js). */
  readonly entry: string;
  readonly runFile: string;
  readonly agents: number;
  /** Iterations each agent runs (for progress). */
  readonly steps: number;
  readonly onProgress?: (progress: { readonly step: number; readonly steps: number; readonly averageReturn: number }) => void;
  /** Lines worth a person's attention (warnings, errors, non-JSON output), prefixed by agent. */
  readonly onLine?: (agent: number, line: string) => void;
  readonly extraAgentArgs?: readonly string[];
  /** Which agent ids to start (default 0..agents-1), e.g. those a run config assigns to one host. */
  readonly ids?: readonly number[];
  /** Also write each agent's whole log (its stderr, JSON lines) to <logDir>/agent-<i>.log. */
  readonly logDir?: string;
}

export interface AgentExit {
  readonly agent: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last error lines it logged. */
  readonly errors: readonly string[];
  /** Its final 'done' record (rounds, iterations, cpuMs, runCpuMs, runMs, transport stats...),
   * when it finished the run: what benchmarks read. */
  readonly done?: DoneRecord;
}

/** The 'done' log line of an agent process (src/run/peer.ts), as parsed JSON. */
export interface DoneRecord {
  readonly rounds?: number;
  readonly iterations?: number;
  /** CPU time of the whole process (start-up included), ms. */
  readonly cpuMs?: number;
  /** CPU time from 'ready' to the end of the closing handshake, ms. */
  readonly runCpuMs?: number;
  /** Wall time of the same span, ms. */
  readonly runMs?: number;
  readonly stats?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

export class Launcher {
  private readonly children: ChildProcess[] = [];
  /** Latest step and mean reward by agent id (only the agents this launcher starts). */
  private readonly steps = new Map<number, number>();
  private readonly returns = new Map<number, number>();
  private readonly ids: readonly number[];
  private stopping = false;

  constructor(private readonly options: LaunchOptions) {
    this.ids = options.ids ?? Array.from({ length: options.agents }, (_, agent) => agent);
    for (const agent of this.ids) {
      this.steps.set(agent, 0);
      this.returns.set(agent, Number.NaN);
    }
  }

  /** Starts every agent and resolves with their exits once all have ended. If one fails, the others are stopped. */
  async run(): Promise<AgentExit[]> {
    const exits: Promise<AgentExit>[] = [];
    for (const agent of this.ids) exits.push(this.startAgent(agent));
    const results = await Promise.all(
      exits.map((exit) =>
        exit.then((result) => {
          if ((result.code !== 0 || result.signal !== null) && !this.stopping) this.stop();
          return result;
        }),
      ),
    );
    return results;
  }

  /** SIGTERM to every agent still running (they stop cleanly and flush their metrics). */
  stop(): void {
    this.stopping = true;
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }

  private startAgent(agent: number): Promise<AgentExit> {
    const args = [
      this.options.entry,
      'agent',
      '--run',
      this.options.runFile,
      '--id',
      String(agent),
      '--log-format',
      'json',
      ...(this.options.extraAgentArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    const errors: string[] = [];
    const done: { record?: DoneRecord } = {};
    if (this.options.logDir !== undefined) {
      mkdirSync(this.options.logDir, { recursive: true });
      child.stderr!.pipe(createWriteStream(join(this.options.logDir, `agent-${agent}.log`)));
    }
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => this.handleLine(agent, line, errors, done));
    const stderrClosed = new Promise<void>((resolve) => lines.once('close', resolve));
    const output = createInterface({ input: child.stdout! });
    output.on('line', (line) => this.options.onLine?.(agent, line));
    return new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        // Let the pipes drain so the last log lines (the 'done' record) are read.
        const drained = Promise.race([stderrClosed, new Promise<void>((settle) => setTimeout(settle, 2000).unref())]);
        void drained.then(() => resolve({ agent, code, signal, errors, ...(done.record !== undefined ? { done: done.record } : {}) }));
      });
    });
  }

  private handleLine(agent: number, line: string, errors: string[], done: { record?: DoneRecord }): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      errors.push(line);
      if (errors.length > 20) errors.shift();
      this.options.onLine?.(agent, line);
      return;
    }
    if (record.event === 'done') {
      done.record = record as DoneRecord;
      return;
    }
    if (record.event === 'metrics' && typeof record.step === 'number') {
      this.steps.set(agent, record.step);
      this.returns.set(agent, Number(record.meanReward));
      this.options.onProgress?.({ step: Math.min(...this.steps.values()), steps: this.options.steps, averageReturn: mean([...this.returns.values()]) });
      return;
    }
    const level = Number(record.level);
    if (level >= 40) {
      const text = String(record.msg ?? line);
      if (level >= 50) {
        errors.push(text);
        if (errors.length > 20) errors.shift();
      }
      this.options.onLine?.(agent, `${level >= 50 ? 'error' : 'warning'}: ${text}`);
    }
  }
}

function mean(values: readonly number[]): number {
  const known = values.filter(Number.isFinite);
  return known.length === 0 ? Number.NaN : known.reduce((a, b) => a + b, 0) / known.length;
}
