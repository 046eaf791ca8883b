#!/usr/bin/env node
import module from 'node:module';
import { readFileSync, statSync } from 'node:fs';

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
  const { main } = await import(cliModule());
  await main();
}

/**
 * The CLI bundled (dist/bundle, scripts/bundle-cli.js: ~25 ms less module loading) when it is
 * at least as new as tsc's output, else tsc's output itself: a stale bundle never runs.
 */
function cliModule() {
  const bundle = new URL('../dist/bundle/index.js', import.meta.url);
  const modules = new URL('../dist/src/cli/index.js', import.meta.url);
  try {
    if (statSync(bundle).mtimeMs >= statSync(modules).mtimeMs) return bundle.href;
  } catch {
    // no bundle (or no dist at all: the import below says so)
  }
  return modules.href;
}
