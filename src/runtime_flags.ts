/**
 * The V8 flags every Rialto server process starts with (the demo and the compiled
 * binary; deno.json's `rialto` task repeats them, as JSON can not import). Young-generation
 * semi-spaces of 4 MiB gave the fewest GC pauses over 1 ms under single-get load on the
 * native transport: 11 in 600k calls against 72 with V8's default (16 MiB: long scavenges)
 * and 56 with 1 MiB (objects promoted early, so more mark-compacts); figures in the README.
 */
export const SERVER_V8_FLAGS = "--max-semi-space-size=4";
