/** Errors of the store tooling (`rialto store ...`); the CLI prints their message as is. */

/** A store tool failed for a reason the user can act on (bad options, existing version). */
export class StoreToolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreToolError";
  }
}

/** A line of the input file is not a valid record; `line` is 1-based. */
export class InputLineError extends StoreToolError {
  readonly line: number;
  constructor(line: number, message: string, options?: ErrorOptions) {
    super(`Line ${line}: ${message}`, options);
    this.name = "InputLineError";
    this.line = line;
  }
}

/** Two lines of the input file carry the same key. */
export class DuplicateKeyError extends InputLineError {
  readonly firstLine: number;
  constructor(firstLine: number, line: number) {
    super(line, `duplicate key: the same key is on line ${firstLine}`);
    this.name = "DuplicateKeyError";
    this.firstLine = firstLine;
  }
}

/** The error's message, whatever was thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
