/**
 * The transport baseline: a bare grpc-js server on the same runtime as Rialto, serving
 * VeniceReadService `get` and `batchGet` with fixed, pre-encoded replies of the same size
 * as Rialto's (errorCode 200, a `--value-bytes` value for a get; `--batch-keys` records
 * of such values for a batch get), with no storage and no request parsing. What Rialto
 * costs above this is Rialto's own work.
 *
 *   deno run --allow-all scripts/bench/bare_grpc_js_server.ts [--port N] [--host H]
 *            [--value-bytes 100] [--batch-keys 100]
 *
 * Prints `{"event":"listening","grpcPort":N}` on stdout once it listens, like `rialto
 * serve`; stops on SIGTERM or SIGINT.
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import { encodeServerResponse } from "../../src/codec/messages.ts";
import { encodeMultiGetResponseRecords } from "../../src/venice/multiget.ts";
import { VeniceReadResponseStatus } from "../../src/venice/status.ts";

const SERVICE = "/com.linkedin.venice.protocols.VeniceReadService";

/** The same server options as Rialto's grpc-js transport (src/transport/grpc_js.ts). */
const SERVER_OPTIONS = {
  "grpc.max_receive_message_length": 4 * 1024 * 1024,
  "grpc.max_send_message_length": -1,
};

export function fixedReplies(valueBytes: number, batchKeys: number): {
  get: Buffer;
  batchGet: Buffer;
} {
  const value = new Uint8Array(valueBytes).fill(0x61);
  const get = encodeServerResponse({
    schemaId: 1,
    compressionStrategy: 0,
    responseRCU: 1,
    errorCode: VeniceReadResponseStatus.OK,
  }, value);
  const records = Array.from({ length: batchKeys }, (_, keyIndex) => ({
    keyIndex,
    value,
    schemaId: 1,
  }));
  const batchGet = encodeServerResponse({
    schemaId: 1,
    responseRCU: batchKeys,
    errorCode: VeniceReadResponseStatus.OK,
  }, encodeMultiGetResponseRecords(records));
  return { get: Buffer.from(get), batchGet: Buffer.from(batchGet) };
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
      "value-bytes": { type: "string", default: "100" },
      "batch-keys": { type: "string", default: "100" },
    },
    strict: true,
  });
  const replies = fixedReplies(Number(values["value-bytes"]), Number(values["batch-keys"]));
  const server = new grpc.Server(SERVER_OPTIONS);
  const identity = (b: Buffer): Buffer => b;
  const answer = (reply: Buffer): grpc.handleUnaryCall<Buffer, Buffer> => (_call, callback) =>
    callback(null, reply);
  server.register(`${SERVICE}/get`, answer(replies.get), identity, identity, "unary");
  server.register(`${SERVICE}/batchGet`, answer(replies.batchGet), identity, identity, "unary");
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${values.host}:${values.port}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => error ? reject(error) : resolve(bound),
    );
  });
  console.log(JSON.stringify({ event: "listening", grpcPort: port }));
  const stopped = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", () => stopped.resolve());
  Deno.addSignalListener("SIGINT", () => stopped.resolve());
  await stopped.promise;
  server.forceShutdown();
  Deno.exit(0);
}

if (import.meta.main) await main(Deno.args);
