#!/usr/bin/env node
import module from 'node:module';
import { readFileSync } from 'node:fs';

// Node >= 22.1 keeps compiled code of the CLI's modules on disk between runs.
module.enableCompileCache?.();

// `--version` alone needs nothing but package.json: answer before loading the CLI.
if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  let version = 'unknown';
  try {
    version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  } catch {
    // as the CLI's own --version: unknown when package.json cannot be read
  }
  process.stdout.write(`${version}\n`);
} else {
  const { main } = await import('../dist/src/cli/index.js');
  await main();
}
