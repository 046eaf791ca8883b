/** Errors ptreclaim reports to users: each says what went wrong, where, and what was expected. */
export class PtreclaimError extends Error {
  override name = 'PtreclaimError';
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
}
