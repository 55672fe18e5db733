// What the process tests share: the `netac` command as a child process, and a run's metrics files.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** bin/netac.js, run with this Node. */
export const NETAC_ENTRY = join(import.meta.dirname, '..', '..', 'bin', 'netac.js');

/** Runs `netac ...args` to the end and returns its stdout (throws on a non-zero exit). */
export function netac(args: string[], timeoutMs = 240_000): string {
  return execFileSync(process.execPath, [NETAC_ENTRY, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The learning metrics files of one (label, seed) directory, by file name, in name order. */
export function metricsFiles(directory: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(directory).sort()) if (name.endsWith('.metrics.jsonl')) files.set(name, readFileSync(join(directory, name), 'utf8'));
  return files;
}
