/**
 * The server's read gate, composed from config: the authorizer the config names
 * (none, static ACLs, an external authority), store enablement, and Venice's read quota.
 * `update` applies a reloaded config without dropping state that did not change.
 */
import {
  AllowAllAuthorizer,
  authorizeCall,
  type Authorizer,
  AuthPolicy,
  HttpAuthorizer,
  StaticAclAuthorizer,
} from "../auth/mod.ts";
import type { RialtoConfig } from "../config/schema.ts";
import { type QuotaHandle, QuotaVerdict, ReadQuota } from "../quota/mod.ts";
import { parseResourceName } from "../storage/layout.ts";
import type { StoreVersion } from "../storage/store_version.ts";
import type { Peer } from "../transport/types.ts";
import { GateVerdict, type GateVerdictCode, type ReadGate, type ReadMethod } from "./gate.ts";

/** Bound on the resource-name -> store-name cache (resource names come from clients). */
const STORE_NAME_CACHE_LIMIT = 10_000;

function authorizerFor(config: RialtoConfig): Authorizer {
  switch (config.auth.authorizer) {
    case "none":
      return new AllowAllAuthorizer();
    case "static":
      return new StaticAclAuthorizer(config.stores);
    case "http":
      return new HttpAuthorizer(config.auth.http);
  }
}

export class Admission implements ReadGate {
  #config: RialtoConfig;
  #authorizer: Authorizer;
  #policy: AuthPolicy;
  readonly #quota: ReadQuota;
  readonly #handles = new Map<string, QuotaHandle>();
  readonly #storeNames = new Map<string, string | null>();
  #disabled: ReadonlySet<string>;

  constructor(config: RialtoConfig) {
    this.#config = config;
    this.#authorizer = authorizerFor(config);
    this.#policy = new AuthPolicy(this.#authorizer, config.grpc.tls.principal);
    this.#quota = new ReadQuota(config.quota, config.stores);
    this.#disabled = disabledStores(config);
  }

  /** Applies a reloaded config: new ACLs, authority settings, quotas, enablement. */
  update(config: RialtoConfig): void {
    const previous = this.#config;
    this.#config = config;
    this.#quota.update(config.quota, config.stores);
    this.#disabled = disabledStores(config);
    const sameKind = previous.auth.authorizer === config.auth.authorizer &&
      JSON.stringify(previous.auth.http) === JSON.stringify(config.auth.http);
    if (sameKind && this.#authorizer instanceof StaticAclAuthorizer) {
      this.#authorizer.update(config.stores);
    } else if (!sameKind) {
      this.#authorizer.close?.();
      this.#authorizer = authorizerFor(config);
    }
    if (!sameKind || previous.grpc.tls.principal !== config.grpc.tls.principal) {
      this.#policy = new AuthPolicy(this.#authorizer, config.grpc.tls.principal);
    }
  }

  isEnabled(store: string): boolean {
    return !this.#disabled.has(store);
  }

  authorize(
    resource: string,
    requestMethod: string,
    method: ReadMethod,
    peer: Peer,
  ): undefined | Promise<void> {
    const policy = this.#policy;
    if (policy.open) return undefined;
    return authorizeCall(
      policy,
      peer.certificate,
      this.#storeNameOf(resource),
      requestMethod,
      method,
    );
  }

  admit(version: StoreVersion, rcu: number, isRetry: boolean): GateVerdictCode {
    if (this.#disabled.size !== 0 && this.#disabled.has(version.store)) {
      return GateVerdict.STORE_DISABLED;
    }
    if (!this.#quota.enabled) return GateVerdict.ADMITTED;
    let handle = this.#handles.get(version.resource);
    if (handle === undefined) {
      handle = this.#quota.forStoreVersion(version.resource, version.store);
      this.#handles.set(version.resource, handle);
    }
    return gateVerdictOf(this.#quota.tryAcquire(handle, rcu, isRetry));
  }

  /** Frees the quota buckets of versions no longer served. */
  retainVersions(resources: ReadonlySet<string>): void {
    for (const [resource, handle] of this.#handles) {
      if (resources.has(resource)) continue;
      this.#quota.release(handle);
      this.#handles.delete(resource);
    }
  }

  close(): void {
    this.#authorizer.close?.();
  }

  #storeNameOf(resource: string): string | null {
    let store = this.#storeNames.get(resource);
    if (store === undefined) {
      store = parseResourceName(resource)?.store ?? null;
      if (this.#storeNames.size >= STORE_NAME_CACHE_LIMIT) this.#storeNames.clear();
      this.#storeNames.set(resource, store);
    }
    return store;
  }
}

/** The read gate's verdict for a quota verdict. */
export function gateVerdictOf(verdict: QuotaVerdict): GateVerdictCode {
  switch (verdict) {
    case QuotaVerdict.ALLOWED:
      return GateVerdict.ADMITTED;
    case QuotaVerdict.STORE_OVER_QUOTA:
      return GateVerdict.STORE_OVER_QUOTA;
    default:
      return GateVerdict.NODE_OVER_CAPACITY;
  }
}

function disabledStores(config: RialtoConfig): ReadonlySet<string> {
  return new Set(
    Object.entries(config.stores).filter(([, store]) => !store.enabled).map(([name]) => name),
  );
}
