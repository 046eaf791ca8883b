/**
 * Errors ptreclaim reports to users, and the one exit-code table every command applies
 * (README "Exit status"). Each error says what went wrong, where, and what was expected.
 */

/** Exit status of every command. */
export const EXIT = {
  /** Done; for validate/compare: everything agrees. */
  ok: 0,
  /** An input or check failed: bad trace or log, unwritable output, model != kernel, regression, teardown check. */
  failure: 1,
  /** Bad usage: unknown command or flag, a value out of range, conflicting options. */
  usage: 2,
  /** The live-kernel oracle cannot run here or refused the trace. */
  oracleRefused: 3,
  /** A bug in ptreclaim (anything not listed above). */
  internal: 70,
  /** Stopped by a signal: 128 + its number. */
  sighup: 129,
  sigint: 130,
  sigterm: 143,
} as const;

export class PtreclaimError extends Error {
  override name = 'PtreclaimError';
  /** The exit status a command ends with when this error stops it. */
  get exitCode(): number {
    return EXIT.failure;
  }
}

/** A trace file that does not follow the format: file, line and column of the problem. */
export class TraceSyntaxError extends PtreclaimError {
  override name = 'TraceSyntaxError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
  }
}

/** The page-table arena cannot hold the tables an operation needs. */
export class ArenaFullError extends PtreclaimError {
  override name = 'ArenaFullError';
  constructor(
    message: string,
    readonly liveTables: number,
    readonly limitTables: number,
  ) {
    super(message);
  }
}

/** A bad option or argument given to the CLI or the library. */
export class UsageError extends PtreclaimError {
  override name = 'UsageError';
  override get exitCode(): number {
    return EXIT.usage;
  }
}

/** An input file or directory that cannot be read or does not hold what it should. */
export class InputError extends PtreclaimError {
  override name = 'InputError';
}

/** A trace using a trace v2 feature the model does not run yet (issue 12): the live oracle replays it. */
export class UnmodelledTraceError extends InputError {
  override name = 'UnmodelledTraceError';
}

/** An output path that cannot be written (missing directory, a directory, no permission, disk full). */
export class OutputError extends PtreclaimError {
  override name = 'OutputError';
}

/** Errno codes the user's environment causes (paths, permissions, space), not ptreclaim bugs. */
const USER_ERRNO: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EEXIST: 'file exists',
  EROFS: 'read-only file system',
  ETXTBSY: 'text file busy',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  ENXIO: 'no such device or address',
  EIO: 'input/output error',
};

/** "ENOSPC (no space left on device)" for a user-caused errno error, else undefined. */
export function describeErrno(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !(code in USER_ERRNO)) return undefined;
  return `${code} (${USER_ERRNO[code]!})`;
}

/**
 * Why an input file could not be read, for "cannot read X PATH: ...": the errno with its meaning,
 * or, for a `.gz` name, what is wrong with the gzip data (zlib's codes alone say nothing to a user).
 */
export function describeReadFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const errno = describeErrno(e);
  if (errno) return errno;
  if (code === 'Z_BUF_ERROR') return 'Z_BUF_ERROR (the gzip data ends early: a truncated .gz file; expected a complete gzip stream)';
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return `${code} (the name ends in .gz, but the file is not gzip data: ${(e as Error).message})`;
  }
  return code ?? (e as Error).message;
}

/** The exit status for an error that stopped a command (the table in EXIT). */
export function exitCodeFor(e: unknown): number {
  if (e instanceof PtreclaimError) return e.exitCode;
  if (describeErrno(e)) return EXIT.failure;
  return EXIT.internal;
}
