/** The one error type the RocksDB binding throws for storage failures. */

/**
 * What went wrong, from RocksDB's `Status` (its `ToString()` prefix), plus `"Closed"`
 * for a handle used after `close()`. Callers map these to wire statuses.
 */
export type RocksDBErrorCode =
  | "NotFound"
  | "Corruption"
  | "NotSupported"
  | "InvalidArgument"
  | "IOError"
  | "MergeInProgress"
  | "Incomplete"
  | "ShutdownInProgress"
  | "TimedOut"
  | "Aborted"
  | "Busy"
  | "Expired"
  | "TryAgain"
  | "ColumnFamilyDropped"
  | "Closed"
  | "Unknown";

// Status::ToString() prefixes in RocksDB 7.8 (util/status.cc).
const STATUS_PREFIXES: readonly (readonly [string, RocksDBErrorCode])[] = [
  ["NotFound", "NotFound"],
  ["Corruption", "Corruption"],
  ["Not implemented", "NotSupported"],
  ["Invalid argument", "InvalidArgument"],
  ["IO error", "IOError"],
  ["Merge in progress", "MergeInProgress"],
  ["Result incomplete", "Incomplete"],
  ["Shutdown in progress", "ShutdownInProgress"],
  ["Operation timed out", "TimedOut"],
  ["Operation aborted", "Aborted"],
  ["Resource busy", "Busy"],
  ["Operation expired", "Expired"],
  ["Operation failed. Try again.", "TryAgain"],
  ["Column family dropped", "ColumnFamilyDropped"],
];

/** Reads the status kind from a RocksDB error string such as `"IO error: ..."`. */
export function statusCodeOf(status: string): RocksDBErrorCode {
  for (const [prefix, code] of STATUS_PREFIXES) {
    if (status.startsWith(prefix)) return code;
  }
  return "Unknown";
}

export interface RocksDBErrorDetails {
  readonly code: RocksDBErrorCode;
  /** The database directory, when the failure concerns one. */
  readonly path?: string;
  /** RocksDB's own status text, e.g. `"IO error: No such file or directory: ..."`. */
  readonly status?: string;
}

/** A RocksDB call failed, or a closed handle was used. */
export class RocksDBError extends Error {
  readonly code: RocksDBErrorCode;
  readonly path: string | undefined;
  readonly status: string | undefined;

  constructor(message: string, details: RocksDBErrorDetails) {
    super(message);
    this.name = "RocksDBError";
    this.code = details.code;
    this.path = details.path;
    this.status = details.status;
  }

  /** `"<what> "<path>": <RocksDB status>"`, with the code read from the status. */
  static fromStatus(what: string, path: string | undefined, status: string): RocksDBError {
    const where = path === undefined ? "" : ` "${path}"`;
    return new RocksDBError(`${what}${where}: ${status}`, {
      code: statusCodeOf(status),
      path,
      status,
    });
  }

  static closed(what: string, path: string): RocksDBError {
    return new RocksDBError(`${what} "${path}" is closed`, { code: "Closed", path });
  }
}
