/**
 * What decides, before any storage work, whether a read may go ahead: the store is
 * enabled, the caller is authorized, the quota has room. The read path asks one gate;
 * the server composes it from the enablement, auth and quota modules.
 */
import type { Peer } from "../transport/types.ts";
import type { StoreVersion } from "../storage/store_version.ts";

/** The verdicts a gate can give; anything but ADMITTED ends the read with a Venice status. */
export const GateVerdict = {
  ADMITTED: 0,
  /** 503: the store is disabled on this server. */
  STORE_DISABLED: 1,
  /** 429 with an empty message: the store version is over its read quota. */
  STORE_OVER_QUOTA: 2,
  /** 503 "Server over capacity": the node-wide limit. */
  NODE_OVER_CAPACITY: 3,
} as const;
export type GateVerdictCode = typeof GateVerdict[keyof typeof GateVerdict];

export type ReadMethod = "get" | "batchGet";

/**
 * One read about to happen. The read path reuses a single instance per request kind,
 * so a gate must not keep a reference to it past `admit`.
 */
export interface ReadAttempt {
  version: StoreVersion;
  method: ReadMethod;
  /** Read capacity units: 1 for a single get, the key count for a batch get. */
  rcu: number;
  isRetry: boolean;
  peer: Peer;
}

/**
 * Decides on a read. Throws `GrpcStatusError` for authentication and authorization
 * failures (they are real gRPC statuses in Venice); returns a verdict otherwise. It may
 * return a promise (an authorization answer not cached yet), but should not on the
 * common path.
 */
export interface ReadGate {
  admit(attempt: ReadAttempt): GateVerdictCode | Promise<GateVerdictCode>;
}

/** A gate that admits every read: no quota, no auth, every store enabled. */
export const OPEN_GATE: ReadGate = { admit: () => GateVerdict.ADMITTED };
