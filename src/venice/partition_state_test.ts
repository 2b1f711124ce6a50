import assert from "node:assert/strict";
import {
  decodePartitionState,
  encodePartitionState,
  PartitionStateError,
} from "./partition_state.ts";

Deno.test("a v24 PartitionState round-trips the fields a reader needs, offsets beyond 2^53 exact", () => {
  const fields = {
    offset: 2n ** 60n + 1n,
    offsetLag: 12n,
    endOfPush: true,
    lastUpdate: 1_700_000_000_123,
    heartbeatTimestamp: 1_700_000_000_200,
    lastCheckpointTimestamp: 1_700_000_000_456,
    leaderTopic: "people_rt",
  };
  const bytes = encodePartitionState({ ...fields, upstreamOffsetMap: { "kafka:9092": 77n } });
  assert.deepEqual([bytes[0], bytes[1]], [24, 24]);
  assert.deepEqual(decodePartitionState(bytes), { protocolVersion: 24, ...fields });
});

Deno.test("older PartitionState versions are read by the fields they begin with", () => {
  // v1-v9: offset 5 (zigzag 0x0a), endOfPush true, lastUpdate 3 (0x06), then more.
  const v1 = Uint8Array.of(24, 1, 0x0a, 0x01, 0x06, 0x00);
  assert.deepEqual(decodePartitionState(v1), {
    protocolVersion: 1,
    offset: 5n,
    offsetLag: -1n,
    endOfPush: true,
    lastUpdate: 3,
    heartbeatTimestamp: -1,
    lastCheckpointTimestamp: -1,
    leaderTopic: null,
  });
  // v10-v21: offset 5, offsetLag 2 (0x04), endOfPush false, lastUpdate 3.
  const v15 = Uint8Array.of(24, 15, 0x0a, 0x04, 0x00, 0x06, 0x00, 0x00);
  const state = decodePartitionState(v15);
  assert.equal(state.offsetLag, 2n);
  assert.equal(state.endOfPush, false);
  assert.equal(state.lastCheckpointTimestamp, -1);
});

Deno.test("bytes that are not a PartitionState are refused with the reason", () => {
  assert.throws(() => decodePartitionState(Uint8Array.of(25, 7, 0)), /expected magic byte 24/);
  assert.throws(() => decodePartitionState(Uint8Array.of(24, 24, 0x0a)), PartitionStateError);
  assert.throws(() => decodePartitionState(new Uint8Array(0)), /found nothing/);
});
