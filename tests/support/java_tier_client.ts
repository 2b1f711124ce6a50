/**
 * tests/java/TierClient.java, a Venice Fast Client in miniature, built and run as a
 * subprocess: `buildTierClient` compiles it (with the proto's protobuf-java and grpc-java
 * classes) into a directory, `startTierClient` runs it and reads its JSON lines. Disposing
 * the handle kills the process, so a failing test leaves nothing running.
 */

/** The repository root: the client's default multiget schema paths are relative to it. */
const REPO_ROOT = new URL("../../", import.meta.url).pathname;
const JAVA_DIR = "/usr/share/java";

/** Each jar the client needs at compile and run time, with the Debian package shipping it. */
const JARS: readonly (readonly [jar: string, aptPackage: string])[] = [
  ["protobuf.jar", "libprotobuf-java"],
  ["grpc-api.jar", "libgrpc-java"],
  ["grpc-context.jar", "libgrpc-java"],
  ["grpc-core.jar", "libgrpc-java"],
  ["grpc-netty.jar", "libgrpc-java"],
  ["grpc-protobuf.jar", "libgrpc-java"],
  ["grpc-protobuf-lite.jar", "libgrpc-java"],
  ["grpc-stub.jar", "libgrpc-java"],
  ["guava.jar", "libguava-java"],
  // grpc-core 1.41 calls PerfMark on every call; libgrpc-java does not depend on it.
  ["perfmark-api.jar", "libperfmark-java"],
  ["netty-buffer.jar", "libnetty-java"],
  ["netty-codec.jar", "libnetty-java"],
  ["netty-codec-http.jar", "libnetty-java"],
  ["netty-codec-http2.jar", "libnetty-java"],
  ["netty-codec-socks.jar", "libnetty-java"],
  ["netty-common.jar", "libnetty-java"],
  ["netty-handler.jar", "libnetty-java"],
  ["netty-handler-proxy.jar", "libnetty-java"],
  ["netty-resolver.jar", "libnetty-java"],
  ["netty-transport.jar", "libnetty-java"],
  ["avro.jar", "libavro-java"],
  ["jackson-core-asl.jar", "libjackson-json-java"],
  ["jackson-mapper-asl.jar", "libjackson-json-java"],
  // Avro logs through SLF4J; the no-op binding keeps its "no binding" warning off stderr.
  ["slf4j-api.jar", "libslf4j-java"],
  ["slf4j-nop.jar", "libslf4j-java"],
  ["zstd-jni.jar", "libzstd-jni-java"],
];

/**
 * zstd-jni's native half (Debian's libzstd-jni1), which the jar loads by name from the
 * library path: Debian's multiarch folder, `x86_64-linux-gnu` or `aarch64-linux-gnu`.
 */
const ZSTD_JNI_NATIVE = `/usr/lib/${Deno.build.arch}-linux-gnu/libzstd-jni.so`;

/** protoc's Java gRPC plugin (it has no --version to probe, so it is looked for here). */
const GRPC_JAVA_PLUGIN = "/usr/bin/grpc_java_plugin";

/** Programs the build and the run need, with the Debian package shipping each. */
const TOOLS: readonly (readonly [program: string, probe: readonly string[], aptPackage: string])[] =
  [
    ["protoc", ["--version"], "protobuf-compiler"],
    ["javac", ["-version"], "openjdk-17-jdk-headless"],
    ["java", ["-version"], "openjdk-17-jdk-headless"],
  ];

/**
 * grpc-java 1.41's generated service class is annotated @javax.annotation.Generated, which
 * left the JDK in Java 11. The annotation has source retention, so a stand-in compiled
 * with the sources is all javac needs, and no jar has to ship it.
 */
const GENERATED_STUB = `package javax.annotation;

import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;

@Retention(RetentionPolicy.SOURCE)
public @interface Generated {
  String[] value();
  String date() default "";
  String comments() default "";
}
`;

async function requireTools(): Promise<void> {
  const missing: string[] = [];
  for (const [program, probe, aptPackage] of TOOLS) {
    try {
      const out = await new Deno.Command(program, {
        args: [...probe],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (!out.success) {
        missing.push(`${program} (\`${program} ${probe.join(" ")}\` failed; ${aptPackage})`);
      }
    } catch {
      missing.push(`${program} (apt-get install ${aptPackage})`);
    }
  }
  for (const [jar, aptPackage] of JARS) {
    try {
      await Deno.stat(`${JAVA_DIR}/${jar}`);
    } catch {
      missing.push(`${JAVA_DIR}/${jar} (apt-get install ${aptPackage})`);
    }
  }
  try {
    await Deno.stat(GRPC_JAVA_PLUGIN);
  } catch {
    missing.push(`${GRPC_JAVA_PLUGIN} (apt-get install protobuf-compiler-grpc-java-plugin)`);
  }
  try {
    await Deno.stat(ZSTD_JNI_NATIVE);
  } catch {
    missing.push(`${ZSTD_JNI_NATIVE} (apt-get install libzstd-jni1)`);
  }
  if (missing.length > 0) {
    throw new Error(`Cannot build the Java tier client; missing: ${missing.join(", ")}`);
  }
}

async function run(command: string, args: readonly string[]): Promise<void> {
  const out = await new Deno.Command(command, { args: [...args], stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${command} failed with code ${out.code}:\n${said}`);
  }
}

async function javaSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await javaSources(path));
    else if (entry.name.endsWith(".java")) out.push(path);
  }
  return out;
}

/** Compiles TierClient and the proto's classes into `dir`; the classpath to run it with. */
export async function buildTierClient(dir: string): Promise<string> {
  await requireTools();
  const generated = `${dir}/generated`;
  const classes = `${dir}/classes`;
  await Deno.mkdir(generated, { recursive: true });
  await Deno.mkdir(classes, { recursive: true });
  await run("protoc", [
    `--proto_path=${REPO_ROOT}proto`,
    `--java_out=${generated}`,
    `--grpc-java_out=${generated}`,
    `--plugin=protoc-gen-grpc-java=${GRPC_JAVA_PLUGIN}`,
    "VeniceReadService.proto",
  ]);
  await Deno.mkdir(`${generated}/javax/annotation`, { recursive: true });
  await Deno.writeTextFile(`${generated}/javax/annotation/Generated.java`, GENERATED_STUB);
  const jars = JARS.map(([jar]) => `${JAVA_DIR}/${jar}`);
  await run("javac", [
    "-nowarn",
    "--release",
    "17",
    "-encoding",
    "UTF-8",
    "-cp",
    jars.join(":"),
    "-d",
    classes,
    `${REPO_ROOT}tests/java/TierClient.java`,
    ...await javaSources(generated),
  ]);
  return [classes, ...jars].join(":");
}

export interface Counts {
  readonly ok: number;
  readonly wrong: number;
  readonly failed: number;
}

/** `{"event":"round"}`: one round over every key, counts for that round only. */
export interface Round {
  readonly event: "round";
  readonly round: number;
  readonly version: number;
  readonly single: Counts;
  readonly batch: Counts;
  readonly retries: number;
}

/** `{"event":"metadata"}`: after the bootstrap and each refresh that changed what it reports. */
export interface MetadataReport {
  readonly event: "metadata";
  readonly version: number;
  readonly versions: readonly number[];
  readonly partitionCount: number;
  readonly compressionStrategy: number;
  readonly replicas: Readonly<Record<string, readonly string[]>>;
  readonly batchGetLimit: number;
  readonly schemaId: number;
  readonly dictionaryBytes: number | null;
  readonly healthOk: number;
  readonly healthFailed: number;
}

/** `{"event":"summary"}`: totals, printed once stdin has ended. */
export interface Summary {
  readonly event: "summary";
  readonly rounds: number;
  readonly single: Counts;
  readonly batch: Counts;
  readonly retries: number;
  readonly refreshes: number;
  readonly refreshFailures: number;
  readonly versionsRead: readonly number[];
  readonly firstError: string | null;
}

export interface TierClientProcess extends AsyncDisposable {
  /** Every round report so far. */
  rounds(): Round[];
  /** Every metadata report so far. */
  metadata(): MetadataReport[];
  /** Everything the client wrote to stderr so far. */
  stderr(): string;
  /**
   * The first round report (past or future) satisfying `predicate`; rejects with the
   * tail of stderr when the client exits or `timeoutMs` passes first.
   */
  waitFor(predicate: (round: Round) => boolean, timeoutMs: number): Promise<Round>;
  /**
   * Closes stdin and resolves with the summary once the client has exited with code 0;
   * kills it after 10 s.
   */
  stop(): Promise<Summary>;
}

/** How long a stopped client may take to finish its round and exit. */
const STOP_TIMEOUT_MS = 10_000;
/** How much of stderr an error message carries. */
const STDERR_TAIL_CHARS = 4000;

/**
 * Starts `java -cp <classpath> TierClient <args>` in the repository root. `args` are the
 * client's own flags (see tests/java/TierClient.java).
 */
export function startTierClient(classpath: string, args: readonly string[]): TierClientProcess {
  const child = new Deno.Command("java", {
    args: ["-cp", classpath, "TierClient", ...args],
    cwd: REPO_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const rounds: Round[] = [];
  const metadata: MetadataReport[] = [];
  let summary: Summary | null = null;
  let stderr = "";
  let pending = "";
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };

  const onStdout = (text: string) => {
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        stderr += `[stdout, not JSON] ${line}\n`;
        continue;
      }
      if (event.event === "round") rounds.push(event);
      else if (event.event === "metadata") metadata.push(event);
      else if (event.event === "summary") summary = event;
    }
    notify();
  };
  const collect = async (stream: ReadableStream<Uint8Array>, onText: (text: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
    onText(decoder.decode());
  };
  const readers = Promise.all([
    collect(child.stdout, onStdout),
    collect(child.stderr, (text) => stderr += text),
  ]);
  let exitStatus: Deno.CommandStatus | null = null;
  const exited = (async () => {
    const status = await child.status;
    await readers;
    exitStatus = status;
    notify();
    return status;
  })();
  const stdin = child.stdin.getWriter();
  let stdinClosed = false;
  const closeStdin = async () => {
    if (stdinClosed) return;
    stdinClosed = true;
    await stdin.close().catch(() => {
      // The process is gone already.
    });
  };
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited in the meantime.
    }
  };
  const tail = () =>
    stderr.length > STDERR_TAIL_CHARS ? `...${stderr.slice(-STDERR_TAIL_CHARS)}` : stderr;
  const exitText = () => {
    const status = exitStatus as Deno.CommandStatus | null;
    return status === null
      ? ""
      : `code ${status.code}${status.signal ? `, signal ${status.signal}` : ""}`;
  };

  return {
    rounds: () => [...rounds],
    metadata: () => [...metadata],
    stderr: () => stderr,
    waitFor(predicate, timeoutMs) {
      return new Promise<Round>((resolve, reject) => {
        let checked = 0;
        let timer: ReturnType<typeof setTimeout> | undefined = undefined;
        const done = () => {
          waiters.delete(check);
          clearTimeout(timer);
        };
        const check = () => {
          for (; checked < rounds.length; checked++) {
            if (predicate(rounds[checked])) {
              done();
              resolve(rounds[checked]);
              return;
            }
          }
          if (exitStatus !== null) {
            done();
            reject(
              new Error(
                `TierClient exited (${exitText()}) after ${rounds.length} rounds before a round matched; stderr:\n${tail()}`,
              ),
            );
          }
        };
        timer = setTimeout(() => {
          done();
          const last = rounds.length > 0 ? JSON.stringify(rounds[rounds.length - 1]) : "none";
          reject(
            new Error(
              `No TierClient round matched within ${timeoutMs} ms (${rounds.length} rounds; last ${last}); stderr:\n${tail()}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      await closeStdin();
      const timer = setTimeout(kill, STOP_TIMEOUT_MS);
      try {
        const status = await exited;
        if (status.code !== 0 || summary === null) {
          throw new Error(
            `TierClient ended with ${exitText()}${
              summary === null ? " and no summary" : ""
            }; stderr:\n${tail()}`,
          );
        }
        return summary;
      } finally {
        clearTimeout(timer);
      }
    },
    async [Symbol.asyncDispose]() {
      if (exitStatus === null) kill();
      await closeStdin();
      await exited;
    },
  };
}
