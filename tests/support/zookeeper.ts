/**
 * A real, throwaway ZooKeeper for tests: standalone server from Debian's `zookeeper`
 * package, its own temp dataDir and a free clientPort, started straight with `java`
 * (the classpath zkEnv.sh uses), stopped and removed by `stop()`.
 */
import { join } from "node:path";

const ZK_ENV = "/usr/share/zookeeper/bin/zkEnv.sh";
const DEFAULT_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";

/** The classpath zkEnv.sh sets (or ZOOKEEPER_CLASSPATH), or null when not installed. */
function zookeeperClasspath(): string | null {
  const fromEnv = Deno.env.get("ZOOKEEPER_CLASSPATH");
  if (fromEnv) return fromEnv;
  let classpath = DEFAULT_CLASSPATH;
  try {
    const env = Deno.readTextFileSync(ZK_ENV);
    classpath = /^CLASSPATH="([^"$]+)"/m.exec(env)?.[1] ?? classpath;
  } catch {
    // Not installed through Debian's package; try the default jar below.
  }
  const jar = classpath.split(":").find((p) => p.endsWith(".jar"));
  try {
    if (jar) Deno.statSync(jar);
    return classpath;
  } catch {
    return null;
  }
}

function javaFound(): boolean {
  try {
    return new Deno.Command("java", { args: ["-version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const classpath = zookeeperClasspath();

/** Why ZooKeeper tests cannot run here, or null when they can. */
export const zookeeperUnavailable: string | null = classpath === null
  ? `ZooKeeper is not installed (no ${DEFAULT_CLASSPATH.split(":")[1]}; apt-get install zookeeper)`
  : !javaFound()
  ? "No `java` on PATH to run ZooKeeper"
  : null;

/** The lowest port the kernel hands out by itself (ip_local_port_range), else Linux's. */
function ephemeralPortStart(): number {
  try {
    const low = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0],
    );
    if (Number.isInteger(low) && low > 2048) return low;
  } catch {
    // Not Linux, or no /proc: Linux's default.
  }
  return 32768;
}

const PORT_FLOOR = 10000;

/**
 * A port nothing listens on right now, for a server a test starts later on a fixed port.
 * It is taken below the ephemeral range: a port the kernel gave out and took back could be
 * any test's next outgoing connection or port-0 listener meanwhile ("Address already in
 * use" under the parallel suite).
 */
export function freePort(): number {
  const top = ephemeralPortStart();
  for (let attempt = 0; attempt < 100 && top > PORT_FLOOR; attempt++) {
    const port = PORT_FLOOR + Math.floor(Math.random() * (top - PORT_FLOOR));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // In use: try another.
    }
  }
  throw new Error(`No free port found in ${PORT_FLOOR}-${top - 1}`);
}

/** Sends a four-letter word; null when nothing answers. */
async function fourLetterWord(port: number, word: string): Promise<string | null> {
  // A server still starting may accept and never answer. On Deno 2.8.3 closing a
  // connection does not wake a pending read, so the read races a one-second timer.
  let conn: Deno.Conn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), 1000);
  });
  const ask = async (): Promise<string | null> => {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(word));
    let text = "";
    const decoder = new TextDecoder();
    const buf = new Uint8Array(1024);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) return text;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  };
  try {
    return await Promise.race([ask(), timedOut]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    try {
      conn?.closeWrite().catch(() => {});
      conn?.close();
    } catch {
      // Closed by the peer already.
    }
  }
}

export class ZooKeeperServer {
  readonly port: number;
  readonly dir: string;
  #child: Deno.ChildProcess | null = null;
  #log: string[] = [];
  #drain: Promise<void> | null = null;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  get connect(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Writes zoo.cfg in a new temp dir and starts the server (unless `start: false`). */
  static async create(options: { port?: number; start?: boolean } = {}): Promise<ZooKeeperServer> {
    if (zookeeperUnavailable) throw new Error(zookeeperUnavailable);
    const dir = await Deno.makeTempDir({ prefix: "rialto-zk-" });
    const server = new ZooKeeperServer(options.port ?? freePort(), dir);
    await Deno.writeTextFile(
      join(dir, "zoo.cfg"),
      [
        "tickTime=200",
        `dataDir=${join(dir, "data")}`,
        `clientPort=${server.port}`,
        "clientPortAddress=127.0.0.1",
        "admin.enableServer=false",
        "4lw.commands.whitelist=ruok,srvr",
        "minSessionTimeout=400",
        "maxSessionTimeout=30000",
        "",
      ].join("\n"),
    );
    if (options.start !== false) await server.start();
    return server;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Starts the server and waits until it answers `ruok`. */
  async start(timeoutMs = 30000): Promise<void> {
    if (this.#child) return;
    this.#log = [];
    const child = new Deno.Command("java", {
      args: [
        "-Xmx128m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Dzookeeper.admin.enableServer=false",
        "-cp",
        classpath!,
        "org.apache.zookeeper.server.ZooKeeperServerMain",
        join(this.dir, "zoo.cfg"),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const keep = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this.#log.push(chunk);
        if (this.#log.length > 200) this.#log.shift();
      }
    };
    this.#drain = Promise.all([keep(child.stdout), keep(child.stderr)]).then(() => {});
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await fourLetterWord(this.port, "ruok")) === "imok") return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = this.#log.join("");
    await this.stop();
    throw new Error(
      `ZooKeeper did not answer on port ${this.port} within ${timeoutMs} ms:\n${log}`,
    );
  }

  /** Stops the server process (SIGTERM, then SIGKILL after 5 s). Keeps its files. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    const killer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }, 5000);
    await child.status;
    clearTimeout(killer);
    await this.#drain;
  }

  /** Stops the server, optionally losing all its data (so every session is expired). */
  async restart(options: { wipeData?: boolean } = {}): Promise<void> {
    await this.stop();
    if (options.wipeData) await Deno.remove(join(this.dir, "data"), { recursive: true });
    await this.start();
  }

  /** Stops the server and deletes its files. Safe to call twice. */
  async dispose(): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
