#!/usr/bin/env node
// Entry point of the `netac` command: the polyfill must load before libp2p.
import '../dist/core/polyfill.js';
import { main } from '../dist/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`netac: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
