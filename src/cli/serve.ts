/**
 * `rialto serve`: load the config (flags over file over defaults), start the server,
 * stop it gracefully on SIGTERM or SIGINT.
 */
import { parseArgs } from "node:util";
import { applyOverrides, type ConfigOverrides, defaultConfig } from "../config/schema.ts";
import { ConfigWatcher } from "../config/watcher.ts";
import { publishServer } from "../config/published_server.ts";
import { logger, setupLogging } from "../log.ts";
import { type RialtoServer, startServer } from "../server.ts";
import { HelperThreads } from "../helper_threads.ts";

const log = logger("serve");

const HELP = `Usage: rialto serve [--config FILE] [--data-dir DIR] [--grpc-port N] [--admin-port N]
                    [--http-port N] [--transport grpc-js|native] [--workers N]

Serves com.linkedin.venice.protocols.VeniceReadService over gRPC from the Venice data
dir (<data dir>/rocksdb/<store>_v<N>/<store>_v<N>_<partition>).

  --config FILE      YAML config (see config/rialto.example.yaml); watched and
                     applied live when it changes. Without it the embedded defaults
                     serve every store version under the data dir.
  --data-dir DIR     overrides dataDir
  --grpc-port N      overrides grpc.port (0 picks a free port)
  --admin-port N     overrides admin.port (0 picks a free port)
  --http-port N      overrides http.port: the Venice-compatible HTTP port a Fast
                     Client bootstraps from (/metadata, /dictionary, /health,
                     /discover_cluster, /value_schema) in a standalone tier
  --transport T      overrides grpc.transport: grpc-js (the reference) or native
                     (Rialto's own HTTP/2 server on Deno.listen)
  --workers N        overrides grpc.workers: event loops (worker isolates) serving
                     the native transport, all accepting on the gRPC port; default
                     one per CPU, 1 serves from the main isolate alone. Ignored
                     with grpc-js. Needs --unstable-net (SO_REUSEPORT).
`;

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`${flag} must be a port number from 0 to 65535, not "${value}"`);
  }
  return n;
}

function workers(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new RangeError(`--workers must be a whole number from 1 to 256, not "${value}"`);
  }
  return n;
}

function transport(value: string | undefined): "grpc-js" | "native" | undefined {
  if (value === undefined || value === "grpc-js" || value === "native") return value;
  throw new RangeError(`--transport must be grpc-js or native, not "${value}"`);
}

export async function main(args: string[]): Promise<number> {
  let values;
  let overrides: ConfigOverrides;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: "string" },
        "data-dir": { type: "string" },
        "grpc-port": { type: "string" },
        "admin-port": { type: "string" },
        "http-port": { type: "string" },
        transport: { type: "string" },
        workers: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
    overrides = {
      dataDir: values["data-dir"],
      grpcPort: port(values["grpc-port"], "--grpc-port"),
      adminPort: port(values["admin-port"], "--admin-port"),
      httpPort: port(values["http-port"], "--http-port"),
      transport: transport(values.transport),
      workers: workers(values.workers),
    };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }

  let watcher: ConfigWatcher | undefined;
  let server: RialtoServer;
  let withdraw: (() => Promise<void>) | undefined;
  let helpers: HelperThreads | null = null;
  try {
    if (values.config) {
      watcher = await ConfigWatcher.open({ path: values.config, overrides });
    }
    const config = watcher?.config ?? applyOverrides(defaultConfig(), overrides);
    await setupLogging(config.logging.level);
    server = await startServer(config, { watcher });
    // V8's helper threads compile the read path as it gets hot and share the serving core:
    // normal priority while they have work, SCHED_IDLE after (helper_threads.ts).
    helpers = HelperThreads.start();
    if (values.config) {
      withdraw = await publishServer(values.config, {
        pid: Deno.pid,
        adminHost: config.admin.host,
        adminPort: server.adminPort,
        grpcPort: server.grpcPort,
        startedAt: new Date().toISOString(),
      }).catch((error) => {
        log.warn("Cannot publish where this server listens beside {config}: {error}", {
          config: values.config,
          error,
        });
        return undefined;
      });
    }
    // One line on stdout for whoever started us (tests, scripts) to learn the ports.
    console.log(
      JSON.stringify({
        event: "listening",
        grpcPort: server.grpcPort,
        adminPort: server.adminPort,
        httpPort: server.httpPort,
      }),
    );
  } catch (error) {
    helpers?.stop();
    await watcher?.close();
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }

  const stopped = Promise.withResolvers<void>();
  const stop = (signal: Deno.Signal) => {
    log.info("Received {signal}: draining", { signal });
    stopped.resolve();
  };
  const onTerm = () => stop("SIGTERM");
  const onInt = () => stop("SIGINT");
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  await stopped.promise;
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGINT", onInt);
  helpers?.stop();
  await withdraw?.();
  await server.close();
  await watcher?.close();
  return 0;
}
