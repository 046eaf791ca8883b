/**
 * The one writer of output files, and the check every command runs on its output paths
 * before any work starts. The rules (README "Output files"):
 * - a regular file (or a new one) is written atomically: a temporary file in the same
 *   directory, then renamed over it; an existing file keeps its mode (and, as root, owner);
 * - a symbolic link is followed: its target is written, the link stays;
 * - anything else (a device such as /dev/null, a FIFO) is written in place, never renamed over;
 * - this process's standard output or error (/dev/stdout, /dev/fd/2, ...) is written through
 *   the open descriptor.
 */
import {
  accessSync,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { OutputError, UsageError, describeErrno } from './errors.js';

const statOrUndefined = (path: string, follow = true): Stats | undefined => {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
};

/** The path that is really written: symlinks followed, even a dangling one (its target is created). */
export function outputTarget(path: string): string {
  // An existing path is resolved by the kernel: /dev/stdout -> /proc/self/fd/1 -> "pipe:[N]"
  // has no name to rename over; a pipe, device or FIFO is opened where it is.
  const st = statOrUndefined(path);
  if (st) return st.isFile() || st.isDirectory() ? realpathSync(path) : path;
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    const l = statOrUndefined(p, false);
    if (!l) return join(realpathSync(dirname(p)), basename(p));
    if (!l.isSymbolicLink()) return realpathSync(p);
    p = resolve(dirname(p), readlinkSync(p));
  }
  throw Object.assign(new Error(`${path}: too many levels of symbolic links`), { code: 'ELOOP' });
}

const wrap = (path: string, e: unknown): Error => {
  const why = describeErrno(e);
  return why ? new OutputError(`cannot write ${path}: ${why}`) : (e as Error);
};

/** Write an output file by the rules above. User-caused failures throw OutputError (exit 1). */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  let target: string;
  let existing: Stats | undefined;
  try {
    target = outputTarget(path);
    existing = statOrUndefined(target);
  } catch (e) {
    throw wrap(path, e);
  }
  if (existing?.isDirectory()) throw new OutputError(`cannot write ${path}: it is a directory`);
  const stdFd = existing && standardStreamOf(existing);
  if (stdFd !== undefined) {
    // /dev/stdout and the like: write through our own stream, whatever it is (a socket cannot
    // be opened by name; a redirected file must not be renamed over under the shell; the
    // stream keeps the order of everything else written there). Its errors are the stream's.
    (stdFd === 1 ? process.stdout : process.stderr).write(data);
    return;
  }
  if (existing && !existing.isFile()) {
    // A device or FIFO: write into it; renaming over it would replace it.
    let fd: number | undefined;
    try {
      fd = openSync(target, constants.O_WRONLY | constants.O_TRUNC);
      writeAll(fd, data);
    } catch (e) {
      throw wrap(path, e);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return;
  }
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, existing ? existing.mode & 0o7777 : 0o666);
    writeAll(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (existing) {
      chmodSync(tmp, existing.mode & 0o7777); // open's mode went through the umask
      if (process.getuid?.() === 0) chownSync(tmp, existing.uid, existing.gid);
    }
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw wrap(path, e);
  }
}

/**
 * Write a trace (`trace -o`, `import -o`, `capture -o`) by the rules above, gzip-compressed when
 * the name ends in `.gz`: `run --trace` and `validate --capture` read such a name as gzip.
 */
export function writeTraceFile(path: string, text: string): void {
  writeOutputFile(path, path.endsWith('.gz') ? gzipSync(text) : text);
}

/**
 * True when writeOutputFile writes this path in place (a device, FIFO, socket, or our own
 * standard output or error) rather than replacing a regular file: such a target takes one
 * write, not a series of snapshots.
 */
export function writesInPlace(path: string): boolean {
  const st = statOrUndefined(path);
  return st !== undefined && (!st.isFile() || standardStreamOf(st) !== undefined);
}

/** 1 or 2 when the file is this process's standard output or error. */
function standardStreamOf(st: Stats): number | undefined {
  for (const fd of [1, 2]) {
    try {
      const s = fstatSync(fd);
      if (s.dev === st.dev && s.ino === st.ino) return fd;
    } catch {
      // closed
    }
  }
  return undefined;
}

/** Kept for callers of the old name; the same writer. */
export const writeFileAtomic = writeOutputFile;

function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}

/** One output path a command was given, with the flag that named it (for messages). */
export interface OutputPath {
  flag: string;
  path: string;
}

/**
 * Checks a command's output paths before it does any work: each one's directory exists and
 * is writable, none is a directory, and no two name the same file (a usage error, exit 2).
 * Throws OutputError (exit 1) naming the flag and path.
 */
export function checkOutputPaths(outputs: readonly OutputPath[]): void {
  const seen = new Map<string, OutputPath>();
  for (const o of outputs) {
    const fail = (why: string) => new OutputError(`${o.flag} ${o.path}: ${why}`);
    if (o.path === '') throw new UsageError(`${o.flag}: the output path is empty`);
    let target: string;
    let st: Stats | undefined;
    try {
      target = outputTarget(o.path);
      st = statOrUndefined(target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw fail(`directory ${dirname(resolve(o.path))} does not exist`);
      throw fail(describeErrno(e) ?? (e as Error).message);
    }
    if (st?.isDirectory()) throw fail('is a directory; give a file name');
    const dir = dirname(target);
    try {
      if (st && !st.isFile()) accessSync(target, constants.W_OK);
      else {
        if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
        // Written by a rename in this directory: the directory must be writable, the file need not be.
        accessSync(dir, constants.W_OK);
      }
    } catch (e) {
      throw fail(`cannot write ${st && !st.isFile() ? target : `in ${dir}`}: ${describeErrno(e) ?? (e as Error).message}`);
    }
    const key = st ? `${st.dev}:${st.ino}` : target;
    const prev = seen.get(key);
    if (prev) throw new UsageError(`${prev.flag} ${prev.path} and ${o.flag} ${o.path} name the same file; give each output its own path`);
    seen.set(key, o);
  }
}

/**
 * Checks output directories (`corpus generate -o DIR`, `--cpu-prof DIR`) before any work:
 * each is a directory or can be made one (its nearest existing ancestor is a writable directory).
 */
export function checkOutputDirs(outputs: readonly OutputPath[]): void {
  for (const o of outputs) {
    if (o.path === '') throw new UsageError(`${o.flag}: the output path is empty`);
    const fail = (why: string) => new OutputError(`${o.flag} ${o.path}: ${why}`);
    // Below a file, a path does not exist either (ENOTDIR): look further up.
    const statDir = (path: string) => {
      try {
        return statOrUndefined(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
        throw fail(describeErrno(e) ?? (e as Error).message);
      }
    };
    let p = resolve(o.path);
    let st = statDir(p);
    if (st && !st.isDirectory()) throw fail('exists and is not a directory');
    while (!st) {
      const up = dirname(p);
      if (up === p) break;
      p = up;
      st = statDir(p);
      if (st && !st.isDirectory()) throw fail(`${p} is not a directory`);
    }
    try {
      accessSync(p, constants.W_OK);
    } catch (e) {
      throw fail(`cannot write in ${p}: ${describeErrno(e) ?? (e as Error).message}`);
    }
  }
}
