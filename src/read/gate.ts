/**
 * What decides whether a read may go ahead, in Venice's order: first who is calling
 * (ServerStoreAclHandler: real gRPC statuses), then whether the store is enabled here and
 * the quota has room (ReadQuotaEnforcementHandler: Venice statuses in errorCode). The
 * read path asks one gate; `admission.ts` composes it from the auth, quota and config
 * modules.
 */
import type { Peer } from "../transport/types.ts";
import type { StoreVersion } from "../storage/store_version.ts";

/** The verdicts of `admit`; anything but ADMITTED ends the read with a Venice status. */
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

export interface ReadGate {
  /**
   * Decides who may read `resource`. Returns undefined when allowed; throws the
   * `GrpcStatusError` to end the call with when denied; returns a promise only when the
   * answer is not at hand yet (an external authority not asked before).
   */
  authorize(
    resource: string,
    requestMethod: string,
    method: ReadMethod,
    peer: Peer,
  ): undefined | Promise<void>;
  /** Whether the read may go ahead now; takes `rcu` from the quota when it may. */
  admit(version: StoreVersion, rcu: number, isRetry: boolean): GateVerdictCode;
}

/** A gate that lets every read through: no auth, no quota, every store enabled. */
export const OPEN_GATE: ReadGate = {
  authorize: () => undefined,
  admit: () => GateVerdict.ADMITTED,
};
