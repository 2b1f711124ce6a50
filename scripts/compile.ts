/**
 * `deno task compile [--target T] [--output FILE]`: builds Rialto as one executable with
 * `deno compile`, `dist/rialto` for this machine or `dist/rialto-<target>` for --target.
 *
 * `deno compile` wraps the program around a `denort` runtime. Deno 2.8.3 takes it from
 * the `DENORT_BIN` environment variable when set (read before anything else, in
 * cli/standalone/binary.rs `get_base_binary`), else from its cache
 * (`<DENO_DIR>/dl/release/v<version>/denort-<target>.zip`), else downloads it from
 * dl.deno.land. Where none of the three is possible this script says so within seconds
 * and exits 1, instead of leaving `deno compile` to fail or hang on the network.
 *
 * What the binary carries: everything in the module graph of src/main.ts. The Avro
 * schemas under src/venice/schemas are JSON imports and the subcommands are dynamic
 * imports with literal specifiers, so both are in the graph; nothing is read from the
 * source tree at run time, so no `--include` is needed. librocksdb and libzstd are not
 * embedded: the binary finds them at run time exactly as `deno run` does (ffi/library.ts:
 * ROCKSDB_LIB / ZSTD_LIB, then the config path, then the system's names).
 *
 * Exit codes: 0 built, 1 the build failed or cannot run here, 2 usage error.
 */
import { SERVER_V8_FLAGS } from "../src/runtime_flags.ts";
import { parseArgs } from "node:util";

/** The targets Rialto ships for (Deno's names). */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
] as const;
export type Target = typeof TARGETS[number];

/** How long the dl.deno.land reachability probe may take. */
export const DOWNLOAD_PROBE_TIMEOUT_MS = 5_000;
/** A backstop for `deno compile` itself (type check and write; no network by then). */
const COMPILE_TIMEOUT_MS = 10 * 60_000;

const ROOT = new URL("../", import.meta.url).pathname;
const ENTRY = `${ROOT}src/main.ts`;

const USAGE = `Usage: deno task compile [--target TARGET] [--output FILE]

Builds dist/rialto (or dist/rialto-<TARGET> with --target) with deno compile.

  --target TARGET   one of ${TARGETS.join(", ")}
                    (default: this machine, ${Deno.build.target})
  --output FILE     where to write the binary instead

The denort runtime comes from DENORT_BIN when set (it must be a denort ${Deno.version.deno}
built for the target), else from Deno's cache, else from dl.deno.land.`;

/** Why no binary can be built here; the message says what to do about it. */
export class DenortUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DenortUnavailableError";
  }
}

export type BaseRuntime =
  | { readonly source: "DENORT_BIN"; readonly path: string }
  | { readonly source: "cache"; readonly path: string }
  | { readonly source: "download"; readonly url: string };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The machine a binary's header says it is for, or null when it is not ELF or Mach-O. */
export function binaryPlatform(
  header: Uint8Array,
): { os: "linux" | "darwin"; arch: string } | null {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (header.length >= 20 && view.getUint32(0) === 0x7f454c46) {
    const machine = view.getUint16(18, header[5] === 1); // EI_DATA 1: little-endian
    const arch = machine === 0x3e ? "x86_64" : machine === 0xb7 ? "aarch64" : `machine ${machine}`;
    return { os: "linux", arch };
  }
  if (header.length >= 8 && view.getUint32(0, true) === 0xfeedfacf) {
    const cpu = view.getUint32(4, true);
    const arch = cpu === 0x01000007 ? "x86_64" : cpu === 0x0100000c ? "aarch64" : `cpu ${cpu}`;
    return { os: "darwin", arch };
  }
  return null;
}

function targetPlatform(target: Target): { os: "linux" | "darwin"; arch: string } {
  return { os: target.includes("linux") ? "linux" : "darwin", arch: target.split("-")[0] };
}

async function checkDenortBin(path: string, target: Target): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new DenortUnavailableError(
      `DENORT_BIN is set to "${path}", which cannot be read: ${messageOf(error)}`,
    );
  }
  if (!info.isFile) {
    throw new DenortUnavailableError(`DENORT_BIN is set to "${path}", which is not a file`);
  }
  if (Deno.realPathSync(path) === Deno.realPathSync(Deno.execPath())) {
    throw new DenortUnavailableError(
      `DENORT_BIN is set to "${path}", the deno CLI itself, not a denort runtime: ` +
        "the binary would run deno's own command line instead of Rialto",
    );
  }
  const header = new Uint8Array(64);
  using file = await Deno.open(path);
  const n = await file.read(header) ?? 0;
  const found = binaryPlatform(header.subarray(0, n));
  const wanted = targetPlatform(target);
  if (found === null || found.os !== wanted.os || found.arch !== wanted.arch) {
    throw new DenortUnavailableError(
      `DENORT_BIN is set to "${path}", which is ${
        found ? `a ${found.os} ${found.arch} binary` : "not an ELF or Mach-O executable"
      }, not a denort for ${target}`,
    );
  }
}

async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/** Where `deno compile` will take its denort from; throws when nowhere works. */
export async function findBaseRuntime(
  target: Target,
  options: { probeTimeoutMs?: number } = {},
): Promise<BaseRuntime> {
  const fromEnv = Deno.env.get("DENORT_BIN");
  if (fromEnv) {
    await checkDenortBin(fromEnv, target);
    return { source: "DENORT_BIN", path: fromEnv };
  }
  const suffix = `release/v${Deno.version.deno}/denort-${target}.zip`;
  const cached = `${await denoDir()}/dl/${suffix}`;
  try {
    if ((await Deno.stat(cached)).isFile) return { source: "cache", path: cached };
  } catch {
    // Not cached: try the download site.
  }
  const url = `https://dl.deno.land/${suffix}`;
  const timeoutMs = options.probeTimeoutMs ?? DOWNLOAD_PROBE_TIMEOUT_MS;
  let status: number;
  try {
    const response = await fetch(url, {
      method: "HEAD",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    status = response.status;
  } catch (error) {
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? `no answer within ${timeoutMs} ms`
      : messageOf(error);
    throw new DenortUnavailableError(
      `DENORT_BIN is not set and denort cannot be downloaded here (${url}: ${reason}). ` +
        `Set DENORT_BIN to a denort ${Deno.version.deno} binary for ${target}, ` +
        `or put denort-${target}.zip at ${cached}.`,
    );
  }
  if (status >= 400) {
    throw new DenortUnavailableError(
      `DENORT_BIN is not set and ${url} answers HTTP ${status}: no denort ${Deno.version.deno} ` +
        `for ${target} to download. Set DENORT_BIN to a denort binary for ${target}.`,
    );
  }
  return { source: "download", url };
}

/** The binary's default path: dist/rialto, or dist/rialto-<target> for an explicit target. */
export function defaultOutput(target: Target | undefined): string {
  return `${ROOT}dist/${target ? `rialto-${target}` : "rialto"}`;
}

export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string" },
        output: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${messageOf(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const explicit = values.target as Target | undefined;
  if (explicit !== undefined && !TARGETS.includes(explicit)) {
    console.error(`--target must be one of ${TARGETS.join(", ")}, not "${explicit}"\n\n${USAGE}`);
    return 2;
  }
  const target = explicit ?? (Deno.build.target as Target);
  if (!TARGETS.includes(target)) {
    console.error(`This machine (${Deno.build.target}) is not a Rialto target; pass --target`);
    return 2;
  }
  const output = values.output ?? defaultOutput(explicit);

  let runtime: BaseRuntime;
  try {
    runtime = await findBaseRuntime(target);
  } catch (error) {
    console.error(`Cannot build ${output}: ${messageOf(error)}`);
    return 1;
  }
  console.error(
    `Building ${output} for ${target} with denort from ${
      runtime.source === "download" ? runtime.url : `${runtime.source} (${runtime.path})`
    }`,
  );

  await Deno.mkdir(output.substring(0, output.lastIndexOf("/")) || ".", { recursive: true });
  const compile = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--allow-all",
      "--unstable-net",
      `--v8-flags=${SERVER_V8_FLAGS}`,
      "--target",
      target,
      "--output",
      output,
      ENTRY,
    ],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
    signal: AbortSignal.timeout(COMPILE_TIMEOUT_MS),
  }).output();
  if (!compile.success) {
    console.error(
      compile.signal
        ? `deno compile was stopped after ${COMPILE_TIMEOUT_MS / 1000} s`
        : `deno compile failed with exit code ${compile.code}`,
    );
    return 1;
  }

  // A binary for this machine must run as Rialto, not as whatever denort turned out to be.
  if (target === Deno.build.target) {
    const check = await new Deno.Command(output, {
      args: ["--version"],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const printed = new TextDecoder().decode(check.stdout).trim();
    if (!check.success || !printed.startsWith("rialto ")) {
      console.error(
        `${output} was written but does not run as Rialto: "${output} --version" exited ` +
          `${check.code} printing "${printed}". Is DENORT_BIN a denort ${Deno.version.deno}?`,
      );
      return 1;
    }
  }
  console.error(`Built ${output} (${(await Deno.stat(output)).size} bytes)`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
