/**
 * `rialto`: one entry for every command. It only picks the subcommand; each lives in
 * its own module under src/cli/ and returns its exit code.
 */
import { setupLogging } from "./log.ts";

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: {
    summary: "Serve VeniceReadService over gRPC from a Venice data dir",
    load: async () => (await import("./cli/serve.ts")).main,
  },
  store: {
    summary: "Build (create) and look into (inspect) store versions; swap a tier's current-version",
    load: async () => (await import("./cli/store.ts")).main,
  },
  get: {
    summary: "Read one key the way the Fast Client does",
    load: async () => (await import("./cli/client.ts")).getMain,
  },
  "batch-get": {
    summary: "Read several keys the way the Fast Client does",
    load: async () => (await import("./cli/client.ts")).batchGetMain,
  },
  admin: {
    summary: "Enable and disable stores, switch discovery mode, show server status",
    load: async () => (await import("./cli/admin.ts")).main,
  },
  discovery: {
    summary: "Resolve a resource name to endpoints, as a client would",
    load: async () => (await import("./cli/discovery.ts")).main,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return `Usage: rialto <command> [options]\n\nCommands:\n${lines.join("\n")}\n\n` +
    `Run "rialto <command> --help" for a command's options.\n`;
}

/** Runs one command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") {
    console.log("rialto 0.1.0");
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  await setupLogging(Deno.env.get("RIALTO_LOG_LEVEL") === "debug" ? "debug" : "info");
  return await (await command.load())(rest);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
