/**
 * Benchmark target: answers /bench.Echo/get with a fixed 100-byte reply, either on the
 * native transport or on a bare grpc-js server. Prints the port, serves until SIGTERM.
 *
 *   deno run -A --unstable-net tests/support/native_bench_server.ts native|grpcjs [port]
 */

import { rawUnaryMethod } from "./raw_grpc.ts";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { serveNative } from "../../src/transport/native/mod.ts";

const REPLY = new Uint8Array(100).fill(7);
const PATH = "/bench.Echo/get";
const [kind, portArg] = Deno.args;
const port = Number(portArg ?? 0);

let stop: () => Promise<void>;
if (kind === "native") {
  const handler = () => REPLY;
  const server = await serveNative({
    hostname: "127.0.0.1",
    port,
    router: { route: (path) => path === PATH ? handler : undefined },
  });
  console.log(server.port);
  stop = () => server.close(1000);
} else if (kind === "grpcjs") {
  const server = new grpc.Server();
  const reply = Buffer.from(REPLY);
  server.addService({ get: rawUnaryMethod(PATH) }, {
    get: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, reply),
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `127.0.0.1:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  console.log(bound);
  stop = () => new Promise((resolve) => server.tryShutdown(() => resolve()));
} else {
  throw new TypeError(`Unknown server kind "${kind}": expected "native" or "grpcjs"`);
}
Deno.addSignalListener("SIGTERM", async () => {
  await stop();
  Deno.exit(0);
});
