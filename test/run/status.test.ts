// The health view reads the agents' status files (real files) into one table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStatus, statusTable, writeStatus } from '../../src/run/status.js';

const directory = mkdtempSync(join(tmpdir(), 'netac-status-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('status files', () => {
  it('round-trips and shows step, last message, late shares, rejected and who is awaited', () => {
    const now = 1_000_000;
    writeStatus(directory, {
      agent: 0, pid: 1, state: 'running', round: 52, step: 50, steps: 100, lastMessageAt: now - 2500,
      messagesIn: 400, messagesOut: 200, rejected: 3, lateShares: 7, awaiting: [2], updatedAt: now - 500,
    });
    expect(readStatus(directory, 0)?.lateShares).toBe(7);
    const table = statusTable(directory, 2, now).split('\n');
    expect(table[0]).toMatch(/^agent\s+state\s+step\s+last message\s+late shares\s+rejected/);
    expect(table[1]).toMatch(/^0\s+running\s+50\/100\s+2\.5 s ago\s+7\s+3\s+400\/200\s+2\s+0\.5 s ago$/);
    expect(table[2]).toMatch(/^1\s+no status/);
  });
});
