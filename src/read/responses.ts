/**
 * Encoded VeniceServerResponse messages for the outcomes that carry no value. Venice
 * puts the outcome in `errorCode` with gRPC status OK (VeniceReadResponseStatus); the
 * constant ones are encoded once.
 */
import { encodeServerResponse } from "../codec/messages.ts";
import { VeniceReadResponseStatus } from "../venice/status.ts";

const encoder = new TextEncoder();

/** A response with only a status and a message. */
export function statusResponse(errorCode: number, message: string): Uint8Array {
  return encodeServerResponse({ errorCode, errorMessage: encoder.encode(message) });
}

/** GrpcOutboundResponseHandler: -420 "Key not found", no data. */
export const KEY_NOT_FOUND_RESPONSE: Uint8Array = statusResponse(
  VeniceReadResponseStatus.KEY_NOT_FOUND,
  "Key not found",
);

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

export function storeDisabled(store: string): Uint8Array {
  return statusResponse(
    VeniceReadResponseStatus.SERVICE_UNAVAILABLE,
    `Store ${store} is disabled on this server`,
  );
}
