import assert from "node:assert/strict";
import { readStatusName, VeniceReadResponseStatus } from "./status.ts";

Deno.test("read statuses carry Venice's codes", () => {
  assert.deepEqual({ ...VeniceReadResponseStatus }, {
    KEY_NOT_FOUND: -420,
    OK: 200,
    BAD_REQUEST: 400,
    TOO_MANY_REQUESTS: 429,
    INTERNAL_ERROR: 500,
    SERVICE_UNAVAILABLE: 503,
  });
  assert.equal(readStatusName(-420), "KEY_NOT_FOUND");
  assert.equal(readStatusName(-1), undefined);
});
