/**
 * Builds the bench's C programs (scripts/loadgen/: the load generator and the trivial
 * responder) with the system compiler against libnghttp2 (and OpenSSL for the load
 * generator's --tls), once per source version: the
 * binary is cached outside the repo under a name that carries a hash of its source, so an
 * edit rebuilds it and an unchanged source costs nothing.
 */

/** A C program of scripts/loadgen/, by its file name without ".c". */
export type NativeProgram = "loadgen" | "responder";

const NGHTTP2_HEADER = "/usr/include/nghttp2/nghttp2.h";
const OPENSSL_HEADER = "/usr/include/openssl/ssl.h";
const MISSING_HELP = "install them with `scripts/bootstrap.sh --bench` " +
  "(or: apt-get install -y gcc libnghttp2-dev libssl-dev), or run the bench with --loadgen node";

/** The libraries each program links. */
const LIBRARIES: Record<NativeProgram, string[]> = {
  loadgen: ["-lnghttp2", "-lssl", "-lcrypto"],
  responder: ["-lnghttp2"],
};

async function sourceHash(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function findCompiler(): Promise<string | null> {
  for (const cc of [Deno.env.get("CC"), "cc", "gcc", "clang"]) {
    if (!cc) continue;
    try {
      const out = await new Deno.Command(cc, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (out.success) return cc;
    } catch {
      // not installed: try the next name
    }
  }
  return null;
}

/**
 * The path of `program` built from scripts/loadgen/<program>.c into `cacheDir`, compiling
 * it first if this source version has not been built there. Throws with what to install
 * when there is no C compiler or no libnghttp2 headers.
 */
export async function buildNative(program: NativeProgram, cacheDir: string): Promise<string> {
  const source = new URL(`../loadgen/${program}.c`, import.meta.url).pathname;
  const binary = `${cacheDir}/${program}-${await sourceHash(await Deno.readFile(source))}`;
  try {
    await Deno.stat(binary);
    return binary;
  } catch {
    // not built yet
  }
  const cc = await findCompiler();
  if (cc === null) {
    throw new Error(
      `No C compiler (tried $CC, cc, gcc, clang) to build ${source}: ${MISSING_HELP}`,
    );
  }
  const partial = `${binary}.${Deno.pid}.tmp`;
  const out = await new Deno.Command(cc, {
    args: ["-O2", "-Wall", "-o", partial, source, ...LIBRARIES[program]],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    const headersMissing = /nghttp2\/nghttp2\.h/.test(stderr) ||
      !(await Deno.stat(NGHTTP2_HEADER).then(() => true, () => false));
    const linkMissing = /cannot find -lnghttp2/.test(stderr);
    const sslMissing = /openssl\/ssl\.h|cannot find -l(ssl|crypto)/.test(stderr) ||
      (program === "loadgen" &&
        !(await Deno.stat(OPENSSL_HEADER).then(() => true, () => false)));
    throw new Error(
      headersMissing || linkMissing
        ? `Cannot build ${source}: libnghttp2's development files (${NGHTTP2_HEADER}, ` +
          `libnghttp2.so) are missing; ${MISSING_HELP}`
        : sslMissing
        ? `Cannot build ${source}: OpenSSL's development files (${OPENSSL_HEADER}, ` +
          `libssl.so) are missing; ${MISSING_HELP}`
        : `${cc} failed to build ${source}:\n${stderr}`,
    );
  }
  await Deno.rename(partial, binary);
  return binary;
}
