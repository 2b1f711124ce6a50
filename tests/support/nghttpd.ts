/**
 * nghttp2's own server, `nghttpd` (Debian's nghttp2-server), as the HTTP/2 reference a
 * test compares the native transport with: plaintext, serving one small file, on a free
 * port; `await using` stops it and removes its document root.
 */
import { freePort } from "./zookeeper.ts";
import { waitFor } from "./wait.ts";

export interface Nghttpd extends AsyncDisposable {
  readonly port: number;
  /** The path of the one file it serves. */
  readonly path: string;
}

/** `earlyResponse`: answer at the request's HEADERS, before its body (--early-response). */
export async function startNghttpd(options: { earlyResponse?: boolean } = {}): Promise<Nghttpd> {
  const root = await Deno.makeTempDir({ prefix: "rialto-nghttpd-" });
  await Deno.writeTextFile(`${root}/file`, "hello\n");
  const port = freePort();
  const args = ["--no-tls", "-d", root, ...(options.earlyResponse ? ["--early-response"] : [])];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("nghttpd", {
      args: [...args, String(port)],
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (error) {
    await Deno.remove(root, { recursive: true });
    throw new Error(`Cannot run nghttpd (apt-get install nghttp2-server): ${error}`);
  }
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await Deno.remove(root, { recursive: true });
  };
  try {
    await waitFor("nghttpd to listen", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      } catch {
        return false;
      }
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, path: "/file", [Symbol.asyncDispose]: stop };
}
