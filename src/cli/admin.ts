/**
 * `rialto admin ...`: inspect and change a server's config file, then confirm from the
 * running server (GET /status on its admin port) that it applied the change.
 *
 * Exit codes: 0 done (and applied, for edits); 1 error (nothing written); 2 usage;
 * 3 no server answered (edits are written and apply when a server starts; reads show
 * the file instead); 4 a server answered but did not apply the file (it says why).
 */
import { parseArgs } from "node:util";
import { errorText, loadConfigFile } from "../config/load.ts";
import { setDiscoveryMode, setStoreEnabled } from "../config/edit.ts";
import { findPublishedServer } from "../config/published_server.ts";
import type { RialtoConfig } from "../config/schema.ts";

export const EXIT = { ok: 0, error: 1, usage: 2, noServer: 3, notApplied: 4 } as const;

/** Where output goes; tests capture it. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

const USAGE = `Usage: rialto admin <command> [--config FILE] [options]

Commands:
  stores                      List stores as the running server reports them
                              (or as the file says when no server answers)
  enable-store NAME           Set stores.NAME.enabled: true
  disable-store NAME          Set stores.NAME.enabled: false
  discovery-mode cluster|store
                              Set discovery.mode
  status                      Show the running server's status (or the file's summary)

Options:
  -c, --config FILE   Config file (default: $RIALTO_CONFIG or ./rialto.yaml)
      --timeout-ms N  How long to wait for the server to apply an edit (default 5000)
      --json          Print JSON (stores, status)
  -h, --help          Show this help

Edits keep the file's comments and layout, are validated before writing and written
atomically. Exit codes: 0 done, 1 error, 2 usage, 3 no server answered,
4 the server did not apply the change.`;

/** The subset of GET /status this CLI reads (the server owns the full shape). */
interface ServerStatus {
  config?: {
    generation?: number;
    sha256?: string;
    lastReload?: { ok?: boolean; error?: string; sha256?: string; at?: string };
  };
  stores?: { name: string; enabled: boolean; versions?: unknown[] }[];
  discovery?: unknown;
}

/**
 * http://host:port/status of the server running `configPath`: where it published that
 * it listens, else the admin address the config names (wildcards mean loopback).
 */
export async function statusUrl(config: RialtoConfig, configPath: string): Promise<string> {
  const published = await findPublishedServer(configPath);
  return adminUrl(
    published?.adminHost ?? config.admin.host,
    published?.adminPort ?? config.admin.port,
  );
}

function adminUrl(adminHost: string, port: number): string {
  let host = adminHost;
  if (host === "0.0.0.0") host = "127.0.0.1";
  if (host === "::") host = "::1";
  if (host.includes(":")) host = `[${host}]`;
  return `http://${host}:${port}/status`;
}

async function fetchStatus(url: string, timeoutMs: number): Promise<ServerStatus> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${url} answered HTTP ${response.status}`);
  }
  return await response.json() as ServerStatus;
}

export type Confirmation =
  | { readonly kind: "applied"; readonly status: ServerStatus }
  | { readonly kind: "no-server"; readonly reason: string }
  | { readonly kind: "not-applied"; readonly reason: string };

/** Polls the server until it reports `sha256` as applied, rejected it, or time runs out. */
export async function confirmApplied(
  url: string,
  sha256: string,
  timeoutMs: number,
): Promise<Confirmation> {
  const deadline = Date.now() + timeoutMs;
  let lastStatus: ServerStatus | null = null;
  let lastError = "";
  while (true) {
    try {
      const status = await fetchStatus(url, Math.max(200, Math.min(1000, deadline - Date.now())));
      lastStatus = status;
      if (status.config?.sha256 === sha256) return { kind: "applied", status };
      const reload = status.config?.lastReload;
      if (reload && reload.ok === false && reload.sha256 === sha256) {
        return {
          kind: "not-applied",
          reason: `the server rejected it and keeps generation ${status.config?.generation}: ${
            reload.error ?? "no reason given"
          }`,
        };
      }
    } catch (error) {
      lastError = errorText(error);
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (lastStatus === null) {
    return { kind: "no-server", reason: `no server answered at ${url} (${lastError})` };
  }
  const reload = lastStatus.config?.lastReload;
  return {
    kind: "not-applied",
    reason: `the server at ${url} still runs generation ${lastStatus.config?.generation} ` +
      `(sha256 ${lastStatus.config?.sha256?.slice(0, 12)}) after ${timeoutMs} ms` +
      (reload?.ok === false ? `; its last reload failed: ${reload.error}` : "") +
      "; is it watching a different file?",
  };
}

function printStores(io: CliIo, stores: NonNullable<ServerStatus["stores"]>): void {
  if (stores.length === 0) {
    io.out("(no stores)");
    return;
  }
  const width = Math.max(5, ...stores.map((s) => s.name.length));
  io.out(`${"STORE".padEnd(width)}  ENABLED  VERSIONS`);
  for (const s of stores) {
    const versions = (s.versions ?? []).map((v) =>
      typeof v === "object" && v !== null && "name" in v ? String(v.name) : String(v)
    );
    io.out(`${s.name.padEnd(width)}  ${String(s.enabled).padEnd(7)}  ${versions.join(", ")}`);
  }
}

async function edit(
  io: CliIo,
  configPath: string,
  timeoutMs: number,
  what: string,
  run: () => ReturnType<typeof setStoreEnabled>,
): Promise<number> {
  const result = await run();
  io.out(
    result.changed
      ? `${result.created ? "Created" : "Updated"} ${result.path}: ${what}`
      : `${result.path} already says ${what}`,
  );
  const url = await statusUrl(result.config, configPath);
  const confirmation = await confirmApplied(url, result.sha256, timeoutMs);
  switch (confirmation.kind) {
    case "applied":
      io.out(
        `Applied by the server at ${url} (generation ${confirmation.status.config?.generation})`,
      );
      return EXIT.ok;
    case "no-server":
      io.err(
        `Not confirmed: ${confirmation.reason}. The change applies when a server starts with ${configPath}.`,
      );
      return EXIT.noServer;
    case "not-applied":
      io.err(`Not applied: ${confirmation.reason}`);
      return EXIT.notApplied;
  }
}

/** `rialto admin ...`; returns the exit code. */
export async function main(args: string[], io: CliIo = consoleIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        config: { type: "string", short: "c" },
        "timeout-ms": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    io.err(`${errorText(error)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  const [command, ...rest] = positionals;
  const configPath = values.config ?? Deno.env.get("RIALTO_CONFIG") ?? "rialto.yaml";
  const timeoutMs = values["timeout-ms"] === undefined ? 5000 : Number(values["timeout-ms"]);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    io.err(`Invalid --timeout-ms "${values["timeout-ms"]}": expected milliseconds`);
    return EXIT.usage;
  }
  const expectArgs = (n: number, names: string) => {
    if (rest.length === n) return true;
    io.err(`rialto admin ${command} expects ${names}\n\n${USAGE}`);
    return false;
  };

  try {
    switch (command) {
      case "enable-store":
      case "disable-store": {
        if (!expectArgs(1, "a store name")) return EXIT.usage;
        const enabled = command === "enable-store";
        return await edit(
          io,
          configPath,
          timeoutMs,
          `stores.${rest[0]}.enabled: ${enabled}`,
          () => setStoreEnabled(configPath, rest[0], enabled),
        );
      }
      case "discovery-mode": {
        if (!expectArgs(1, "cluster or store")) return EXIT.usage;
        const mode = rest[0];
        if (mode !== "cluster" && mode !== "store") {
          io.err(`Invalid discovery mode "${mode}": expected cluster or store`);
          return EXIT.usage;
        }
        return await edit(
          io,
          configPath,
          timeoutMs,
          `discovery.mode: ${mode}`,
          () => setDiscoveryMode(configPath, mode),
        );
      }
      case "stores":
      case "status": {
        if (!expectArgs(0, "no arguments")) return EXIT.usage;
        const loaded = await loadConfigFile(configPath, { allowMissing: true });
        const url = await statusUrl(loaded.config, configPath);
        let status: ServerStatus;
        try {
          status = await fetchStatus(url, Math.min(timeoutMs, 2000));
        } catch (error) {
          io.err(`No server answered at ${url} (${errorText(error)}); showing ${configPath}.`);
          const fileStores = Object.entries(loaded.config.stores).map(([name, s]) => ({
            name,
            enabled: s.enabled,
          }));
          if (command === "stores") {
            if (values.json) io.out(JSON.stringify(fileStores, null, 2));
            else printStores(io, fileStores);
          } else {
            io.out(JSON.stringify(
              {
                file: configPath,
                exists: loaded.exists,
                sha256: loaded.sha256,
                discovery: {
                  mode: loaded.config.discovery.mode,
                  backend: loaded.config.discovery.backend,
                },
                stores: fileStores,
              },
              null,
              2,
            ));
          }
          return EXIT.noServer;
        }
        if (command === "stores" && !values.json) printStores(io, status.stores ?? []);
        else io.out(JSON.stringify(command === "stores" ? status.stores ?? [] : status, null, 2));
        return EXIT.ok;
      }
      case undefined:
        io.err(USAGE);
        return EXIT.usage;
      default:
        io.err(`Unknown command "${command}"\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (error) {
    io.err(errorText(error));
    return EXIT.error;
  }
}
