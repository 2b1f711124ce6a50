/**
 * libzstd through Deno FFI: one-shot compress/decompress, dictionaries (digested once into
 * CDict/DDict and cached per dictionary), a streaming fallback for frames that do not record
 * their content size, and ZDICT dictionary training.
 *
 * Why FFI and not node:zlib: Deno 2.8.3's node:zlib has zstd, but it cannot train
 * dictionaries, and its one-shot compressor writes frames without a content size, which
 * Venice's ZstdWithDictCompressor refuses to decompress ("The size of the compressed payload
 * cannot be known"). libzstd's ZSTD_compress* record the size, as zstd-jni does.
 *
 * Native memory: contexts and digested dictionaries are owned by one JS object each, freed
 * by `close()` (safe twice) with a FinalizationRegistry as a backstop only.
 */

import { openLibrary } from "./library.ts";

const SYMBOLS = {
  /** unsigned ZSTD_versionNumber(void) */
  ZSTD_versionNumber: { parameters: [], result: "u32" },
  /** int ZSTD_defaultCLevel(void) (libzstd >= 1.5.0) */
  ZSTD_defaultCLevel: { parameters: [], result: "i32", optional: true },
  /** int ZSTD_maxCLevel(void) */
  ZSTD_maxCLevel: { parameters: [], result: "i32" },
  /** int ZSTD_minCLevel(void) */
  ZSTD_minCLevel: { parameters: [], result: "i32" },
  /** size_t ZSTD_compressBound(size_t srcSize) */
  ZSTD_compressBound: { parameters: ["usize"], result: "usize" },
  /** unsigned ZSTD_isError(size_t code) */
  ZSTD_isError: { parameters: ["usize"], result: "u32" },
  /** const char* ZSTD_getErrorName(size_t code) */
  ZSTD_getErrorName: { parameters: ["usize"], result: "pointer" },
  /** unsigned long long ZSTD_getFrameContentSize(const void* src, size_t srcSize) */
  ZSTD_getFrameContentSize: { parameters: ["buffer", "usize"], result: "u64" },
  /** ZSTD_CCtx* ZSTD_createCCtx(void) */
  ZSTD_createCCtx: { parameters: [], result: "pointer" },
  /** size_t ZSTD_freeCCtx(ZSTD_CCtx* cctx) */
  ZSTD_freeCCtx: { parameters: ["pointer"], result: "usize" },
  /** ZSTD_DCtx* ZSTD_createDCtx(void) */
  ZSTD_createDCtx: { parameters: [], result: "pointer" },
  /** size_t ZSTD_freeDCtx(ZSTD_DCtx* dctx) */
  ZSTD_freeDCtx: { parameters: ["pointer"], result: "usize" },
  /**
   * size_t ZSTD_compressCCtx(ZSTD_CCtx* cctx, void* dst, size_t dstCapacity,
   *                          const void* src, size_t srcSize, int compressionLevel)
   */
  ZSTD_compressCCtx: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "i32"],
    result: "usize",
  },
  /**
   * size_t ZSTD_decompressDCtx(ZSTD_DCtx* dctx, void* dst, size_t dstCapacity,
   *                            const void* src, size_t srcSize)
   */
  ZSTD_decompressDCtx: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize"],
    result: "usize",
  },
  /** ZSTD_CDict* ZSTD_createCDict(const void* dictBuffer, size_t dictSize, int compressionLevel) */
  ZSTD_createCDict: { parameters: ["buffer", "usize", "i32"], result: "pointer" },
  /** size_t ZSTD_freeCDict(ZSTD_CDict* CDict) */
  ZSTD_freeCDict: { parameters: ["pointer"], result: "usize" },
  /** ZSTD_DDict* ZSTD_createDDict(const void* dictBuffer, size_t dictSize) */
  ZSTD_createDDict: { parameters: ["buffer", "usize"], result: "pointer" },
  /** size_t ZSTD_freeDDict(ZSTD_DDict* ddict) */
  ZSTD_freeDDict: { parameters: ["pointer"], result: "usize" },
  /**
   * size_t ZSTD_compress_usingCDict(ZSTD_CCtx* cctx, void* dst, size_t dstCapacity,
   *                                 const void* src, size_t srcSize, const ZSTD_CDict* cdict)
   */
  ZSTD_compress_usingCDict: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "pointer"],
    result: "usize",
  },
  /**
   * size_t ZSTD_decompress_usingDDict(ZSTD_DCtx* dctx, void* dst, size_t dstCapacity,
   *                                   const void* src, size_t srcSize, const ZSTD_DDict* ddict)
   */
  ZSTD_decompress_usingDDict: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "pointer"],
    result: "usize",
  },
  /** size_t ZSTD_DCtx_reset(ZSTD_DCtx* dctx, ZSTD_ResetDirective reset) */
  ZSTD_DCtx_reset: { parameters: ["pointer", "i32"], result: "usize" },
  /** size_t ZSTD_DCtx_refDDict(ZSTD_DCtx* dctx, const ZSTD_DDict* ddict) */
  ZSTD_DCtx_refDDict: { parameters: ["pointer", "pointer"], result: "usize" },
  /**
   * size_t ZSTD_decompressStream(ZSTD_DCtx* zds, ZSTD_outBuffer* output, ZSTD_inBuffer* input)
   * where both buffers are { void* ptr; size_t size; size_t pos; }
   */
  ZSTD_decompressStream: { parameters: ["pointer", "buffer", "buffer"], result: "usize" },
  /**
   * size_t ZDICT_trainFromBuffer(void* dictBuffer, size_t dictBufferCapacity,
   *                              const void* samplesBuffer, const size_t* samplesSizes,
   *                              unsigned nbSamples)
   */
  ZDICT_trainFromBuffer: {
    parameters: ["buffer", "usize", "buffer", "buffer", "u32"],
    result: "usize",
  },
  /** unsigned ZDICT_isError(size_t errorCode) */
  ZDICT_isError: { parameters: ["usize"], result: "u32" },
  /** const char* ZDICT_getErrorName(size_t errorCode) */
  ZDICT_getErrorName: { parameters: ["usize"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** zstd.h: ZSTD_CONTENTSIZE_UNKNOWN (0ULL - 1) and ZSTD_CONTENTSIZE_ERROR (0ULL - 2). */
const CONTENTSIZE_UNKNOWN = 0xffffffffffffffffn;
const CONTENTSIZE_ERROR = 0xfffffffffffffffen;
/** zstd.h: ZSTD_reset_session_only. */
const RESET_SESSION_ONLY = 1;
/** Decompressed sizes above this are refused rather than allocated. */
export const MAX_DECOMPRESSED_SIZE = 0x7fffffff;
/** Java Zstd.defaultCompressionLevel(), i.e. ZSTD_CLEVEL_DEFAULT. */
export const ZSTD_DEFAULT_LEVEL = 3;

/** A libzstd or ZDICT failure, carrying the library's error name. */
export class ZstdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ZstdError";
  }
}

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let lib: Lib | null = null;
let cctx: Deno.PointerValue = null;
let dctx: Deno.PointerValue = null;

/** Opens libzstd on first use; `ZSTD_LIB` overrides the path. */
export function zstdLibrary(): Lib {
  if (lib) return lib;
  const opened = openLibrary({
    label: "zstd",
    envVar: "ZSTD_LIB",
    candidates: {
      linux: ["libzstd.so.1", "libzstd.so", "/usr/lib/x86_64-linux-gnu/libzstd.so.1"],
      darwin: [
        "libzstd.1.dylib",
        "libzstd.dylib",
        "/opt/homebrew/lib/libzstd.1.dylib",
        "/usr/local/lib/libzstd.1.dylib",
      ],
      windows: ["zstd.dll", "libzstd.dll"],
    },
    installHint: "Debian: apt-get install libzstd1; macOS: brew install zstd",
  }, SYMBOLS);
  lib = opened.symbols;
  // Process-wide contexts: JS runs one call at a time per isolate, so one of each suffices.
  cctx = lib.ZSTD_createCCtx();
  dctx = lib.ZSTD_createDCtx();
  if (cctx === null || dctx === null) throw new ZstdError("Cannot allocate zstd contexts");
  return lib;
}

function cString(p: Deno.PointerValue): string {
  return p === null ? "unknown error" : new Deno.UnsafePointerView(p).getCString();
}

function check(l: Lib, result: number | bigint, what: string): number {
  const code = BigInt(result);
  if (l.ZSTD_isError(code)) {
    throw new ZstdError(`${what} failed: ${cString(l.ZSTD_getErrorName(code))}`);
  }
  return Number(result);
}

/** libzstd's version as "major.minor.patch". */
export function zstdVersion(): string {
  const v = zstdLibrary().ZSTD_versionNumber();
  return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
}

export function zstdDefaultLevel(): number {
  const l = zstdLibrary();
  return l.ZSTD_defaultCLevel ? l.ZSTD_defaultCLevel() : ZSTD_DEFAULT_LEVEL;
}

export function zstdLevelRange(): { min: number; max: number } {
  const l = zstdLibrary();
  return { min: l.ZSTD_minCLevel(), max: l.ZSTD_maxCLevel() };
}

/** One zstd frame of `src` (content size recorded in the frame header). */
export function zstdCompress(src: Uint8Array, level = ZSTD_DEFAULT_LEVEL): Uint8Array {
  const l = zstdLibrary();
  const dst = new Uint8Array(Number(l.ZSTD_compressBound(BigInt(src.length))));
  const n = check(
    l,
    l.ZSTD_compressCCtx(cctx, dst, BigInt(dst.length), src, BigInt(src.length), level),
    "ZSTD_compressCCtx",
  );
  return dst.slice(0, n);
}

/** Decompresses one or more frames; frames without a content size go through streaming. */
export function zstdDecompress(src: Uint8Array): Uint8Array {
  return decompressWith(zstdLibrary(), src, null);
}

function decompressWith(l: Lib, src: Uint8Array, ddict: Deno.PointerValue): Uint8Array {
  const size = BigInt(l.ZSTD_getFrameContentSize(src, BigInt(src.length)));
  if (size === CONTENTSIZE_ERROR) {
    throw new ZstdError("Not a zstd frame (bad magic or truncated header)");
  }
  if (size === CONTENTSIZE_UNKNOWN) return decompressStreaming(l, src, ddict);
  if (size > BigInt(MAX_DECOMPRESSED_SIZE)) {
    throw new ZstdError(`Decompressed size ${size} exceeds ${MAX_DECOMPRESSED_SIZE} bytes`);
  }
  const expected = Number(size);
  // One spare byte: a stream of several frames whose total exceeds the first frame's size
  // fails with "Destination buffer is too small" instead of being silently cut.
  const dst = new Uint8Array(expected + 1);
  const n = ddict === null
    ? check(
      l,
      l.ZSTD_decompressDCtx(dctx, dst, BigInt(dst.length), src, BigInt(src.length)),
      "ZSTD_decompressDCtx",
    )
    : check(
      l,
      l.ZSTD_decompress_usingDDict(dctx, dst, BigInt(dst.length), src, BigInt(src.length), ddict),
      "ZSTD_decompress_usingDDict",
    );
  if (n !== expected) {
    throw new ZstdError(`Decompressed ${n} bytes, the frame header promised ${expected}`);
  }
  return dst.subarray(0, n);
}

/** ZSTD_decompressStream into a growing buffer, for frames that do not declare their size. */
function decompressStreaming(l: Lib, src: Uint8Array, ddict: Deno.PointerValue): Uint8Array {
  check(l, l.ZSTD_DCtx_reset(dctx, RESET_SESSION_ONLY), "ZSTD_DCtx_reset");
  check(l, l.ZSTD_DCtx_refDDict(dctx, ddict), "ZSTD_DCtx_refDDict");
  try {
    let out = new Uint8Array(Math.max(1024, src.length * 4));
    const inBuf = new BigUint64Array([ptrValue(src), BigInt(src.length), 0n]);
    const outBuf = new BigUint64Array(3);
    let produced = 0;
    for (;;) {
      outBuf[0] = ptrValue(out);
      outBuf[1] = BigInt(out.length);
      outBuf[2] = BigInt(produced);
      const before = produced + Number(inBuf[2]);
      const hint = check(l, l.ZSTD_decompressStream(dctx, outBuf, inBuf), "ZSTD_decompressStream");
      produced = Number(outBuf[2]);
      const consumed = Number(inBuf[2]);
      if (produced + consumed === before && produced < out.length) {
        throw new ZstdError("Zstd stream made no progress (corrupt input)");
      }
      if (hint === 0 && consumed === src.length) return out.slice(0, produced);
      if (produced < out.length && consumed === src.length) {
        throw new ZstdError("Truncated zstd frame");
      }
      if (produced === out.length) {
        if (out.length >= MAX_DECOMPRESSED_SIZE) {
          throw new ZstdError(`Decompressed size exceeds ${MAX_DECOMPRESSED_SIZE} bytes`);
        }
        const bigger = new Uint8Array(Math.min(out.length * 2, MAX_DECOMPRESSED_SIZE));
        bigger.set(out);
        out = bigger;
      }
    }
  } finally {
    l.ZSTD_DCtx_reset(dctx, RESET_SESSION_ONLY);
    l.ZSTD_DCtx_refDDict(dctx, null);
  }
}

function ptrValue(buf: Uint8Array): bigint {
  // A zero-length buffer has no address to take; zstd accepts NULL with size 0.
  if (buf.length === 0) return 0n;
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>)));
}

const finalizer = new FinalizationRegistry<{ cdict: Deno.PointerValue; ddict: Deno.PointerValue }>(
  (held) => freeDicts(held.cdict, held.ddict),
);

function freeDicts(cdict: Deno.PointerValue, ddict: Deno.PointerValue): void {
  const l = zstdLibrary();
  if (cdict !== null) l.ZSTD_freeCDict(cdict);
  if (ddict !== null) l.ZSTD_freeDDict(ddict);
}

/**
 * A dictionary digested for one compression level, as Venice's ZstdWithDictCompressor keeps
 * a ZstdDictCompress(dictionary, level) and a ZstdDictDecompress(dictionary).
 */
export class ZstdDictionary {
  readonly level: number;
  readonly byteLength: number;
  #cdict: Deno.PointerValue;
  #ddict: Deno.PointerValue;
  readonly #token = {};

  constructor(dictionary: Uint8Array, level = ZSTD_DEFAULT_LEVEL) {
    const l = zstdLibrary();
    this.level = level;
    this.byteLength = dictionary.length;
    this.#cdict = l.ZSTD_createCDict(dictionary, BigInt(dictionary.length), level);
    this.#ddict = l.ZSTD_createDDict(dictionary, BigInt(dictionary.length));
    if (this.#cdict === null || this.#ddict === null) {
      freeDicts(this.#cdict, this.#ddict);
      throw new ZstdError("Cannot load zstd dictionary");
    }
    finalizer.register(this, { cdict: this.#cdict, ddict: this.#ddict }, this.#token);
  }

  compress(src: Uint8Array): Uint8Array {
    const l = zstdLibrary();
    const dst = new Uint8Array(Number(l.ZSTD_compressBound(BigInt(src.length))));
    const n = check(
      l,
      l.ZSTD_compress_usingCDict(
        cctx,
        dst,
        BigInt(dst.length),
        src,
        BigInt(src.length),
        this.#live("c"),
      ),
      "ZSTD_compress_usingCDict",
    );
    return dst.slice(0, n);
  }

  decompress(src: Uint8Array): Uint8Array {
    return decompressWith(zstdLibrary(), src, this.#live("d"));
  }

  #live(which: "c" | "d"): Deno.PointerValue {
    const p = which === "c" ? this.#cdict : this.#ddict;
    if (p === null) throw new ZstdError("Zstd dictionary is closed");
    return p;
  }

  close(): void {
    if (this.#cdict === null && this.#ddict === null) return;
    finalizer.unregister(this.#token);
    freeDicts(this.#cdict, this.#ddict);
    this.#cdict = null;
    this.#ddict = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Trains a dictionary of at most `maxDictSize` bytes from samples (ZDICT_trainFromBuffer),
 * what Venice's push job does through zstd-jni's ZstdDictTrainer
 * (clients/venice-push-job/.../hadoop/PushJobZstdConfig.java: dictionary size limit defaults
 * to VeniceWriter.DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES, 950 KiB; sample
 * budget 200 MiB).
 */
export function zstdTrainDictionary(
  samples: readonly Uint8Array[],
  maxDictSize: number,
): Uint8Array {
  const l = zstdLibrary();
  let total = 0;
  for (const s of samples) total += s.length;
  const joined = new Uint8Array(total);
  const sizes = new BigUint64Array(samples.length);
  let o = 0;
  samples.forEach((s, i) => {
    joined.set(s, o);
    o += s.length;
    sizes[i] = BigInt(s.length);
  });
  const dict = new Uint8Array(maxDictSize);
  const n = l.ZDICT_trainFromBuffer(
    dict,
    BigInt(maxDictSize),
    joined,
    new Uint8Array(sizes.buffer),
    samples.length,
  );
  if (l.ZDICT_isError(BigInt(n))) {
    throw new ZstdError(
      `ZDICT_trainFromBuffer failed: ${cString(l.ZDICT_getErrorName(BigInt(n)))}`,
    );
  }
  return dict.slice(0, Number(n));
}
