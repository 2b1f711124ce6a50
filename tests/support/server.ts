/** Starting a real Rialto server for a test: port 0, a temp data dir, stopped in finally. */
import {
  applyOverrides,
  defaultConfig,
  type RialtoConfig,
  validateConfig,
} from "../../src/config/schema.ts";
import { type RialtoServer, type StartOptions, startServer } from "../../src/server.ts";
import { ReadClient } from "../../src/client/read_client.ts";

/** Deep-merges `patch` over `base` (objects merge; anything else replaces). */
function merge(base: unknown, patch: unknown): unknown {
  if (
    patch === null || typeof patch !== "object" || Array.isArray(patch) ||
    base === null || typeof base !== "object" || Array.isArray(base)
  ) return patch;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) out[key] = merge(out[key], value);
  return out;
}

/**
 * The defaults for `dataDir` on ports 0, with `patch` deep-merged over them and the
 * result validated by the config schema (so the patch gets the schema's defaults too).
 */
export function testConfig(dataDir: string, patch: Record<string, unknown> = {}): RialtoConfig {
  const base = applyOverrides(defaultConfig(), { dataDir, grpcPort: 0, adminPort: 0 });
  return validateConfig(merge(structuredClone(base), patch), "test config");
}

export interface TestServer extends AsyncDisposable {
  readonly server: RialtoServer;
  readonly address: string;
  readonly client: ReadClient;
}

/** Starts a server; `await using` stops it and its client. */
export async function startTestServer(
  dataDir: string,
  patch: Record<string, unknown> = {},
  options: StartOptions = {},
): Promise<TestServer> {
  const server = await startServer(
    testConfig(dataDir, { admin: { host: "127.0.0.1" }, grpc: { host: "127.0.0.1" }, ...patch }),
    options,
  );
  const address = `127.0.0.1:${server.grpcPort}`;
  const client = new ReadClient(address);
  return {
    server,
    address,
    client,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.close();
    },
  };
}
