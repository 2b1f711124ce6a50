/**
 * The V8 flags every Rialto server process starts with (the demo and the compiled
 * binary; deno.json's `rialto` task repeats them, as JSON can not import). Young-generation
 * semi-spaces of 1 MiB make each scavenge short: under single-get load on the native
 * transport the median scavenge fell from about 4 ms (V8's default) to about 0.5 ms at the
 * same throughput, which keeps GC pauses out of the latency tail (figures in the README).
 */
export const SERVER_V8_FLAGS = "--max-semi-space-size=1";
