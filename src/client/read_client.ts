/**
 * A VeniceReadService client that sends requests the way Venice's Fast Client does
 * (GrpcTransportClient): single gets with a `?f=b64` keyString and method "GET", batch
 * gets with MultiGetRouterRequestKeyV1 records and method "POST". It works on bytes;
 * `store_client.ts` adds schemas, partitioning and decompression on top.
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import {
  decodeServerResponse,
  encodeClientRequest,
  type VeniceServerResponse,
} from "../codec/messages.ts";
import { READ_SERVICE_PATHS } from "../read/router.ts";
import { encodeKeyString } from "../venice/key_string.ts";
import { encodeMultiGetRequestKeys } from "../venice/multiget.ts";

export interface ClientTls {
  readonly ca: Uint8Array;
  readonly cert?: Uint8Array;
  readonly key?: Uint8Array;
  /** The name to verify the server certificate against, when not the address's host. */
  readonly serverName?: string;
}

export interface BatchKey {
  readonly keyBytes: Uint8Array;
  readonly partition: number;
}

/**
 * The TLS server name sent to an IP target, which must not be the IP itself. Identity is
 * verified against the IP (checkServerIdentity above), never against this name.
 */
const IP_TARGET_SERVER_NAME = "ip-address-target.invalid";

/** The host of `host:port` or `[v6]:port` when it is an IP address, else null. */
function ipHostOf(address: string): string | null {
  const match = /^\[([^\]]+)\]:\d+$/.exec(address) ?? /^([^:]+):\d+$/.exec(address);
  const host = match?.[1] ?? address;
  return isIP(host) === 0 ? null : host;
}

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const fromBuffer = (bytes: Buffer): Uint8Array => bytes;

export class ReadClient {
  readonly #client: grpc.Client;

  constructor(address: string, tls?: ClientTls) {
    // TLS forbids an IP address as the server name (RFC 6066) and Deno's node:tls refuses
    // one: an IP target gets a placeholder name, and its certificate is checked against
    // the IP (its IP SANs) instead.
    const ip = tls?.serverName === undefined ? ipHostOf(address) : null;
    const credentials = tls
      ? grpc.credentials.createSsl(
        toBuffer(tls.ca),
        tls.key ? toBuffer(tls.key) : null,
        tls.cert ? toBuffer(tls.cert) : null,
        ip === null ? {} : { checkServerIdentity: (_name, cert) => checkServerIdentity(ip, cert) },
      )
      : grpc.credentials.createInsecure();
    const serverName = tls?.serverName ?? (ip === null ? undefined : IP_TARGET_SERVER_NAME);
    this.#client = new grpc.Client(address, credentials, {
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      ...(serverName ? { "grpc.ssl_target_name_override": serverName } : {}),
    });
  }

  /** Sends raw request bytes to a path; resolves with the raw response bytes. */
  call(path: string, request: Uint8Array, deadlineMs = 10_000): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        path,
        toBuffer,
        fromBuffer,
        request,
        { deadline: Date.now() + deadlineMs },
        (error, response) => error ? reject(error) : resolve(response!),
      );
    });
  }

  async get(
    resourceName: string,
    partition: number,
    keyBytes: Uint8Array,
    options: { isRetry?: boolean } = {},
  ): Promise<VeniceServerResponse> {
    const request = encodeClientRequest({
      resourceName,
      partition,
      keyString: encodeKeyString(keyBytes),
      method: "GET",
      isRetryRequest: options.isRetry ?? false,
    });
    return decodeServerResponse(await this.call(READ_SERVICE_PATHS.get, request));
  }

  async batchGet(
    resourceName: string,
    keys: readonly BatchKey[],
    options: { streaming?: boolean; isRetry?: boolean } = {},
  ): Promise<VeniceServerResponse> {
    const request = encodeClientRequest({
      resourceName,
      keyBytes: encodeMultiGetRequestKeys(
        keys.map((k, keyIndex) => ({ keyIndex, keyBytes: k.keyBytes, partitionId: k.partition })),
      ),
      isBatchRequest: true,
      isStreamingRequest: options.streaming ?? false,
      isRetryRequest: options.isRetry ?? false,
      method: "POST",
    });
    return decodeServerResponse(await this.call(READ_SERVICE_PATHS.batchGet, request));
  }

  close(): void {
    this.#client.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
