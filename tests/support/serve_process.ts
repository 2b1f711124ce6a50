/**
 * `rialto serve` (or any `rialto` command) as a real subprocess: from source through
 * `deno run`, or a compiled binary. `startServe` waits for the one JSON line
 * `{"event":"listening",...}` on stdout and learns the ports from it; disposing the
 * handle stops the process (SIGTERM, then SIGKILL) and waits for it, so a failing test
 * leaves nothing running.
 */

/** The repository root (where deno.json is). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

/** `rialto` from source: the argv prefix that runs src/main.ts. */
export const RIALTO_FROM_SOURCE: readonly string[] = [
  Deno.execPath(),
  "run",
  "--allow-all",
  "--unstable-net",
  `${REPO_ROOT}src/main.ts`,
];

/** How long a server may take to print its listening line. */
const START_TIMEOUT_MS = 30_000;
/** How long a stopped server may take to exit before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

export interface CommandResult {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one `rialto` command to completion (killed after `timeoutMs`). */
export async function runRialto(
  args: readonly string[],
  options: { command?: readonly string[]; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const [program, ...prefix] = options.command ?? RIALTO_FROM_SOURCE;
  const output = await new Deno.Command(program, {
    args: [...prefix, ...args],
    cwd: REPO_ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    signal: output.signal,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

export interface ServeProcess extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly grpcPort: number;
  readonly adminPort: number;
  /** The Venice-compatible HTTP port, null when not served. */
  readonly httpPort: number | null;
  /** `127.0.0.1:<grpcPort>`. */
  readonly address: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited, with everything it wrote. */
  readonly exited: Promise<CommandResult>;
  /** True while the process has not exited. */
  running(): boolean;
  /** Sends `signal` and waits for the exit (SIGKILL after a timeout). */
  stop(signal?: Deno.Signal): Promise<CommandResult>;
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
  onText(decoder.decode());
}

/**
 * Starts `rialto serve <args>` and resolves once it prints its listening line. When the
 * process exits or stays silent first, rejects with its exit status and stderr.
 */
export async function startServe(
  args: readonly string[],
  options: { command?: readonly string[]; env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  const [program, ...prefix] = options.command ?? RIALTO_FROM_SOURCE;
  const child = new Deno.Command(program, {
    args: [...prefix, "serve", ...args],
    cwd: REPO_ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let stdout = "";
  let stderr = "";
  const listening = Promise.withResolvers<
    { grpcPort: number; adminPort: number; httpPort?: number | null }
  >();
  const scanStdout = (text: string) => {
    stdout += text;
    for (const line of stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const event = JSON.parse(line);
        if (event.event === "listening") listening.resolve(event);
      } catch {
        // A partial line; the rest comes with the next chunk.
      }
    }
  };
  const readers = Promise.all([
    collect(child.stdout, scanStdout),
    collect(child.stderr, (text) => stderr += text),
  ]);
  let exitedFlag = false;
  const exited = (async (): Promise<CommandResult> => {
    const status = await child.status;
    exitedFlag = true;
    await readers;
    return { code: status.code, signal: status.signal, stdout, stderr };
  })();

  const stop = async (signal: Deno.Signal = "SIGTERM"): Promise<CommandResult> => {
    if (!exitedFlag) {
      try {
        child.kill(signal);
      } catch {
        // Exited in the meantime.
      }
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited in the meantime.
      }
    }, STOP_TIMEOUT_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const first = await Promise.race([
      listening.promise,
      // Resolves (never rejects) so that a later normal exit is not an unhandled rejection.
      exited.then((result) => ({ exitedEarly: result })),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`rialto serve did not listen within ${START_TIMEOUT_MS} ms`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
    if ("exitedEarly" in first) {
      const r = first.exitedEarly;
      throw new Error(`rialto serve exited with code ${r.code} before listening:\n${r.stderr}`);
    }
    const ports = first;
    return {
      child,
      grpcPort: ports.grpcPort,
      adminPort: ports.adminPort,
      httpPort: ports.httpPort ?? null,
      address: `127.0.0.1:${ports.grpcPort}`,
      stderr: () => stderr,
      exited,
      running: () => !exitedFlag,
      stop,
      async [Symbol.asyncDispose]() {
        await stop("SIGTERM");
      },
    };
  } catch (error) {
    const result = await stop("SIGKILL");
    if (error instanceof Error && !error.message.includes("exited with code")) {
      error.message += `\nstderr:\n${result.stderr}`;
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why a client program can not run here, or null when it can: `probe` is the argv of a
 * cheap command that succeeds only when the tool is usable.
 */
export function toolMissing(probe: readonly string[], what: string): string | null {
  const [program, ...args] = probe;
  try {
    const out = new Deno.Command(program, { args, stdout: "null", stderr: "piped" }).outputSync();
    if (out.success) return null;
    return `${what} is not usable: \`${probe.join(" ")}\` failed: ${
      new TextDecoder().decode(out.stderr).trim().split("\n").pop()
    }`;
  } catch (error) {
    return `${what} is not installed (${program}: ${
      error instanceof Error ? error.message : error
    })`;
  }
}
