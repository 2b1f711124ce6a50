/**
 * Encoded VeniceServerResponse messages for the outcomes that carry no value. Venice
 * puts the outcome in `errorCode` with gRPC status OK (VeniceReadResponseStatus); the
 * constant ones are encoded once.
 */
import { encodeServerResponse } from "../codec/messages.ts";
import type { VeniceStorageError } from "../storage/errors.ts";
import { CompressionStrategy, type CompressionStrategyId } from "../venice/compression.ts";
import { VeniceReadResponseStatus } from "../venice/status.ts";

const encoder = new TextEncoder();

/** A response with only a status and a message. */
export function statusResponse(errorCode: number, message: string): Uint8Array {
  return encodeServerResponse({ errorCode, errorMessage: encoder.encode(message) });
}

/**
 * GrpcOutboundResponseHandler: -420 "Key not found", no data, with the version's
 * compressionStrategy and responseRCU 1 (set before it checks whether the key was found).
 * Indexed by compression strategy.
 */
const KEY_NOT_FOUND_RESPONSES: readonly Uint8Array[] = (() => {
  const out: Uint8Array[] = [];
  for (const compressionStrategy of Object.values(CompressionStrategy)) {
    out[compressionStrategy] = encodeServerResponse({
      compressionStrategy,
      responseRCU: 1,
      errorCode: VeniceReadResponseStatus.KEY_NOT_FOUND,
      errorMessage: encoder.encode("Key not found"),
    });
  }
  return out;
})();

export function keyNotFound(compressionStrategy: CompressionStrategyId): Uint8Array {
  return KEY_NOT_FOUND_RESPONSES[compressionStrategy];
}

/** ReadQuotaEnforcementHandler: 429 with an empty message. */
export const STORE_OVER_QUOTA_RESPONSE: Uint8Array = encodeServerResponse({
  errorCode: VeniceReadResponseStatus.TOO_MANY_REQUESTS,
});

/** ReadQuotaEnforcementHandler: 503 "Server over capacity". */
export const NODE_OVER_CAPACITY_RESPONSE: Uint8Array = statusResponse(
  VeniceReadResponseStatus.SERVICE_UNAVAILABLE,
  "Server over capacity",
);

export function badRequest(message: string): Uint8Array {
  return statusResponse(VeniceReadResponseStatus.BAD_REQUEST, message);
}

export function internalError(message: string): Uint8Array {
  // GrpcStorageReadRequestHandler's wording.
  return statusResponse(VeniceReadResponseStatus.INTERNAL_ERROR, `Internal Error: ${message}`);
}

/** A failure the Java server has too, named by its exception class as Venice answers it. */
export function veniceInternalError(error: VeniceStorageError): Uint8Array {
  return internalError(`${error.veniceException}: ${error.message}`);
}

export function serviceUnavailable(message: string): Uint8Array {
  return statusResponse(VeniceReadResponseStatus.SERVICE_UNAVAILABLE, message);
}

export function storeDisabled(store: string): Uint8Array {
  return serviceUnavailable(`Store ${store} is disabled on this server`);
}
