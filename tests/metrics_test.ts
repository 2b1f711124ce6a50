import assert from "node:assert/strict";
import { Buckets, Histogram, ReadMetrics, RuntimeMetrics } from "../src/metrics/mod.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus 0.0.4 text format, enough to check what we emit. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  assert.ok(text.endsWith("\n"), "exposition ends with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) continue;
    const type = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/);
    if (type) {
      assert.ok(!types.has(type[1]), `TYPE for ${type[1]} given twice`);
      types.set(type[1], type[2]);
      continue;
    }
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    assert.ok(m, `malformed line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const pair of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g)) {
        labels[pair[1]] = pair[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      }
    }
    const value = m[3] === "+Inf" ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `bad value in ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(m[1]) || types.has(family), `sample before its TYPE: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
    Object.keys(s.labels).length === Object.keys(labels).length
  );
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)} found ${found.length} times`);
  return found[0].value;
}

Deno.test("histogram puts values on bucket bounds into that bucket", () => {
  const h = new Histogram(new Buckets([1, 2, 5]));
  for (const v of [0, 1, 1.5, 2, 5, 5.01, 100]) h.observe(v);
  assert.deepEqual([...h.data], [2, 2, 1, 2, 0 + 1 + 1.5 + 2 + 5 + 5.01 + 100]);
  assert.throws(() => new Buckets([1, 1]), RangeError);
});

Deno.test("known traffic renders exact counts, buckets and totals", () => {
  const metrics = new ReadMetrics();
  const people = metrics.forStore("people");
  const places = metrics.forStore("places");
  assert.equal(metrics.forStore("people"), people);

  // people: 3 found gets, 1 missing get, 1 batch of 4 keys (1 missing), errors, rejections.
  people.recordGet(0.00004, 60, 8, 100, 120, true); // <= 50 µs
  people.recordGet(0.00009, 60, 8, 300, 320, true); // <= 100 µs
  people.recordGet(0.0008, 60, 8, 5000, 5020, true); // <= 1 ms
  people.recordGet(0.00002, 60, 9, 0, 30, false); // <= 25 µs, not found
  people.recordStorageQuery(false, 0.000004);
  people.recordBatchGet(0.002, 400, 4, 1, 900);
  for (const size of [8, 8, 9, 70]) people.recordBatchKeySize(size);
  for (const size of [100, 200, 300]) people.recordBatchValueSize(size);
  people.recordError(false, 0.003);
  people.recordError(true, 0.02);
  people.recordQuotaRejected(1);
  people.recordQuotaRejected(50);
  people.recordOverCapacity();
  people.recordAuthDenied();
  people.recordAuthDenied();
  // places: 1 get.
  places.recordGet(12, 10, 4, 4, 10, true); // beyond 10 s: +Inf only

  const { samples, types } = parseExposition(metrics.render());
  const p = { store: "people" };
  const t = { store: "total" };
  assert.equal(types.get("rialto_success_request_total"), "counter");
  assert.equal(types.get("rialto_multiget_success_request_latency_seconds"), "histogram");
  assert.equal(value(samples, "rialto_success_request_total", p), 4);
  assert.equal(value(samples, "rialto_success_request_total", t), 5);
  assert.equal(value(samples, "rialto_key_not_found_total", p), 1);
  assert.equal(value(samples, "rialto_multiget_success_request_total", p), 1);
  assert.equal(value(samples, "rialto_multiget_key_not_found_total", p), 1);
  assert.equal(value(samples, "rialto_error_request_total", p), 1);
  assert.equal(value(samples, "rialto_multiget_error_request_total", t), 1);
  assert.equal(value(samples, "rialto_quota_rejected_request_total", p), 2);
  assert.equal(value(samples, "rialto_quota_rejected_key_count_total", t), 51);
  assert.equal(value(samples, "rialto_server_over_capacity_request_total", p), 1);
  assert.equal(value(samples, "rialto_auth_denied_request_total", t), 2);

  const lat = "rialto_success_request_latency_seconds";
  assert.equal(value(samples, `${lat}_bucket`, { ...p, le: "0.000025" }), 1);
  assert.equal(value(samples, `${lat}_bucket`, { ...p, le: "0.00005" }), 2);
  assert.equal(value(samples, `${lat}_bucket`, { ...p, le: "0.0001" }), 3);
  assert.equal(value(samples, `${lat}_bucket`, { ...p, le: "0.00075" }), 3);
  assert.equal(value(samples, `${lat}_bucket`, { ...p, le: "0.001" }), 4);
  assert.equal(value(samples, `${lat}_bucket`, { ...p, le: "+Inf" }), 4);
  assert.equal(value(samples, `${lat}_count`, p), 4);
  assert.ok(Math.abs(value(samples, `${lat}_sum`, p) - 0.00095) < 1e-12);
  assert.equal(value(samples, `${lat}_bucket`, { ...t, le: "10" }), 4);
  assert.equal(value(samples, `${lat}_bucket`, { ...t, le: "+Inf" }), 5);
  assert.ok(Math.abs(value(samples, `${lat}_sum`, t) - 12.00095) < 1e-9);

  const values = "rialto_request_value_size_bytes";
  assert.equal(value(samples, `${values}_count`, p), 3); // the missing key has no value
  assert.equal(value(samples, `${values}_bucket`, { ...p, le: "256" }), 1);
  assert.equal(value(samples, `${values}_bucket`, { ...p, le: "1024" }), 2);
  assert.equal(value(samples, `${values}_sum`, p), 5400);
  assert.equal(value(samples, "rialto_multiget_request_key_size_bytes_count", p), 4);
  assert.equal(
    value(samples, "rialto_multiget_request_key_size_bytes_bucket", { ...p, le: "64" }),
    3,
  );
  assert.equal(value(samples, "rialto_multiget_request_value_size_bytes_sum", p), 600);
  assert.equal(value(samples, "rialto_multiget_request_key_count_bucket", { ...p, le: "2" }), 0);
  assert.equal(value(samples, "rialto_multiget_request_key_count_bucket", { ...p, le: "5" }), 1);
  assert.equal(value(samples, "rialto_request_key_count_sum", t), 5);
  assert.equal(value(samples, "rialto_storage_engine_query_latency_seconds_count", p), 1);
  assert.equal(
    value(samples, "rialto_multiget_error_request_latency_seconds_bucket", {
      ...p,
      le: "0.01",
    }),
    0,
  );
  assert.equal(
    value(samples, "rialto_multiget_error_request_latency_seconds_bucket", {
      ...p,
      le: "0.025",
    }),
    1,
  );

  // Every histogram's buckets rise to its count.
  for (const [name, type] of types) {
    if (type !== "histogram") continue;
    for (const store of ["people", "places", "total"]) {
      const buckets = samples.filter((s) =>
        s.name === `${name}_bucket` && s.labels.store === store
      );
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value);
      assert.equal(buckets.at(-1)!.labels.le, "+Inf");
      assert.equal(buckets.at(-1)!.value, value(samples, `${name}_count`, { store }));
    }
  }
});

Deno.test("store names are escaped in labels, and an empty registry renders", () => {
  const empty = parseExposition(new ReadMetrics().render());
  assert.equal(value(empty.samples, "rialto_success_request_total", { store: "total" }), 0);
  const metrics = new ReadMetrics();
  metrics.forStore('we"ird\\store').recordAuthDenied();
  const { samples } = parseExposition(metrics.render());
  assert.equal(value(samples, "rialto_auth_denied_request_total", { store: 'we"ird\\store' }), 1);
});

Deno.test("runtime metrics see a blocked event loop and real GC pauses", async () => {
  const runtime = new RuntimeMetrics({ resolutionMs: 5 });
  runtime.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 30));
    const until = performance.now() + 120;
    while (performance.now() < until) { /* block the loop */ }
    await new Promise((resolve) => setTimeout(resolve, 30));
    let junk: unknown[] = [];
    for (let i = 0; i < 2_000_000; i++) {
      junk.push({ i });
      if (junk.length > 10_000) junk = [];
    }
    runtime.collectGc();
    assert.equal(runtime.gcSupported, true);

    const metrics = new ReadMetrics({ runtime });
    const { samples, types } = parseExposition(metrics.render());
    assert.equal(types.get("rialto_event_loop_delay_seconds"), "histogram");
    const count = value(samples, "rialto_event_loop_delay_seconds_count", {});
    const under50ms = value(samples, "rialto_event_loop_delay_seconds_bucket", { le: "0.05" });
    assert.ok(count > 0);
    assert.ok(count - under50ms >= 1, "the 120 ms block shows as a delay over 50 ms");
    const scavenges = value(samples, "rialto_gc_pause_seconds_count", { type: "Scavenge" });
    assert.ok(scavenges > 0, "allocation churn made scavenges");
    assert.ok(value(samples, "rialto_gc_pause_seconds_sum", { type: "Scavenge" }) > 0);
    assert.ok(value(samples, "rialto_heap_used_bytes", {}) > 0);
  } finally {
    runtime.stop();
  }
});
