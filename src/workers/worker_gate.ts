/**
 * The read gate of a worker isolate: authorization and store enablement as the
 * single-isolate server decides them (an `Admission` over the same config), and the
 * read quota through a `ReadQuotaView` on the main isolate's shared buckets, so that a
 * quota is per server however many workers take its reads.
 */
import type { RialtoConfig } from "../config/schema.ts";
import { ReadQuotaView } from "../quota/mod.ts";
import { Admission, gateVerdictOf } from "../read/admission.ts";
import { GateVerdict, type GateVerdictCode, type ReadGate, type ReadMethod } from "../read/gate.ts";
import type { StoreVersion } from "../storage/store_version.ts";
import type { Peer } from "../transport/types.ts";
import type { SharedQuota } from "./protocol.ts";

/** The same config with the quota off: the Admission here only authorizes and enables. */
function withoutQuota(config: RialtoConfig): RialtoConfig {
  return { ...config, quota: { ...config.quota, enabled: false } };
}

export class WorkerGate implements ReadGate {
  readonly #admission: Admission;
  readonly #quota: ReadQuotaView;
  readonly #bucketOf: (resource: string) => number | undefined;

  constructor(
    config: RialtoConfig,
    quota: SharedQuota,
    bucketOf: (resource: string) => number | undefined,
  ) {
    this.#admission = new Admission(withoutQuota(config));
    this.#quota = new ReadQuotaView(quota.buffer, quota.maxStoreVersions);
    this.#quota.enabled = config.quota.enabled;
    this.#bucketOf = bucketOf;
  }

  /** A reloaded config; the main isolate has already reshaped the shared buckets. */
  update(config: RialtoConfig): void {
    this.#admission.update(withoutQuota(config));
    this.#quota.enabled = config.quota.enabled;
  }

  authorize(
    resource: string,
    requestMethod: string,
    method: ReadMethod,
    peer: Peer,
  ): undefined | Promise<void> {
    return this.#admission.authorize(resource, requestMethod, method, peer);
  }

  admit(version: StoreVersion, rcu: number, isRetry: boolean): GateVerdictCode {
    const verdict = this.#admission.admit(version, rcu, isRetry);
    if (verdict !== GateVerdict.ADMITTED || !this.#quota.enabled) return verdict;
    const bucket = this.#bucketOf(version.resource);
    // Every installed version comes with its bucket; a version without one is not served.
    if (bucket === undefined) return GateVerdict.NODE_OVER_CAPACITY;
    return gateVerdictOf(this.#quota.tryAcquire(bucket, rcu, isRetry));
  }

  close(): void {
    this.#admission.close();
  }
}
