/** grpc-js service definitions that pass message bytes through untouched, for tests. */
import type * as grpc from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";

const identity = (bytes: Buffer) => bytes;

/** One unary method at `path` whose requests and responses are raw bytes. */
export function rawUnaryMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** A service of raw unary methods, `/<service>/<name>` for each name. */
export function rawService(service: string, names: readonly string[]): grpc.ServiceDefinition {
  return Object.fromEntries(names.map((name) => [name, rawUnaryMethod(`/${service}/${name}`)]));
}
