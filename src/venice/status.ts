/**
 * Venice read statuses, carried in `VeniceServerResponse.errorCode` with gRPC status OK.
 * Source: linkedin/venice
 * internal/venice-common/src/main/java/com/linkedin/venice/response/VeniceReadResponseStatus.java
 * (UNKNOWN(-1) there is a lookup sentinel that is never sent, so it is not listed here).
 * Positive codes are HTTP statuses; negative ones are Venice's own.
 */
export const VeniceReadResponseStatus = {
  KEY_NOT_FOUND: -420,
  OK: 200,
  BAD_REQUEST: 400,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type VeniceReadResponseStatusCode =
  typeof VeniceReadResponseStatus[keyof typeof VeniceReadResponseStatus];

const byCode = new Map<number, keyof typeof VeniceReadResponseStatus>(
  Object.entries(VeniceReadResponseStatus).map(([name, code]) =>
    [code, name as keyof typeof VeniceReadResponseStatus] as const
  ),
);

/** The status name for a code, or undefined (Venice's `fromCode` answers UNKNOWN). */
export function readStatusName(code: number): keyof typeof VeniceReadResponseStatus | undefined {
  return byCode.get(code);
}
