/**
 * The V8 flags every Rialto server process starts with (the demo and the compiled
 * binary; deno.json's `rialto` task repeats them, as JSON can not import). Figures in the
 * README.
 *
 * - `--max-semi-space-size=4`: young-generation semi-spaces of 4 MiB gave the fewest GC
 *   pauses over 1 ms under single-get load on the native transport: 11 in 600k calls
 *   against 72 with V8's default (16 MiB: long scavenges) and 56 with 1 MiB (objects
 *   promoted early, so more mark-compacts).
 * - `--initial-old-space-size=64`: an old generation configured this way is also the size
 *   below which V8 skips full collections (Heap::ConfigureHeap). A serving heap holds about
 *   20 MiB and hardly grows under load, so reads at 40k/s run no mark-compact. Without it
 *   they did not either, until the server had once sat idle: the memory reducer's idle
 *   collections then left V8 growing the heap slowly, and each minute at 40k/s ran 13-22
 *   mark-compacts. The memory reducer itself stays on: it is what hands a connection
 *   burst's memory back when the server goes idle (with `--no-memory-reducer`, RSS stayed
 *   46% above its pre-burst figure after 30 s idle in bench:memory; with this flag, -3.2%
 *   and -4.3% in two runs).
 */
export const SERVER_V8_FLAGS = "--max-semi-space-size=4,--initial-old-space-size=64";
