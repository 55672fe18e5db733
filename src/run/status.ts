/**
 * The health view of a peer-to-peer run. Each agent process rewrites a small status file
 * (`agent-<i>.status.json` next to its metrics) about once a second; `netac status` reads them
 * all and shows, per agent, its step, when it last heard from the network, late shares and
 * rejected messages. Nothing is sent over the network for it.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AgentStatus {
  readonly agent: number;
  readonly pid: number;
  /** 'starting' | 'running' | 'finished' | 'stopped' */
  readonly state: string;
  readonly round: number;
  readonly step: number;
  readonly steps: number;
  /** Wall-clock ms (epoch) of the last message received, or null before any. */
  readonly lastMessageAt: number | null;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly rejected: number;
  readonly lateShares: number;
  /** Agents this one is waiting for, when a round takes long. */
  readonly awaiting: readonly number[];
  readonly updatedAt: number;
}

export function statusFileName(agent: number): string {
  return `agent-${agent}.status.json`;
}

/** Atomic replace: a reader never sees half a file. */
export function writeStatus(directory: string, status: AgentStatus): void {
  const path = join(directory, statusFileName(status.agent));
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(status)}\n`);
  renameSync(temporary, path);
}

export function readStatus(directory: string, agent: number): AgentStatus | undefined {
  const path = join(directory, statusFileName(agent));
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as AgentStatus;
  } catch {
    return undefined;
  }
}

function ago(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const seconds = (now - ms) / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)} s ago` : `${Math.round(seconds / 60)} min ago`;
}

/** A table of every agent's status (missing files shown as 'no status'). */
export function statusTable(directory: string, agentCount: number, now = Date.now()): string {
  const header = ['agent', 'state', 'step', 'last message', 'late shares', 'rejected', 'in/out', 'waiting for', 'updated'];
  const rows = [header];
  for (let agent = 0; agent < agentCount; agent++) {
    const status = readStatus(directory, agent);
    if (!status) {
      rows.push([String(agent), 'no status', '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    rows.push([
      String(agent),
      status.state,
      `${status.step}/${status.steps}`,
      ago(status.lastMessageAt, now),
      String(status.lateShares),
      String(status.rejected),
      `${status.messagesIn}/${status.messagesOut}`,
      status.awaiting.length > 0 ? status.awaiting.join(',') : '-',
      ago(status.updatedAt, now),
    ]);
  }
  const widths = header.map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}
