/** Where the package's shipped files live, so commands work from any working directory. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding package.json, scenarios/ and topologies/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A scenario or topology argument: a path as given if it exists, else a file shipped with netac
 * (`ring` → topologies/ring.yaml), else the path as given (the loader then names it as missing).
 */
export function resolveShippedFile(argument: string, folder: 'scenarios' | 'topologies'): string {
  if (existsSync(argument)) return argument;
  for (const candidate of [argument, `${argument}.yaml`, `${argument}.yml`, `${argument}.json`]) {
    const shipped = join(PACKAGE_ROOT, folder, candidate);
    if (existsSync(shipped)) return shipped;
  }
  return argument;
}

/** A fresh run directory name: runs/<name>-<UTC timestamp>. */
export function defaultRunDirectory(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return join('runs', `${name}-${stamp}`);
}
