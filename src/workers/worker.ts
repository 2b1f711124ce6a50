/**
 * A worker isolate: one event loop serving gRPC (the native transport) on the port every
 * worker shares through SO_REUSEPORT, reading the databases the main isolate opened.
 * It owns its transport, its ReadService and its metrics; it never opens or closes a
 * database (see `AdoptedVersions`). Started and driven by `WorkerPool`.
 */
import { loadRocksDB } from "../../ffi/mod.ts";
import { deepFreeze, type RialtoConfig } from "../config/schema.ts";
import { logger, setupLogging } from "../log.ts";
import { loopTasks } from "../metrics/loop_tasks.ts";
import { ReadMetrics, RuntimeMetrics } from "../metrics/mod.ts";
import { readLimits } from "../read/limits.ts";
import { ReadService } from "../read/read_service.ts";
import { readServiceRouter } from "../read/router.ts";
import { versionOverrides } from "../storage/overrides.ts";
import { nativeTlsFromSettings, serveNative } from "../transport/native/mod.ts";
import type { TransportServer, UnaryHandler } from "../transport/types.ts";
import { isolateMemory } from "./metrics.ts";
import { AdoptedVersions } from "./adopted_versions.ts";
import type { FromWorker, SharedQuota, ToWorker, WorkerSnapshot } from "./protocol.ts";
import { WorkerGate } from "./worker_gate.ts";

const log = logger("worker");

/** The worker global scope, typed by what this module uses of it. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
};

class WorkerServer {
  readonly index: number;
  readonly versions = new AdoptedVersions();
  readonly metrics = new ReadMetrics();
  readonly runtime = new RuntimeMetrics();
  readonly gate: WorkerGate;
  readonly read: ReadService;
  transport: TransportServer | null = null;
  requests = 0;

  constructor(index: number, config: RialtoConfig, quota: SharedQuota) {
    this.index = index;
    this.versions.applyOverrides(versionOverrides(config));
    this.gate = new WorkerGate(config, quota, (resource) => this.versions.quotaBucket(resource));
    this.read = new ReadService({
      registry: this.versions,
      limits: readLimits(config),
      gate: this.gate,
      metrics: this.metrics,
    });
    this.runtime.start();
  }

  /** The read handler, counting the calls this worker was given. */
  readonly handle: UnaryHandler = (body, peer) => {
    this.requests++;
    return this.read.handle(body, peer);
  };

  async listen(config: RialtoConfig, hostname: string, port: number): Promise<number> {
    this.transport = await serveNative({
      hostname,
      port,
      router: readServiceRouter(this.handle),
      maxMessageBytes: config.grpc.maxMessageBytes,
      io: config.grpc.io,
      reusePort: true,
      // Each worker polls the certificate files itself.
      tls: nativeTlsFromSettings(config.grpc.tls),
    });
    return this.transport.port;
  }

  applyConfig(config: RialtoConfig): void {
    this.versions.applyOverrides(versionOverrides(config));
    this.gate.update(config);
    this.read.setLimits(readLimits(config));
  }

  snapshot(): WorkerSnapshot {
    return {
      index: this.index,
      requests: this.requests,
      metrics: this.metrics.snapshot(),
      eventLoopDelay: this.runtime.eventLoopDelay.data.slice(),
      stalls: [...this.runtime.stalls],
      acceptFailures: this.transport?.acceptFailures ?? 0,
      memory: isolateMemory(),
    };
  }

  async close(graceMs: number): Promise<void> {
    await this.transport?.close(graceMs);
    this.versions.clear();
    this.gate.close();
    this.runtime.stop();
  }
}

let server: WorkerServer | null = null;

async function handle(message: ToWorker): Promise<unknown> {
  switch (message.type) {
    case "start": {
      const config = deepFreeze(message.config);
      await setupLogging(config.logging.level);
      loadRocksDB({ libraryPath: config.storage.rocksdbLibrary ?? undefined });
      server = new WorkerServer(message.index, config, message.quota);
      configOf = config;
      return undefined;
    }
    case "install":
      server!.versions.install(message.installed);
      return undefined;
    case "listen":
      return await server!.listen(configOf!, message.hostname, message.port);
    case "retire":
      server!.versions.retire(message.id);
      return undefined;
    case "config":
      configOf = deepFreeze(message.config);
      server!.applyConfig(configOf);
      return undefined;
    case "snapshot":
      return server!.snapshot();
    case "close":
      await server?.close(message.graceMs);
      return undefined;
  }
}

let configOf: RialtoConfig | null = null;
// One message at a time, in order: an install is applied before a later listen.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (event) => {
  const message = event.data;
  queue = queue.then(async () => {
    const seq = "seq" in message ? message.seq : -1;
    try {
      const started = performance.now();
      const handled = handle(message); // Its synchronous part holds the loop.
      loopTasks.note(`message:${message.type}`, performance.now() - started);
      const value = await handled;
      if (seq >= 0) scope.postMessage({ type: "reply", seq, value });
      if (message.type === "close") scope.close();
    } catch (error) {
      log.error("Worker {index} failed at {type}: {error}", {
        index: server?.index ?? -1,
        type: message.type,
        error,
      });
      const text = error instanceof Error ? error.message : String(error);
      if (seq >= 0) scope.postMessage({ type: "failed", seq, error: text });
    }
  });
};
