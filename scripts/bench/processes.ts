/**
 * The bench's processes: servers started pinned to a core that announce their port with a
 * `{"event":"listening",...}` line on stdout, load runs pinned to another core, and CPU
 * time of a process read from /proc.
 */
import { SERVER_V8_FLAGS } from "../../src/runtime_flags.ts";
import type { LoadResult } from "./loadgen.ts";

export interface PinnedServer {
  readonly name: string;
  readonly pid: number;
  readonly grpcPort: number;
  /** Its admin port, when its listening line names one (Rialto's does). */
  readonly adminPort: number | null;
  /** Where its stdout and stderr go. */
  readonly logPath: string;
  /** User + system CPU seconds the process has used so far (all its threads). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux x86_64

/** User + system CPU seconds of process `pid`, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** This checkout's root. */
export const CHECKOUT = new URL("../../", import.meta.url).pathname;

/**
 * The V8 flags `checkout`'s servers are deployed with: its src/runtime_flags.ts, so that
 * another commit (a --baseline) runs as it shipped, not with this checkout's flags.
 */
export async function deployedV8Flags(checkout: string): Promise<string> {
  const path = `${checkout.replace(/\/?$/, "/")}src/runtime_flags.ts`;
  const module = await import(`file://${path}`).catch((error) => {
    throw new Error(`Cannot read the deployed V8 flags of ${checkout} from ${path}`, {
      cause: error,
    });
  });
  if (typeof module.SERVER_V8_FLAGS !== "string") {
    throw new Error(`${path} exports no SERVER_V8_FLAGS string`);
  }
  return module.SERVER_V8_FLAGS;
}

/**
 * `rialto serve` from a checkout (this one by default; another commit's, to compare) on
 * `config`, on free ports, plus `extra` flags, with the V8 flags a deployed server starts
 * with (`deployedFlags`: this checkout's src/runtime_flags.ts unless given, see
 * `deployedV8Flags`) and `v8Flags` after them (e.g. "--single-threaded-gc").
 */
export function rialtoServeCommand(
  config: string,
  extra: readonly string[] = [],
  v8Flags = "",
  checkout = CHECKOUT,
  deployedFlags = SERVER_V8_FLAGS,
): string[] {
  const flags = [deployedFlags, ...v8Flags.split(/[ ,]+/)].filter(Boolean).join(",");
  return [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--unstable-net",
    `--v8-flags=${flags}`,
    `${checkout.replace(/\/?$/, "/")}src/main.ts`,
    "serve",
    "--config",
    config,
    "--grpc-port",
    "0",
    "--admin-port",
    "0",
    ...extra,
  ];
}

/**
 * Pins every thread of this process (the bench itself: its main thread, V8's helpers
 * collecting and compiling its code) to `core`, the load generator's, away from the servers'
 * core. Unpinned, they ran where the spinning generator was not, on the serving core: its
 * main thread used 7.3 s of CPU and its helpers 2.6 s in the first 13 minutes of one run,
 * the helpers last seen there.
 */
export async function pinThisProcess(core: number): Promise<void> {
  const out = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", String(core), String(Deno.pid)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`taskset -a -p -c ${core} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** `taskset -c <cpus> <command...>`: the command pinned to a core (or a CPU list, "0-1"). */
export function pinned(core: number | string, command: string[]): string[] {
  return ["taskset", "-c", String(core), ...command];
}

/**
 * Starts a server and waits for its listening line; stdout and stderr go to `logPath`.
 * Rejects (after killing it) when it exits first or does not listen in `timeoutMs`.
 */
export async function startPinnedServer(
  name: string,
  core: number | string,
  command: string[],
  logPath: string,
  timeoutMs = 180_000,
): Promise<PinnedServer> {
  const argv = pinned(core, command);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = await Deno.open(logPath, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const writeLog = async (text: string) => {
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length;) off += await log.write(bytes.subarray(off));
  };
  const stderrDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => writeLog(chunk) }),
  );
  const listening = Promise.withResolvers<number>();
  let adminPort: number | null = null;
  const stdoutDone = (async () => {
    let buffered = "";
    let found = false;
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      await writeLog(chunk);
      if (found) continue;
      buffered += chunk;
      let newline;
      while (!found && (newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          const event = JSON.parse(line);
          if (event?.event === "listening" && Number.isInteger(event.grpcPort)) {
            found = true;
            if (Number.isInteger(event.adminPort)) adminPort = event.adminPort;
            listening.resolve(event.grpcPort);
          }
        } catch {
          // not the line we wait for
        }
      }
    }
  })();
  const timer = setTimeout(
    () => listening.reject(new Error(`${name} did not listen within ${timeoutMs} ms`)),
    timeoutMs,
  );
  child.status.then((s) =>
    listening.reject(new Error(`${name} exited with code ${s.code} before listening`))
  );
  let grpcPort: number;
  try {
    grpcPort = await listening.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await Promise.allSettled([stdoutDone, stderrDone]);
    log.close();
    throw new Error(`${(error as Error).message}; see ${logPath}`);
  } finally {
    clearTimeout(timer);
  }
  let stopped: Promise<void> | undefined;
  return {
    name,
    pid: child.pid,
    grpcPort,
    adminPort,
    logPath,
    cpuSeconds: () => processCpuSeconds(child.pid),
    stop(): Promise<void> {
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const killer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }, 10_000);
        await child.status;
        clearTimeout(killer);
        await Promise.allSettled([stdoutDone, stderrDone]);
        log.close();
      })();
      return stopped;
    },
  };
}

/** Runs the load generator (`command` + `args`) pinned to `core`; returns its JSON result. */
export async function runLoad(
  core: number,
  command: string[],
  args: string[],
): Promise<LoadResult> {
  const argv = pinned(core, [...command, ...args]);
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) throw new Error(`Load generator failed (${out.code}): ${argv.join(" ")}`);
  return JSON.parse(text.slice(text.lastIndexOf("\n") + 1)) as LoadResult;
}

export interface CommandOutput {
  readonly stdout: string;
  readonly cpuSeconds: number;
}

/**
 * Runs a command pinned to `core` under /usr/bin/time to learn its CPU time (for clients
 * such as h2load that report none).
 */
export async function runTimed(core: number, command: string[]): Promise<CommandOutput> {
  const argv = pinned(core, ["/usr/bin/time", "-f", "CPU %U %S", ...command]);
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const stdout = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`Failed (${out.code}): ${command.join(" ")}\n${stderr}`);
  const cpu = stderr.match(/CPU ([\d.]+) ([\d.]+)/);
  return { stdout, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN };
}
