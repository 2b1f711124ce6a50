import assert from "node:assert/strict";
import {
  bucketShapeFromRate,
  type QuotaSettings,
  QuotaVerdict,
  ReadQuota,
  TokenBucket,
} from "../src/quota/mod.ts";

function fakeClock(start = 1_000_000) {
  const clock = { now: start, nowMs: () => clock.now };
  return clock;
}

const settings: QuotaSettings = {
  enabled: true,
  nodeCapacityRcuPerSecond: 100_000,
  enforcementIntervalMs: 10_000,
  bucketMultiplier: 5,
};

Deno.test("bucket shape follows Venice's tokenBucketFromRcuPerSecond", () => {
  assert.deepEqual(bucketShapeFromRate(100_000, 10_000, 5), {
    refillAmount: 1_000_000,
    capacity: 5_000_000,
    intervalMs: 10_000,
  });
  // ceil(rate / 1000 * interval): 0.05 RCU/s over 10 s still refills one token.
  assert.deepEqual(bucketShapeFromRate(0.05, 10_000, 5), {
    refillAmount: 1,
    capacity: 5,
    intervalMs: 10_000,
  });
  assert.throws(() => bucketShapeFromRate(1e9, 10_000, 5), RangeError);
  assert.throws(() => bucketShapeFromRate(-1, 10_000, 5), RangeError);
  assert.throws(() => bucketShapeFromRate(10, 0, 5), RangeError);
});

Deno.test("token bucket starts full and a short consume takes nothing", () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(bucketShapeFromRate(1, 10_000, 5), clock.nowMs); // 10 per 10 s, cap 50
  assert.equal(bucket.capacity, 50);
  assert.equal(bucket.refillAmount, 10);
  assert.equal(bucket.tryConsume(48), true);
  assert.equal(bucket.tryConsume(3), false);
  assert.equal(bucket.staleTokenCount, 2);
  assert.equal(bucket.tryConsume(2), true);
  assert.equal(bucket.tryConsume(1), false);
});

Deno.test("token bucket refills lazily per whole interval, capped at capacity", () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(bucketShapeFromRate(1, 10_000, 5), clock.nowMs);
  assert.equal(bucket.tryConsume(50), true);
  clock.now += 10_000; // exactly at the due time: Venice refills only after it
  assert.equal(bucket.tryConsume(1), false);
  clock.now += 1;
  assert.equal(bucket.tryConsume(10), true);
  assert.equal(bucket.tryConsume(1), false);
  // The next refill is due one interval after the last refill, not on a fixed grid.
  clock.now += 10_000;
  assert.equal(bucket.tryConsume(1), false);
  clock.now += 1;
  assert.equal(bucket.tryConsume(10), true);
  // Three intervals later (plus the first partial one) adds 3 x 10 tokens...
  clock.now += 30_001;
  assert.equal(bucket.tryConsume(31), false);
  assert.equal(bucket.staleTokenCount, 30);
  // ...and a long idle time fills it to capacity, no further.
  clock.now += 10_000_000;
  assert.equal(bucket.tryConsume(51), false);
  assert.equal(bucket.staleTokenCount, 50);
});

Deno.test("a store over its quota gets STORE_OVER_QUOTA and the node is not charged", () => {
  const clock = fakeClock();
  const quota = new ReadQuota(settings, { people: { readQuotaRcuPerSecond: 1 } }, {
    nowMs: clock.nowMs,
  });
  const people = quota.forStoreVersion("people_v3", "people");
  assert.equal(quota.forStoreVersion("people_v3", "people"), people);
  assert.equal(quota.tryAcquire(people, 30, false), QuotaVerdict.ALLOWED);
  assert.equal(quota.tryAcquire(people, 20, false), QuotaVerdict.ALLOWED);
  const nodeBefore = quota.staleNodeTokens();
  assert.equal(quota.tryAcquire(people, 1, false), QuotaVerdict.STORE_OVER_QUOTA);
  assert.equal(quota.staleNodeTokens(), nodeBefore);
  assert.equal(nodeBefore, 5_000_000 - 50);
});

Deno.test("retries skip the store check but are charged to the node", () => {
  const clock = fakeClock();
  const quota = new ReadQuota(
    { ...settings, nodeCapacityRcuPerSecond: 2 }, // node: 20 per interval, capacity 100
    { people: { readQuotaRcuPerSecond: 1 } }, // store: capacity 50
    { nowMs: clock.nowMs },
  );
  const people = quota.forStoreVersion("people_v3", "people");
  assert.equal(quota.tryAcquire(people, 50, false), QuotaVerdict.ALLOWED);
  assert.equal(quota.tryAcquire(people, 1, false), QuotaVerdict.STORE_OVER_QUOTA);
  assert.equal(quota.tryAcquire(people, 40, true), QuotaVerdict.ALLOWED);
  assert.equal(quota.staleTokens(people), 0);
  assert.equal(quota.staleNodeTokens(), 10);
  assert.equal(quota.tryAcquire(people, 11, true), QuotaVerdict.NODE_OVER_CAPACITY);
});

Deno.test("node over capacity keeps the tokens the store bucket gave", () => {
  const clock = fakeClock();
  const quota = new ReadQuota(
    { ...settings, nodeCapacityRcuPerSecond: 1 }, // node capacity 50
    { people: { readQuotaRcuPerSecond: 100 } }, // store capacity 5000
    { nowMs: clock.nowMs },
  );
  const people = quota.forStoreVersion("people_v3", "people");
  assert.equal(quota.tryAcquire(people, 50, false), QuotaVerdict.ALLOWED);
  assert.equal(quota.tryAcquire(people, 7, false), QuotaVerdict.NODE_OVER_CAPACITY);
  assert.equal(quota.staleTokens(people), 5000 - 57);
});

Deno.test("a store without quota is limited only by the node; disabled quota allows all", () => {
  const clock = fakeClock();
  const quota = new ReadQuota({ ...settings, nodeCapacityRcuPerSecond: 1 }, {
    free: { readQuotaRcuPerSecond: null },
  }, { nowMs: clock.nowMs });
  const free = quota.forStoreVersion("free_v1", "free");
  const unlisted = quota.forStoreVersion("other_v7", "other");
  assert.equal(quota.tryAcquire(free, 30, false), QuotaVerdict.ALLOWED);
  assert.equal(quota.tryAcquire(unlisted, 20, false), QuotaVerdict.ALLOWED);
  assert.equal(quota.tryAcquire(free, 1, false), QuotaVerdict.NODE_OVER_CAPACITY);
  quota.update({ ...settings, enabled: false, nodeCapacityRcuPerSecond: 1 });
  assert.equal(quota.tryAcquire(free, 1000, false), QuotaVerdict.ALLOWED);
});

Deno.test("raising a quota takes effect at once and leaves other buckets alone", () => {
  const clock = fakeClock();
  const stores = {
    people: { readQuotaRcuPerSecond: 1 },
    places: { readQuotaRcuPerSecond: 1 },
  };
  const quota = new ReadQuota(settings, stores, { nowMs: clock.nowMs });
  const people = quota.forStoreVersion("people_v3", "people");
  const places = quota.forStoreVersion("places_v1", "places");
  assert.equal(quota.tryAcquire(people, 50, false), QuotaVerdict.ALLOWED);
  assert.equal(quota.tryAcquire(places, 45, false), QuotaVerdict.ALLOWED);
  assert.equal(quota.tryAcquire(people, 1, false), QuotaVerdict.STORE_OVER_QUOTA);

  quota.update(settings, { ...stores, people: { readQuotaRcuPerSecond: 10 } });
  assert.equal(quota.tryAcquire(people, 500, false), QuotaVerdict.ALLOWED);
  assert.equal(quota.tryAcquire(people, 1, false), QuotaVerdict.STORE_OVER_QUOTA);
  assert.equal(quota.staleTokens(places), 5);
  assert.equal(quota.tryAcquire(places, 6, false), QuotaVerdict.STORE_OVER_QUOTA);

  // Removing the quota opens the bucket; a bad value changes nothing.
  assert.throws(
    () => quota.update(settings, { people: { readQuotaRcuPerSecond: -5 } }),
    RangeError,
  );
  assert.equal(quota.tryAcquire(people, 1, false), QuotaVerdict.STORE_OVER_QUOTA);
  quota.update(settings, { ...stores, people: { readQuotaRcuPerSecond: null } });
  assert.equal(quota.tryAcquire(people, 10_000, false), QuotaVerdict.ALLOWED);
});

Deno.test("a zero quota rejects every first try", () => {
  const quota = new ReadQuota(settings, { shut: { readQuotaRcuPerSecond: 0 } });
  const shut = quota.forStoreVersion("shut_v1", "shut");
  assert.equal(quota.tryAcquire(shut, 1, false), QuotaVerdict.STORE_OVER_QUOTA);
  assert.equal(quota.tryAcquire(shut, 1, true), QuotaVerdict.ALLOWED);
});

Deno.test("released store-version buckets are reused, and running out is a clear error", () => {
  const quota = new ReadQuota(settings, { s: { readQuotaRcuPerSecond: 1 } }, {
    maxStoreVersions: 2,
  });
  const a = quota.forStoreVersion("s_v1", "s");
  quota.forStoreVersion("s_v2", "s");
  assert.throws(() => quota.forStoreVersion("s_v3", "s"), /all 2 store-version buckets are in use/);
  quota.release(a);
  const c = quota.forStoreVersion("s_v3", "s");
  assert.equal(c.bucket, a.bucket);
  assert.equal(quota.tryAcquire(c, 50, false), QuotaVerdict.ALLOWED);
});

Deno.test("a worker isolate draws from the same shared buckets", async () => {
  const quota = new ReadQuota(settings, { people: { readQuotaRcuPerSecond: 1 } }, {
    maxStoreVersions: 8,
  });
  const people = quota.forStoreVersion("people_v3", "people");
  const moduleUrl = new URL("../src/quota/mod.ts", import.meta.url).href;
  const source = `
    import { ReadQuotaView } from ${JSON.stringify(moduleUrl)};
    self.onmessage = (e) => {
      const { buffer, bucket } = e.data;
      const view = new ReadQuotaView(buffer, 8);
      const verdicts = [];
      for (let i = 0; i < 6; i++) verdicts.push(view.tryAcquire(bucket, 10, false));
      self.postMessage(verdicts);
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const verdicts = await new Promise<number[]>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      worker.postMessage({ buffer: quota.sharedBuffer, bucket: people.bucket });
    });
    assert.deepEqual(verdicts, [0, 0, 0, 0, 0, QuotaVerdict.STORE_OVER_QUOTA]);
    assert.equal(quota.staleTokens(people), 0);
    assert.equal(quota.tryAcquire(people, 1, false), QuotaVerdict.STORE_OVER_QUOTA);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});
