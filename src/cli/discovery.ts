/** `rialto discovery ...`: look up announced servers as a client would. */
import { parseArgs } from "node:util";
import { errorText, loadConfigFile } from "../config/load.ts";
import { resolve } from "../discovery/mod.ts";
import type { CliIo } from "./admin.ts";

const consoleIo: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

const USAGE = `Usage: rialto discovery list --resource NAME [--config FILE]

Prints the endpoints announced for a resource (a cluster name or a store name) as a
JSON array, read from the backend the config names (embedded files or ZooKeeper).

Options:
  -r, --resource NAME  Resource to resolve
  -c, --config FILE    Config file (default: $RIALTO_CONFIG or ./rialto.yaml; defaults if missing)
      --ready-only     Leave out servers that are not ready
  -h, --help           Show this help`;

/** `rialto discovery ...`; returns the exit code (0 ok, 1 error, 2 usage). */
export async function main(args: string[], io: CliIo = consoleIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        resource: { type: "string", short: "r" },
        config: { type: "string", short: "c" },
        "ready-only": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    io.err(`${errorText(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== "list" || !values.resource) {
    io.err(USAGE);
    return 2;
  }
  try {
    const configPath = values.config ?? Deno.env.get("RIALTO_CONFIG") ?? "rialto.yaml";
    const { config } = await loadConfigFile(configPath, { allowMissing: true });
    const endpoints = await resolve(config, values.resource);
    io.out(JSON.stringify(
      values["ready-only"] ? endpoints.filter((e) => e.ready) : endpoints,
      null,
      2,
    ));
    return 0;
  } catch (error) {
    io.err(errorText(error));
    return 1;
  }
}
