import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The ptreclaim package root (where package.json, build/ and dist/ live). */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ptreclaim') {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('ptreclaim: cannot find the package root (package.json named "ptreclaim")');
    dir = parent;
  }
}

/** Absolute path of a file under the package's build/ directory. */
export function buildPath(...parts: string[]): string {
  return join(packageRoot(), 'build', ...parts);
}
