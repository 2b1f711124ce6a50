/**
 * Who may read which store. `check` answers synchronously whenever it can (static ACLs,
 * cached answers) so the read path does not await on the common case.
 */

export type AuthMethod = "get" | "batchGet";

export interface Authorizer {
  /** Whether `principal` may call `method` on `store`. */
  check(principal: string, store: string, method: AuthMethod): boolean | Promise<boolean>;
  /**
   * Whether the store has an ACL at all; used only to word a denial the way Venice
   * does ("ACL not found" vs "Access denied"). Absent means "yes".
   */
  hasAcl?(store: string): boolean;
  /** Stops background work (timers, in-flight lookups). Safe to call twice. */
  close?(): void;
}

/** `auth.authorizer: none`: every principal may read every store. */
export class AllowAllAuthorizer implements Authorizer {
  check(): boolean {
    return true;
  }
}

/** `stores.<name>.acl`: principals allowed per method. */
export interface StoreAclSettings {
  readonly get?: readonly string[];
  readonly batchGet?: readonly string[];
}

/** The part of a `stores.<name>` config entry the static authorizer reads. */
export interface StoreAuthSettings {
  readonly acl?: StoreAclSettings | null;
}

interface CompiledAcl {
  readonly get: ReadonlySet<string>;
  readonly batchGet: ReadonlySet<string>;
}

function compile(stores: Readonly<Record<string, StoreAuthSettings>>): Map<string, CompiledAcl> {
  const acls = new Map<string, CompiledAcl>();
  for (const [name, store] of Object.entries(stores)) {
    if (store.acl == null) continue;
    acls.set(name, {
      get: new Set(store.acl.get ?? []),
      batchGet: new Set(store.acl.batchGet ?? []),
    });
  }
  return acls;
}

/**
 * `auth.authorizer: static`: the ACLs in `stores.<name>.acl`. A store without an ACL
 * denies everyone (Venice fails closed when a store has no ACL). `update` swaps the
 * whole table at once on a config reload.
 */
export class StaticAclAuthorizer implements Authorizer {
  #acls: Map<string, CompiledAcl>;

  constructor(stores: Readonly<Record<string, StoreAuthSettings>>) {
    this.#acls = compile(stores);
  }

  update(stores: Readonly<Record<string, StoreAuthSettings>>): void {
    this.#acls = compile(stores);
  }

  check(principal: string, store: string, method: AuthMethod): boolean {
    const acl = this.#acls.get(store);
    if (acl === undefined) return false;
    return (method === "get" ? acl.get : acl.batchGet).has(principal);
  }

  hasAcl(store: string): boolean {
    return this.#acls.has(store);
  }
}
