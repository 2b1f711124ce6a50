/**
 * Each held partition's serving state and staleness, from the versions' checkpoints
 * (src/storage/partition_serving.ts), as Prometheus gauges. Rendered by the main isolate,
 * which owns the versions; workers add nothing here.
 */
import type { PartitionReport } from "../storage/store_version.ts";
import { escapeLabel } from "./read_metrics.ts";

/** A version's partitions as the metrics need them. */
export interface VersionPartitions {
  readonly store: string;
  readonly version: number;
  readonly partitions: readonly PartitionReport[];
}

const STALENESS = "rialto_partition_staleness_seconds";
const SERVED = "rialto_partition_served";

/**
 * The partition gauges in Prometheus text format, appended to `out` as lines a version at
 * a time (sliced.ts): `versions` may make each one's reports as it is reached.
 */
export function* partitionPieces(
  versions: Iterable<VersionPartitions>,
  out: string[],
): Generator<void> {
  out.push(
    `# HELP ${STALENESS} How old a partition's data may be: now minus its last checkpoint (PartitionState)`,
    `# TYPE ${STALENESS} gauge`,
  );
  const served: string[] = [
    `# HELP ${SERVED} 1 when a partition's reads are answered; its state says why when not`,
    `# TYPE ${SERVED} gauge`,
  ];
  for (const v of versions) {
    for (const p of v.partitions) {
      const labels = `store="${
        escapeLabel(v.store)
      }",version="${v.version}",partition="${p.partition}"`;
      if (p.stalenessMs !== null) out.push(`${STALENESS}{${labels}} ${p.stalenessMs / 1000}`);
      served.push(`${SERVED}{${labels},state="${p.state}"} ${p.state === "serving" ? 1 : 0}`);
    }
    yield;
  }
  for (const line of served) out.push(line);
}
