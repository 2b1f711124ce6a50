/**
 * `auth.authorizer: http`: asks an external authority
 * `GET <url>?principal=..&store=..&method=..` and expects `{"allow": true|false}`.
 *
 * Answers are cached per principal, store and method and refreshed in the background
 * every `refreshIntervalMs`, so a cached decision is returned synchronously and the read
 * path never waits on the authority. Only a request with no cached answer waits, for
 * at most `timeoutMs`. When the authority is down, slow (past `timeoutMs`), answers a
 * non-200 status or something that is not `{"allow": bool}`, `whenUnreachable` decides:
 *
 * - keep-last: a cached answer stays as it was; with none yet, deny.
 * - deny / allow: the answer becomes deny / allow until the authority answers again.
 *
 * A failed first lookup is retried in the background (at most once per
 * `min(refreshIntervalMs, 1 s)`) when the same key is asked again; entries nobody asked
 * for during `evictAfterRefreshes` refresh rounds are dropped.
 */
import type { AuthMethod, Authorizer } from "./authorizer.ts";
import { logger } from "../log.ts";
import { loopTasks } from "../metrics/loop_tasks.ts";

/** The `auth.http` section of the config. */
export interface HttpAuthorizerSettings {
  readonly url: string | null;
  readonly refreshIntervalMs: number;
  readonly timeoutMs: number;
  readonly whenUnreachable: "keep-last" | "deny" | "allow";
}

export interface HttpAuthorizerOptions {
  /** Refresh rounds an unused entry survives (default 10). */
  readonly evictAfterRefreshes?: number;
  /** Lookups in flight at once during a refresh round (default 8). */
  readonly refreshConcurrency?: number;
}

const UNKNOWN = 0;
const ALLOW = 1;
const DENY = 2;

class Entry {
  readonly principal: string;
  readonly store: string;
  readonly method: AuthMethod;
  /** UNKNOWN until the first lookup settles. */
  answer = UNKNOWN;
  /** Whether the authority itself ever answered for this key. */
  answered = false;
  pending: Promise<boolean> | null = null;
  lastAttemptMs = 0;
  /** Refresh rounds since a request last asked for this key. */
  idleRounds = 0;

  constructor(principal: string, store: string, method: AuthMethod) {
    this.principal = principal;
    this.store = store;
    this.method = method;
  }
}

/** get and batchGet entries of one principal and store. */
type MethodEntries = [Entry | undefined, Entry | undefined];

class AuthorityError extends Error {}

export class HttpAuthorizer implements Authorizer {
  readonly #settings: HttpAuthorizerSettings;
  readonly #url: URL;
  readonly #evictAfter: number;
  readonly #concurrency: number;
  readonly #retryMs: number;
  /** principal -> store -> [get, batchGet]: no composite keys built per request. */
  readonly #cache = new Map<string, Map<string, MethodEntries>>();
  readonly #inFlight = new Set<AbortController>();
  readonly #log = logger("auth");
  #timer: ReturnType<typeof setInterval> | null = null;
  #refreshing = false;
  #closed = false;

  constructor(settings: HttpAuthorizerSettings, options: HttpAuthorizerOptions = {}) {
    if (settings.url === null) {
      throw new TypeError('auth.http.url is required when auth.authorizer is "http"');
    }
    this.#settings = settings;
    this.#url = new URL(settings.url);
    this.#evictAfter = options.evictAfterRefreshes ?? 10;
    this.#concurrency = options.refreshConcurrency ?? 8;
    this.#retryMs = Math.min(settings.refreshIntervalMs, 1000);
    this.#timer = setInterval(
      loopTasks.timed("authorizer-refresh", () => void this.refreshNow()),
      settings.refreshIntervalMs,
    );
  }

  /** Cached keys, for status pages and tests. */
  get size(): number {
    let n = 0;
    for (const stores of this.#cache.values()) {
      for (const pair of stores.values()) n += (pair[0] ? 1 : 0) + (pair[1] ? 1 : 0);
    }
    return n;
  }

  check(principal: string, store: string, method: AuthMethod): boolean | Promise<boolean> {
    let stores = this.#cache.get(principal);
    if (stores === undefined) {
      stores = new Map();
      this.#cache.set(principal, stores);
    }
    let pair = stores.get(store);
    if (pair === undefined) {
      pair = [undefined, undefined];
      stores.set(store, pair);
    }
    const slot = method === "get" ? 0 : 1;
    let entry = pair[slot];
    if (entry === undefined) {
      entry = new Entry(principal, store, method);
      pair[slot] = entry;
    }
    entry.idleRounds = 0;
    if (entry.answer !== UNKNOWN) {
      if (!entry.answered && entry.pending === null) this.#maybeRetry(entry);
      return entry.answer === ALLOW;
    }
    return entry.pending ?? this.#lookup(entry);
  }

  /** Runs one refresh round now (the timer does this every refreshIntervalMs). */
  async refreshNow(): Promise<void> {
    if (this.#refreshing || this.#closed) return;
    this.#refreshing = true;
    try {
      const due: Entry[] = [];
      for (const [principal, stores] of this.#cache) {
        for (const [store, pair] of stores) {
          for (let slot = 0; slot < 2; slot++) {
            const entry = pair[slot];
            if (entry === undefined) continue;
            if (++entry.idleRounds > this.#evictAfter) {
              pair[slot] = undefined;
            } else if (entry.pending === null) {
              due.push(entry);
            }
          }
          if (pair[0] === undefined && pair[1] === undefined) stores.delete(store);
        }
        if (stores.size === 0) this.#cache.delete(principal);
      }
      let next = 0;
      const worker = async () => {
        while (next < due.length && !this.#closed) await this.#lookup(due[next++]);
      };
      await Promise.all(Array.from({ length: Math.min(this.#concurrency, due.length) }, worker));
    } finally {
      this.#refreshing = false;
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const controller of this.#inFlight) controller.abort();
  }

  #maybeRetry(entry: Entry): void {
    const now = performance.now();
    if (now - entry.lastAttemptMs >= this.#retryMs) void this.#lookup(entry);
  }

  /** Asks the authority and settles the entry; never rejects. */
  #lookup(entry: Entry): Promise<boolean> {
    entry.lastAttemptMs = performance.now();
    const pending = this.#ask(entry).then(
      (allow) => {
        entry.answer = allow ? ALLOW : DENY;
        entry.answered = true;
        return allow;
      },
      (error) => {
        const policy = this.#settings.whenUnreachable;
        if (policy === "allow") entry.answer = ALLOW;
        else if (policy === "deny" || entry.answer === UNKNOWN) entry.answer = DENY;
        this.#log.warn(
          "Authority lookup failed for {principal} on {store} ({method}): {error}; {policy}",
          { principal: entry.principal, store: entry.store, method: entry.method, error, policy },
        );
        return entry.answer === ALLOW;
      },
    ).finally(() => {
      entry.pending = null;
    });
    entry.pending = pending;
    return pending;
  }

  async #ask(entry: Entry): Promise<boolean> {
    if (this.#closed) throw new AuthorityError("Authorizer is closed");
    const url = new URL(this.#url);
    url.searchParams.set("principal", entry.principal);
    url.searchParams.set("store", entry.store);
    url.searchParams.set("method", entry.method);
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.#settings.timeoutMs);
    try {
      const response = await fetch(url, { signal: controller.signal });
      const text = await response.text();
      if (response.status !== 200) {
        throw new AuthorityError(`Authority answered HTTP ${response.status}`);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new AuthorityError(`Authority answered with a body that is not JSON`);
      }
      const allow = (body as { allow?: unknown } | null)?.allow;
      if (typeof allow !== "boolean") {
        throw new AuthorityError('Authority answer has no boolean "allow"');
      }
      return allow;
    } catch (e) {
      if (controller.signal.aborted && !this.#closed) {
        throw new AuthorityError(`Authority did not answer within ${this.#settings.timeoutMs} ms`);
      }
      throw e;
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }
}
