/**
 * Rialto as a library: `startServer` takes a config and returns a running server that
 * `close()` drains and stops. `rialto serve` only parses flags, loads the config and
 * wires signals around it (the shape of mini-redis's server).
 *
 * Who owns what: the StoreRegistry owns every database; the ReadService owns the read
 * path; the transport owns connections. `close()` stops them in that reverse order:
 * stop accepting and drain calls, then close databases.
 *
 * With the native transport and `grpc.workers` > 1, the read path runs in worker
 * isolates (src/workers/) that all accept on the gRPC port; this isolate keeps the
 * registry, config, quota, discovery and admin port, and merges the workers' metrics.
 */
import { loadRocksDB } from "../ffi/mod.ts";
import { type AdminServer, serveAdmin } from "./admin/http.ts";
import type { RialtoConfig } from "./config/schema.ts";
import type { ConfigWatcher } from "./config/watcher.ts";
import { parseResourceName } from "./storage/layout.ts";
import { logger } from "./log.ts";
import { createMutualTlsCredentials, type MutualTls } from "./auth/mod.ts";
import { ReadMetrics, RuntimeMetrics } from "./metrics/mod.ts";
import { partitionPieces, type VersionPartitions } from "./metrics/partitions.ts";
import { runInSlices } from "./metrics/sliced.ts";
import { renderAcceptFailures } from "./metrics/transport.ts";
import { renderWorkerMetrics, workerCount, WorkerPool } from "./workers/mod.ts";
import { versionOverrides } from "./storage/overrides.ts";
import { buildAnnouncements, Discovery, discoveryReport, serverIdentity } from "./discovery/mod.ts";
import { Admission } from "./read/admission.ts";
import { readLimits } from "./read/limits.ts";
import { ReadService } from "./read/read_service.ts";
import { READ_SERVICE_PATHS, readServiceRouter } from "./read/router.ts";
import { type RegistrySettings, StoreRegistry } from "./storage/registry.ts";
import { serveGrpcJs } from "./transport/grpc_js.ts";
import { nativeTlsFromSettings, serveNative } from "./transport/native/mod.ts";
import type { TransportServer, UnaryRouter } from "./transport/types.ts";
import { loopTasks } from "./metrics/loop_tasks.ts";
import { startTier, type Tier } from "./tier/mod.ts";

const log = logger("server");

/** How often the data dir is scanned for new and removed versions. */
export const DATA_DIR_SCAN_INTERVAL_MS = 1000;

export interface StartOptions {
  /** Scan the data dir for pushes every this many ms; 0 turns scanning off. */
  readonly scanIntervalMs?: number;
  /** The hot-reloaded config file, when there is one; the server follows its changes. */
  readonly watcher?: ConfigWatcher;
}

/**
 * Stores the config names that have no version on disk (open or not). Not an error:
 * operators provision quota and ACLs before a push lands; a typo shows here, in /status
 * and in a warning.
 */
function warnStoresWithoutVersions(stores: readonly string[]): void {
  for (const store of stores) {
    log.warn(
      'The config names store "{store}", which has no version on disk yet: its settings apply once one lands',
      { store },
    );
  }
}

function storesWithoutVersions(config: RialtoConfig, registry: StoreRegistry): string[] {
  const onDisk = new Set([
    ...registry.storeNames(),
    ...registry.notServed().map((v) => parseResourceName(v.resource)?.store),
  ]);
  return Object.keys(config.stores).filter((name) => !onDisk.has(name)).sort();
}

export interface RialtoServer {
  readonly grpcPort: number;
  readonly adminPort: number;
  /** The Venice-compatible HTTP port, null when `http.port` is not set. */
  readonly httpPort: number | null;
  readonly registry: StoreRegistry;
  readonly discovery: Discovery;
  /** Applies a new config's live sections (limits, overrides). */
  applyConfig(config: RialtoConfig): Promise<void>;
  /** Stops accepting, drains in-flight calls, closes every database. Safe twice. */
  close(): Promise<void>;
}

export function registrySettings(config: RialtoConfig): RegistrySettings {
  const overrides = versionOverrides(config);
  return {
    dataDir: config.dataDir,
    mode: config.storage.openMode,
    secondaryDir: config.storage.secondaryDir,
    blockCacheBytes: config.storage.blockCacheBytes,
    overrides,
    maxStalenessMs: {
      default: config.storage.maxStalenessMs,
      stores: Object.fromEntries(
        Object.entries(config.stores).flatMap(([store, settings]) =>
          settings.maxStalenessMs === undefined ? [] : [[store, settings.maxStalenessMs]]
        ),
      ),
    },
  };
}

/** How many worker isolates serve gRPC: 0 means this isolate serves alone. */
function workersFor(config: RialtoConfig): number {
  const count = workerCount(config.grpc.workers);
  if (config.grpc.transport !== "native") {
    if (config.grpc.workers !== null && config.grpc.workers > 1) {
      log.info("grpc.workers ({workers}) is ignored: grpc-js serves from one isolate", {
        workers: config.grpc.workers,
      });
    }
    return 0;
  }
  return count > 1 ? count : 0;
}

/** Worker isolates as one transport: they share the port, the pool owns them. */
async function startWorkers(
  config: RialtoConfig,
  count: number,
  registry: StoreRegistry,
): Promise<{ pool: WorkerPool; transport: TransportServer }> {
  const pool = await WorkerPool.start({ count, config });
  try {
    registry.setPeers(pool);
    const port = await pool.listen(config.grpc.host, config.grpc.port);
    return { pool, transport: { port, close: (graceMs) => pool.close(graceMs) } };
  } catch (error) {
    await pool.close(0);
    throw error;
  }
}

/**
 * The gRPC transport the config names: grpc-js (the reference) or the native HTTP/2
 * server, each with mutual TLS when `grpc.tls.enabled`.
 */
async function startTransport(
  config: RialtoConfig,
  router: UnaryRouter,
  onTls: (tls: MutualTls) => void,
): Promise<TransportServer> {
  if (config.grpc.transport === "native") {
    return await serveNative({
      hostname: config.grpc.host,
      port: config.grpc.port,
      router,
      maxMessageBytes: config.grpc.maxMessageBytes,
      io: config.grpc.io,
      tls: nativeTlsFromSettings(config.grpc.tls),
    });
  }
  let credentials;
  if (config.grpc.tls.enabled) {
    const tls = await createMutualTlsCredentials(config.grpc.tls);
    onTls(tls);
    credentials = tls.credentials;
  }
  return await serveGrpcJs({
    hostname: config.grpc.host,
    port: config.grpc.port,
    router,
    paths: Object.values(READ_SERVICE_PATHS),
    maxMessageBytes: config.grpc.maxMessageBytes,
    credentials,
  });
}

export async function startServer(
  initial: RialtoConfig,
  options: StartOptions = {},
): Promise<RialtoServer> {
  let config = initial;
  loadRocksDB({ libraryPath: config.storage.rocksdbLibrary ?? undefined });
  const registry = new StoreRegistry(registrySettings(config));
  let ready = false;
  const startedAt = new Date().toISOString();
  const timers: ReturnType<typeof setInterval>[] = [];
  let transport: TransportServer | undefined;
  let admin: AdminServer | undefined;
  let tier: Tier | undefined;
  let tls: MutualTls | undefined;
  const runtime = new RuntimeMetrics();
  const metrics = new ReadMetrics({ runtime });
  const workers = workersFor(config);
  let pool: WorkerPool | undefined;
  /** Each version's partition reports, made as the metrics reach it. */
  function* versionPartitions(): Generator<VersionPartitions> {
    for (const v of registry.versions()) {
      yield { store: v.store, version: v.version, partitions: v.partitionReports() };
    }
  }
  /**
   * This isolate's metrics, or with workers, theirs added up; then the partitions'. Made a
   * slice at a time (metrics/sliced.ts): without workers, this isolate serves the reads.
   */
  const renderMetrics = async (): Promise<string> => {
    let read = metrics;
    let middle = renderAcceptFailures(transport?.acceptFailures ?? 0);
    if (pool !== undefined) {
      const snapshots = await pool.snapshots();
      read = new ReadMetrics({ runtime });
      for (const snapshot of snapshots) read.merge(snapshot.metrics);
      const acceptFailures = snapshots.reduce((sum, w) => sum + w.acceptFailures, 0);
      middle = renderWorkerMetrics(snapshots) + renderAcceptFailures(acceptFailures);
    }
    const lines: string[] = [];
    const partitions: string[] = [];
    await runInSlices(
      (function* () {
        yield* read.pieces(lines);
        yield* partitionPieces(versionPartitions(), partitions);
      })(),
      "metrics-render",
    );
    return `${lines.join("\n")}\n${middle}${partitions.join("\n")}\n`;
  };
  /** Per worker: its index and the calls it was given (null without workers). */
  const workerStatus = async () =>
    pool === undefined
      ? null
      : (await pool.snapshots()).map((w) => ({ index: w.index, requests: w.requests }));
  const admission = new Admission(config);
  const discovery = Discovery.open(config);
  /** Stops everything started so far, in reverse order; databases last. */
  const stopAll = async (graceMs?: number) => {
    // The tier's view reads through discovery: stop it first. Then withdraw, so clients
    // stop choosing this server while it drains.
    await tier?.close();
    await discovery.close();
    for (const timer of timers) clearInterval(timer);
    await transport?.close(graceMs);
    tls?.provider.close();
    await admin?.close();
    admission.close();
    runtime.stop();
    await registry.close();
  };
  let identity: ReturnType<typeof serverIdentity> | undefined;
  /** Makes the announcements match what is served now (mode, enabled stores, versions). */
  const announce = () => {
    if (identity === undefined) return;
    const held: Record<string, readonly number[]> = {};
    const compression: Record<string, number> = {};
    for (const version of registry.versions()) {
      const served = version.servedPartitions();
      if (served.length === 0) continue;
      held[version.resource] = served;
      compression[version.resource] = version.settings.compressionStrategy;
    }
    discovery.publish(buildAnnouncements(config, identity, held, ready, compression));
  };

  try {
    // Versions it cannot open yet are logged by the registry and listed in /status.
    await registry.sync();
    const read = new ReadService({
      registry,
      limits: readLimits(config),
      gate: admission,
      metrics,
    });
    runtime.start();

    admin = await serveAdmin(config.admin.host, config.admin.port, {
      health: () => ({ ready, versions: registry.versions().length }),
      status: async () => ({
        config: options.watcher?.status() ??
          { generation: 0, sha256: "", lastReload: null, path: null, pendingRestart: [] },
        startedAt,
        ready,
        grpc: {
          port: transport?.port ?? null,
          transport: config.grpc.transport,
          workers: await workerStatus(),
        },
        tier: tier?.status() ?? null,
        storage: {
          openMode: config.storage.openMode,
          notServed: registry.notServed(),
          configuredWithoutVersions: storesWithoutVersions(config, registry),
        },
        stores: registry.storeNames().map((name) => ({
          name,
          enabled: admission.isEnabled(name),
          versions: registry.versions().filter((v) => v.store === name).map((v) => ({
            resource: v.resource,
            version: v.version,
            partitions: v.partitions,
            compressionStrategy: v.settings.compressionStrategy,
            chunked: v.settings.chunked,
            hybrid: v.hybrid,
            partitionStates: v.partitionReports(),
          })),
        })),
      }),
      discovery: () => discoveryReport(discovery),
      metrics: renderMetrics,
    });

    if (config.http.port !== null) {
      tier = await startTier(() => config, {
        discovery,
        localDictionary: (resource) => {
          const version = registry.lookup(resource);
          const held = version !== undefined && version.servedPartitions().length > 0;
          return { held, dictionary: held ? version.settings.compressionDictionary : null };
        },
      });
    }

    if (workers > 0) {
      ({ pool, transport } = await startWorkers(config, workers, registry));
    } else {
      transport = await startTransport(config, readServiceRouter(read.handle), (made) => {
        tls = made;
      });
    }

    const scanEvery = options.scanIntervalMs ?? DATA_DIR_SCAN_INTERVAL_MS;
    if (scanEvery > 0) {
      timers.push(setInterval(
        loopTasks.timed("data-dir-scan", () => {
          void tier?.rescan().catch((error) =>
            log.error("Store descriptor scan failed: {error}", { error })
          );
          registry.sync().then(
            (result) => {
              if (!result.opened.length && !result.retired.length) return;
              admission.retainVersions(new Set(registry.versions().map((v) => v.resource)));
              announce();
            },
            (error) => log.error("Data dir scan failed: {error}", { error }),
          );
        }),
        scanEvery,
      ));
    }
    // Catch-up (secondary mode) and each partition's serving state: end of push, staleness.
    timers.push(setInterval(
      loopTasks.timed("catch-up", () => {
        if (registry.refresh()) announce();
      }),
      config.storage.catchUpIntervalMs,
    ));
    warnStoresWithoutVersions(storesWithoutVersions(config, registry));
    ready = true;
    identity = serverIdentity(config, {
      grpcPort: transport.port,
      httpPort: tier?.httpPort ?? null,
      startedAt: new Date(startedAt),
    });
    announce();
    log.info(
      "Serving {versions} store versions from {dataDir}: gRPC on {grpc} ({loops} event loops), admin on {admin}",
      {
        versions: registry.versions().length,
        dataDir: config.dataDir,
        grpc: transport.port,
        loops: pool?.count ?? 1,
        admin: admin.port,
      },
    );

    const unsubscribe = options.watcher?.subscribe((next) => server.applyConfig(next));
    let closing: Promise<void> | undefined;
    const grpcPort = transport.port;
    const adminPort = admin.port;
    const server: RialtoServer = {
      grpcPort,
      adminPort,
      httpPort: tier?.httpPort ?? null,
      registry,
      discovery,
      async applyConfig(next: RialtoConfig): Promise<void> {
        const before = new Set(storesWithoutVersions(config, registry));
        config = next;
        warnStoresWithoutVersions(
          storesWithoutVersions(next, registry).filter((name) => !before.has(name)),
        );
        registry.updateSettings(registrySettings(next));
        registry.refresh();
        admission.update(next);
        pool?.applyConfig(next);
        read.setLimits(readLimits(next));
        await discovery.reconfigure(next);
        announce();
      },
      close(): Promise<void> {
        closing ??= (async () => {
          ready = false;
          unsubscribe?.();
          await stopAll();
          log.info("Stopped");
        })();
        return closing;
      },
    };
    return server;
  } catch (error) {
    await stopAll(0);
    throw error;
  }
}
