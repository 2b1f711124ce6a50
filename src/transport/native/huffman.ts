/**
 * HPACK Huffman decoding (RFC 7541 §5.2, Appendix B).
 *
 * The HPACK code is canonical, so the table below holds only the code length of each
 * symbol (0..255 and EOS = 256); the codes follow from the lengths. At load the codes
 * become a binary tree and the tree a nibble-driven state machine: every state is an
 * internal tree node, every input nibble moves to a new state and emits at most one
 * symbol (the shortest code is 5 bits, so 4 bits can never complete two).
 */

/** Code length in bits of each symbol, index = symbol, 256 = EOS (RFC 7541 Appendix B). */
const CODE_LENGTHS = [
  13,
  23,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  24,
  30,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  6,
  10,
  10,
  12,
  13,
  6,
  8,
  11,
  10,
  10,
  8,
  11,
  8,
  6,
  6,
  6,
  5,
  5,
  5,
  6,
  6,
  6,
  6,
  6,
  6,
  6,
  7,
  8,
  15,
  6,
  12,
  10,
  13,
  6,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  8,
  7,
  8,
  13,
  19,
  13,
  14,
  6,
  15,
  5,
  6,
  5,
  6,
  5,
  6,
  6,
  6,
  5,
  7,
  7,
  6,
  6,
  6,
  5,
  6,
  7,
  6,
  5,
  5,
  6,
  7,
  7,
  7,
  7,
  7,
  15,
  11,
  14,
  13,
  28,
  20,
  22,
  20,
  20,
  22,
  22,
  22,
  23,
  22,
  23,
  23,
  23,
  23,
  23,
  24,
  23,
  24,
  24,
  22,
  23,
  24,
  23,
  23,
  23,
  23,
  21,
  22,
  23,
  22,
  23,
  23,
  24,
  22,
  21,
  20,
  22,
  22,
  23,
  23,
  21,
  23,
  22,
  22,
  24,
  21,
  22,
  23,
  23,
  21,
  21,
  22,
  21,
  23,
  22,
  23,
  23,
  20,
  22,
  22,
  22,
  23,
  22,
  22,
  23,
  26,
  26,
  20,
  19,
  22,
  23,
  22,
  25,
  26,
  26,
  26,
  27,
  27,
  26,
  24,
  25,
  19,
  21,
  26,
  27,
  27,
  26,
  27,
  24,
  21,
  21,
  26,
  26,
  28,
  27,
  27,
  27,
  20,
  24,
  20,
  21,
  22,
  21,
  21,
  23,
  22,
  22,
  25,
  25,
  24,
  24,
  26,
  23,
  26,
  27,
  26,
  26,
  27,
  27,
  27,
  27,
  27,
  28,
  27,
  27,
  27,
  27,
  27,
  26,
  30,
] as const;

const EOS = 256;

/** Canonical codes: sorted by (length, symbol), each code is the previous plus one, shifted. */
function canonicalCodes(): { codes: Uint32Array; lengths: Uint8Array } {
  const lengths = Uint8Array.from(CODE_LENGTHS);
  const order = Array.from({ length: 257 }, (_, s) => s).sort((a, b) =>
    lengths[a] - lengths[b] || a - b
  );
  const codes = new Uint32Array(257);
  let code = 0;
  let previousLength = lengths[order[0]];
  for (let i = 0; i < order.length; i++) {
    const symbol = order[i];
    if (i > 0) code = (code + 1) * 2 ** (lengths[symbol] - previousLength);
    previousLength = lengths[symbol];
    codes[symbol] = code;
  }
  return { codes, lengths };
}

export const HUFFMAN = canonicalCodes();

// Tree: node 0 is the root; child[node*2+bit] > 0 is an internal node, < 0 is a leaf
// holding -(symbol + 1).
function buildTree(): { child: Int32Array; nodes: number } {
  const child = new Int32Array(257 * 2 * 2);
  let nodes = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const length = HUFFMAN.lengths[symbol];
    const code = HUFFMAN.codes[symbol];
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const b = Math.floor(code / 2 ** bit) & 1;
      const slot = node * 2 + b;
      if (bit === 0) {
        child[slot] = -(symbol + 1);
      } else {
        if (child[slot] === 0) child[slot] = nodes++;
        node = child[slot];
      }
    }
  }
  return { child, nodes };
}

// State machine: NEXT[state*16+nibble] = next state; EMIT[...] = symbol emitted, -1 none,
// EOS marks a decoding error (EOS inside a string). ACCEPT[state] = 1 when the bits
// consumed since the last symbol are all ones and at most 7 long (valid padding).
const { NEXT, EMIT, ACCEPT } = (() => {
  const { child, nodes } = buildTree();
  const next = new Uint16Array(nodes * 16);
  const emit = new Int16Array(nodes * 16).fill(-1);
  const depth = new Int8Array(nodes).fill(-1); // depth if reached by all ones, else -1
  depth[0] = 0;
  // Internal nodes were numbered in creation order, parents before children.
  for (let node = 0; node < nodes; node++) {
    const one = child[node * 2 + 1];
    if (one > 0 && depth[node] >= 0) depth[one] = depth[node] + 1;
  }
  const accept = new Uint8Array(nodes);
  for (let node = 0; node < nodes; node++) {
    accept[node] = depth[node] >= 0 && depth[node] <= 7 ? 1 : 0;
  }
  for (let state = 0; state < nodes; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let emitted = -1;
      for (let bit = 3; bit >= 0; bit--) {
        const c = child[node * 2 + ((nibble >> bit) & 1)];
        if (c < 0) {
          emitted = -c - 1;
          node = 0;
          if (emitted === EOS) break;
        } else {
          node = c;
        }
      }
      next[state * 16 + nibble] = node;
      emit[state * 16 + nibble] = emitted;
    }
  }
  return { NEXT: next, EMIT: emit, ACCEPT: accept };
})();

/**
 * Decodes `src[start, end)` into `out` (which must hold at least (end - start) * 8 / 5
 * bytes) and returns the number of bytes written, or -1 when the input is not a valid
 * HPACK Huffman string (EOS symbol, or padding longer than 7 bits or not all ones).
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
): number {
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i];
    let k = state * 16 + (byte >> 4);
    let sym = EMIT[k];
    state = NEXT[k];
    if (sym >= 0) {
      if (sym === EOS) return -1;
      out[n++] = sym;
    }
    k = state * 16 + (byte & 15);
    sym = EMIT[k];
    state = NEXT[k];
    if (sym >= 0) {
      if (sym === EOS) return -1;
      out[n++] = sym;
    }
  }
  return ACCEPT[state] === 1 ? n : -1;
}

/** Huffman-encodes `bytes` (used by tests and tools; responses are sent as raw literals). */
export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  let bits = 0;
  for (const b of bytes) bits += HUFFMAN.lengths[b];
  const out = new Uint8Array(Math.ceil(bits / 8));
  let acc = 0; // pending bits, at most 7 + 30, kept in a float-safe range
  let accBits = 0;
  let n = 0;
  for (const b of bytes) {
    acc = acc * 2 ** HUFFMAN.lengths[b] + HUFFMAN.codes[b];
    accBits += HUFFMAN.lengths[b];
    while (accBits >= 8) {
      accBits -= 8;
      out[n++] = Math.floor(acc / 2 ** accBits) & 0xff;
      acc = acc % 2 ** accBits;
    }
  }
  if (accBits > 0) out[n++] = ((acc << (8 - accBits)) | ((1 << (8 - accBits)) - 1)) & 0xff;
  return out;
}
