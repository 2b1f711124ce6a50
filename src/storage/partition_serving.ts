/**
 * Whether a partition may be served, from what its Venice server checkpointed
 * (PartitionState in the metadata partition): only once its push has ended, and, for a
 * hybrid version, only while what a reader sees is fresher than the operator's bound.
 *
 * Freshness: Venice flushes a data partition, then writes its PartitionState with
 * `lastCheckpointTimestamp` (StoreIngestionTask.syncOffset). Data partitions have the WAL
 * off, so a reader (a RocksDB secondary, or a read-only snapshot) sees what was ingested
 * up to the last checkpoint and maybe more, never less: now - lastCheckpointTimestamp
 * bounds how old its view is. Before v22 (no lastCheckpointTimestamp) the checkpoint's
 * `lastUpdate` (producer time of the last record then) stands in. A quiet partition is
 * not checkpointed (Venice syncs every 32 MiB ingested, or at control messages), so its
 * staleness keeps rising though nothing is missing: a reader cannot tell the two apart.
 */
import type { PartitionState } from "../venice/partition_state.ts";

/** A partition's serving state, as stored in the shared Int32Array slots. */
export const Serving = {
  SERVING: 0,
  /** The metadata partition has no PartitionState for it, or its push has not ended. */
  BOOTSTRAPPING: 1,
  /** Hybrid, and older than the bound. */
  STALE: 2,
  /** Hybrid, and no bound is set (storage.maxStalenessMs). */
  UNBOUNDED: 3,
  /** A secondary whose last catch-up with the primary failed: its checkpoint may be ahead. */
  BEHIND_PRIMARY: 4,
} as const;
export type ServingCode = typeof Serving[keyof typeof Serving];

export const SERVING_NAMES: Readonly<Record<ServingCode, string>> = {
  [Serving.SERVING]: "serving",
  [Serving.BOOTSTRAPPING]: "bootstrapping",
  [Serving.STALE]: "stale",
  [Serving.UNBOUNDED]: "hybrid-without-bound",
  [Serving.BEHIND_PRIMARY]: "behind-primary",
};

/** Why a partition in each state is not served (for the read's answer). */
export const NOT_SERVED_REASONS: Readonly<Record<ServingCode, string>> = {
  [Serving.SERVING]: "",
  [Serving.BOOTSTRAPPING]: "its push has not ended on this server",
  [Serving.STALE]: "its data is older than storage.maxStalenessMs",
  [Serving.UNBOUNDED]: "it is hybrid and no storage.maxStalenessMs is set",
  [Serving.BEHIND_PRIMARY]: "it cannot catch up with its primary (see /status)",
};

/** What decides a partition's state. */
export interface ServingInputs {
  /** False for a version with no metadata partition at all (not written by Venice). */
  readonly hasMetadata: boolean;
  readonly state: PartitionState | null;
  /** The version takes real-time writes (a TopicSwitch, or a leader on a real-time topic). */
  readonly hybrid: boolean;
  /** The bound for this store; null: none set. */
  readonly maxStalenessMs: number | null;
  readonly now: number;
  /** A secondary's last catch-up of this partition failed. */
  readonly catchUpFailed: boolean;
}

/** When what a reader sees was last known complete (ms), or null when unknown. */
export function freshAsOf(state: PartitionState | null): number | null {
  if (state === null) return null;
  if (state.lastCheckpointTimestamp > 0) return state.lastCheckpointTimestamp;
  return state.lastUpdate > 0 ? state.lastUpdate : null;
}

/** A partition's staleness in ms (0 at the earliest), or null when unknown. */
export function stalenessMs(state: PartitionState | null, now: number): number | null {
  const asOf = freshAsOf(state);
  return asOf === null ? null : Math.max(0, now - asOf);
}

export function servingCode(inputs: ServingInputs): ServingCode {
  if (inputs.catchUpFailed) return Serving.BEHIND_PRIMARY;
  if (!inputs.hasMetadata) return Serving.SERVING;
  const state = inputs.state;
  if (state === null || !state.endOfPush) return Serving.BOOTSTRAPPING;
  if (!inputs.hybrid) return Serving.SERVING;
  if (inputs.maxStalenessMs === null) return Serving.UNBOUNDED;
  const staleness = stalenessMs(state, inputs.now);
  return staleness === null || staleness > inputs.maxStalenessMs ? Serving.STALE : Serving.SERVING;
}

/** Real-time topic names (Version.isRealTimeTopic): abc_rt, abc_rt_v1, abc_rt_sep, abc_rt_v1_sep. */
const REAL_TIME_TOPIC = /_rt(_v[0-9]+)?(_sep)?$/;

/** Whether a leader on `topic` consumes real-time writes (the version is hybrid). */
export function isRealTimeTopic(topic: string | null): boolean {
  return topic !== null && REAL_TIME_TOPIC.test(topic);
}
