/**
 * The grpc-js transport: the reference implementation of the transport contract.
 * grpc-js owns HTTP/2, framing, deadlines and message-size limits; this adapter only
 * hands raw message bytes to the router's handlers and maps their outcome to a status.
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { clientCertificateOf } from "../auth/grpc_js_tls.ts";
import { logger } from "../log.ts";
import {
  GrpcStatus,
  GrpcStatusError,
  type Peer,
  type TransportServer,
  type UnaryHandler,
  type UnaryRouter,
} from "./types.ts";

const log = logger("transport", "grpc-js");

export interface GrpcJsOptions {
  readonly hostname: string;
  readonly port: number;
  readonly router: UnaryRouter;
  /** Every path the router serves; grpc-js needs them up front. */
  readonly paths: readonly string[];
  /** Inbound message limit; grpc-js answers RESOURCE_EXHAUSTED above it. */
  readonly maxMessageBytes: number;
  /** Insecure when absent. */
  readonly credentials?: grpc.ServerCredentials;
}

type UnaryCall = grpc.ServerUnaryCall<Uint8Array, Uint8Array>;

const passThrough = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const keepBuffer = (bytes: Buffer): Uint8Array => bytes;

function peerOf(call: UnaryCall): Peer {
  // Read once per connection (the public getAuthContext() costs ~26 µs a call on Deno).
  return { address: call.getPeer(), certificate: clientCertificateOf(call) };
}

function fail(callback: grpc.sendUnaryData<Uint8Array>, error: unknown): void {
  if (error instanceof GrpcStatusError) {
    callback({ code: error.code, details: error.message });
    return;
  }
  log.error("Unexpected error in a handler: {error}", { error });
  callback({ code: GrpcStatus.INTERNAL, details: "Internal error" });
}

function adapt(handler: UnaryHandler): grpc.handleUnaryCall<Uint8Array, Uint8Array> {
  return (call, callback) => {
    let result: Uint8Array | Promise<Uint8Array>;
    try {
      result = handler(call.request, peerOf(call));
    } catch (error) {
      fail(callback, error);
      return;
    }
    if (result instanceof Uint8Array) callback(null, result);
    else result.then((bytes) => callback(null, bytes), (error) => fail(callback, error));
  };
}

/** Starts a grpc-js server; resolves once it listens. */
export async function serveGrpcJs(options: GrpcJsOptions): Promise<TransportServer> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": -1,
  });
  for (const path of options.paths) {
    const handler = options.router.route(path);
    if (!handler) throw new TypeError(`The router has no handler for "${path}"`);
    server.register(path, adapt(handler), passThrough, keepBuffer, "unary");
  }
  const address = `${
    options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname
  }:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      address,
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (error, boundPort) => error ? reject(error) : resolve(boundPort),
    );
  });
  let closed: Promise<void> | undefined;
  return {
    port,
    close(graceMs = 5000): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closed;
    },
  };
}
