/**
 * `netac launch`: N `netac agent` OS processes on this machine, one libp2p node each — no central
 * process takes part in learning; the launcher only starts them, shows their combined progress
 * from their JSON logs, and stops them all on Ctrl-C or when one fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
}

export interface AgentExit {
  readonly agent: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last error lines it logged. */
  readonly errors: readonly string[];
}

export class Launcher {
  private readonly children: ChildProcess[] = [];
  private readonly steps: number[];
  private readonly returns: number[];
  private stopping = false;

  constructor(private readonly options: LaunchOptions) {
    this.steps = new Array(options.agents).fill(0);
    this.returns = new Array(options.agents).fill(Number.NaN);
  }

  /** Starts every agent and resolves with their exits once all have ended. If one fails, the others are stopped. */
  async run(): Promise<AgentExit[]> {
    const exits: Promise<AgentExit>[] = [];
    for (let agent = 0; agent < this.options.agents; agent++) exits.push(this.startAgent(agent));
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
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => this.handleLine(agent, line, errors));
    const output = createInterface({ input: child.stdout! });
    output.on('line', (line) => this.options.onLine?.(agent, line));
    return new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        // Let the pipes drain so the last log lines are read.
        setImmediate(() => resolve({ agent, code, signal, errors }));
      });
    });
  }

  private handleLine(agent: number, line: string, errors: string[]): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      errors.push(line);
      if (errors.length > 20) errors.shift();
      this.options.onLine?.(agent, line);
      return;
    }
    if (record.event === 'metrics' && typeof record.step === 'number') {
      this.steps[agent] = record.step;
      this.returns[agent] = Number(record.meanReward);
      this.options.onProgress?.({ step: Math.min(...this.steps), steps: this.options.steps, averageReturn: mean(this.returns) });
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
