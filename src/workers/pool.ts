/**
 * The main isolate's side of the worker isolates. It stays the sole owner of databases
 * (the StoreRegistry), the config, the read quota (its SharedArrayBuffer) and discovery;
 * the pool starts the workers, tells them which versions to serve (`install`) and which
 * to drop (`retire`, acknowledged before the registry closes anything), forwards config
 * reloads, collects their metrics, and drains them on close.
 *
 * Port sharing: the main isolate binds the gRPC port first with SO_REUSEPORT (so port 0
 * becomes a real port), every worker binds the same port, then the main isolate lets
 * its own listener go, before the server is announced: it never accepts a connection.
 */
import type { RialtoConfig } from "../config/schema.ts";
import { logger } from "../log.ts";
import { loopTasks } from "../metrics/loop_tasks.ts";
import { type QuotaHandle, ReadQuota } from "../quota/mod.ts";
import type { VersionPeers } from "../storage/registry.ts";
import type { StoreVersion } from "../storage/store_version.ts";
import type { FromWorker, InstalledVersion, ToWorker, WorkerSnapshot } from "./protocol.ts";

const log = logger("workers");

/** Store-versions the shared quota can track at once (ReadQuota's default). */
const MAX_STORE_VERSIONS = 4096;
/** Longest wait for a worker to start and bind the port. */
const START_TIMEOUT_MS = 30_000;
/** Longest wait for a worker to acknowledge a retired version. */
const RETIRE_TIMEOUT_MS = 10_000;
/** Longest wait for a worker to acknowledge a version installed. */
const INSTALL_TIMEOUT_MS = 10_000;
/** Extra time past the drain grace period for a worker to say it has closed. */
const CLOSE_SLACK_MS = 5_000;

export interface WorkerPoolOptions {
  readonly count: number;
  readonly config: RialtoConfig;
  /** The module each worker runs; tests may not need it, `worker.ts` by default. */
  readonly workerUrl?: string;
}

class WorkerHandle {
  readonly index: number;
  readonly worker: Worker;
  alive = true;
  readonly #pending = new Map<number, PromiseWithResolvers<unknown>>();
  #seq = 0;

  constructor(index: number, url: string) {
    this.index = index;
    this.worker = new Worker(url, { type: "module", name: `rialto-worker-${index}` });
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const started = performance.now();
      this.#onMessage(event.data);
      loopTasks.note(`message:${event.data.type}`, performance.now() - started);
    };
    this.worker.onerror = (event) => {
      // An uncaught error ends the worker; the server goes on with the others.
      event.preventDefault();
      log.error("Worker {index} died: {error}", { index, error: event.message });
      this.#died(new Error(`Worker ${index} died: ${event.message}`));
    };
  }

  post(message: ToWorker): void {
    if (this.alive) this.worker.postMessage(message);
  }

  /** Sends a request and waits for its reply, at most `timeoutMs`. */
  call<T>(make: (seq: number) => ToWorker, timeoutMs: number): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`Worker ${this.index} is not running`));
    const seq = ++this.#seq;
    const reply = Promise.withResolvers<unknown>();
    this.#pending.set(seq, reply);
    this.worker.postMessage(make(seq));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Worker ${this.index} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    return Promise.race([reply.promise, timeout]).finally(() => {
      clearTimeout(timer);
      this.#pending.delete(seq);
    }) as Promise<T>;
  }

  terminate(): void {
    if (!this.alive) return;
    this.worker.terminate();
    this.#died(new Error(`Worker ${this.index} was stopped`));
  }

  #onMessage(message: FromWorker): void {
    const pending = this.#pending.get(message.seq);
    if (pending === undefined) return;
    if (message.type === "reply") pending.resolve(message.value);
    else pending.reject(new Error(message.error));
  }

  #died(error: Error): void {
    this.alive = false;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

export class WorkerPool implements VersionPeers {
  readonly #workers: WorkerHandle[];
  readonly #quota: ReadQuota;
  /** Versions installed in the workers and not yet retired, by id. */
  readonly #installed = new Map<number, { version: StoreVersion; handle: QuotaHandle }>();
  #port = 0;
  #closing: Promise<void> | null = null;

  private constructor(workers: WorkerHandle[], quota: ReadQuota) {
    this.#workers = workers;
    this.#quota = quota;
  }

  /**
   * Starts `count` workers and sets each up (config, the server's one read quota, made
   * here and shared); none listens yet. Install versions (`StoreRegistry.setPeers`),
   * then `listen`.
   */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const url = options.workerUrl ?? new URL("./worker.ts", import.meta.url).href;
    const quota = new ReadQuota(options.config.quota, options.config.stores, {
      maxStoreVersions: MAX_STORE_VERSIONS,
    });
    const workers = Array.from({ length: options.count }, (_, i) => new WorkerHandle(i, url));
    const pool = new WorkerPool(workers, quota);
    try {
      await Promise.all(workers.map((w) =>
        w.call((seq) => ({
          type: "start",
          seq,
          index: w.index,
          config: options.config,
          quota: { buffer: quota.sharedBuffer, maxStoreVersions: MAX_STORE_VERSIONS },
        }), START_TIMEOUT_MS)
      ));
    } catch (error) {
      for (const worker of workers) worker.terminate();
      throw error;
    }
    return pool;
  }

  /** The server's read quota (its buckets live in shared memory). */
  get quota(): ReadQuota {
    return this.#quota;
  }

  get count(): number {
    return this.#workers.length;
  }

  /** Workers still running. */
  get alive(): number {
    return this.#workers.filter((w) => w.alive).length;
  }

  /** Whether any worker still runs (VersionPeers). */
  get running(): boolean {
    return this.#workers.some((w) => w.alive);
  }

  /** The gRPC port every worker accepts on (after `listen`). */
  get port(): number {
    return this.#port;
  }

  /**
   * Binds `hostname:port` (0 picks one) in every worker with SO_REUSEPORT; resolves with
   * the port once all of them accept on it.
   */
  async listen(hostname: string, port: number): Promise<number> {
    const holder = Deno.listen({ hostname, port, reusePort: true });
    try {
      const bound = (holder.addr as Deno.NetAddr).port;
      const ports = await Promise.all(
        this.#workers.map((w) =>
          w.call<number>(
            (seq) => ({ type: "listen", seq, hostname, port: bound }),
            START_TIMEOUT_MS,
          )
        ),
      );
      if (ports.some((p) => p !== bound)) {
        throw new Error(`Workers bound ports ${ports.join(", ")}, not ${bound}`);
      }
      this.#port = bound;
      return bound;
    } finally {
      // Connections would wait forever in a backlog nobody accepts from.
      holder.close();
    }
  }

  /** Resolves once every running worker serves `version` (or gave no answer in time). */
  async install(version: StoreVersion): Promise<void> {
    const handle = this.#quota.forStoreVersion(version.resource, version.store);
    const installed: InstalledVersion = { version: version.share(), quotaBucket: handle.bucket };
    this.#installed.set(version.id, { version, handle });
    await Promise.all(
      this.#workers.filter((w) => w.alive).map((w) =>
        w.call((seq) => ({ type: "install", seq, installed }), INSTALL_TIMEOUT_MS).catch(
          (error) =>
            log.warn("A worker did not acknowledge installing {resource}: {error}", {
              resource: version.resource,
              error,
            }),
        )
      ),
    );
  }

  async retire(version: StoreVersion): Promise<void> {
    const entry = this.#installed.get(version.id);
    if (entry === undefined) return;
    this.#installed.delete(version.id);
    // Safety does not hang on these acks (the shared retired flag and lease count do);
    // they make every worker forget the version before its handles go.
    await Promise.all(
      this.#workers.filter((w) => w.alive).map((w) =>
        w.call((seq) => ({ type: "retire", seq, id: version.id }), RETIRE_TIMEOUT_MS).catch(
          (error) =>
            log.warn("A worker did not acknowledge retiring {resource}: {error}", {
              resource: version.resource,
              error,
            }),
        )
      ),
    );
    const stillServed = [...this.#installed.values()].some((e) => e.handle === entry.handle);
    if (!stillServed) this.#quota.release(entry.handle);
  }

  /** A reloaded config: the shared quota is reshaped here, the rest in each worker. */
  applyConfig(config: RialtoConfig): void {
    this.#quota.update(config.quota, config.stores);
    for (const worker of this.#workers) worker.post({ type: "config", config });
  }

  /** Every running worker's snapshot; a worker that does not answer in time is left out. */
  async snapshots(timeoutMs = 2_000): Promise<WorkerSnapshot[]> {
    const answers = await Promise.allSettled(
      this.#workers.filter((w) => w.alive).map((w) =>
        w.call<WorkerSnapshot>((seq) => ({ type: "snapshot", seq }), timeoutMs)
      ),
    );
    const out: WorkerSnapshot[] = [];
    for (const answer of answers) {
      if (answer.status === "fulfilled") out.push(answer.value);
      else log.warn("No metrics from a worker: {error}", { error: answer.reason });
    }
    return out;
  }

  /** Drains every worker (stop accepting, finish calls within `graceMs`) and ends them. */
  close(graceMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(
        this.#workers.filter((w) => w.alive).map(async (w) => {
          try {
            await w.call((seq) => ({ type: "close", seq, graceMs }), graceMs + CLOSE_SLACK_MS);
          } catch (error) {
            log.warn("Worker {index} did not close cleanly: {error}", { index: w.index, error });
          }
          w.terminate();
        }),
      );
    })();
    return this.#closing;
  }
}
