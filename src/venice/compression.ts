/**
 * Venice's value compression strategies.
 *
 * Ids: internal/venice-client-common/src/main/java/com/linkedin/venice/compression/CompressionStrategy.java
 *   NO_OP(0), GZIP(1), ZSTD(2) (@Deprecated), ZSTD_WITH_DICT(3).
 * Stored per version in StoreVersionState.compressionStrategy and sent to the client in
 * VeniceServerResponse.compressionStrategy; values go to the client still compressed.
 *
 * GZIP: GzipCompressor writes a standard gzip member (ReusableGzipOutputStream.writeHeader:
 * 1f 8b 08, flags 0, mtime 0, xfl 0, OS 0) and reads with java.util.zip.GZIPInputStream;
 * node:zlib gzip/gunzip speak the same format.
 * ZSTD_WITH_DICT: ZstdWithDictCompressor(dictionary, level), level from
 * `server.zstd.dict.compression.level`, default Zstd.defaultCompressionLevel() = 3
 * (clients/da-vinci-client/.../config/VeniceServerConfig.java). Its decompressor requires the
 * frame to record its content size. ZSTD (2) is deprecated: Venice's CompressorFactory
 * throws "Unsupported compression" for it; Rialto still reads it as plain zstd frames.
 */

import { gunzipSync, gzipSync } from "node:zlib";
import {
  ZSTD_DEFAULT_LEVEL,
  zstdCompress,
  zstdDecompress,
  ZstdDictionary,
  ZstdError,
} from "../../ffi/zstd.ts";

export const CompressionStrategy = {
  NO_OP: 0,
  GZIP: 1,
  /** Deprecated in Venice. */
  ZSTD: 2,
  ZSTD_WITH_DICT: 3,
} as const;
export type CompressionStrategyId = typeof CompressionStrategy[keyof typeof CompressionStrategy];

/** Raised when a payload cannot be compressed or decompressed with its strategy. */
export class CompressionError extends Error {
  readonly strategy: CompressionStrategyId;
  constructor(strategy: CompressionStrategyId, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CompressionError";
    this.strategy = strategy;
  }
}

export function isCompressionStrategy(n: number): n is CompressionStrategyId {
  return n === 0 || n === 1 || n === 2 || n === 3;
}

export function compressionStrategyName(id: CompressionStrategyId): string {
  return ["NO_OP", "GZIP", "ZSTD", "ZSTD_WITH_DICT"][id];
}

/** One version's compressor. `close` frees native dictionary memory (safe twice). */
export interface Compressor {
  readonly strategy: CompressionStrategyId;
  compress(data: Uint8Array): Uint8Array;
  decompress(data: Uint8Array): Uint8Array;
  close(): void;
}

export interface CompressorOptions {
  /** Required for ZSTD_WITH_DICT (StoreVersionState.compressionDictionary). */
  dictionary?: Uint8Array | null;
  /** zstd level; Venice's default is 3. */
  level?: number;
}

/** Builds the compressor for a strategy, as Venice's CompressorFactory would. */
export function createCompressor(
  strategy: number,
  options: CompressorOptions = {},
): Compressor {
  if (!isCompressionStrategy(strategy)) {
    throw new RangeError(`Unknown compression strategy ${strategy}`);
  }
  switch (strategy) {
    case CompressionStrategy.NO_OP:
      return NO_OP;
    case CompressionStrategy.GZIP:
      return GZIP;
    case CompressionStrategy.ZSTD:
      return zstdCompressor(options.level ?? ZSTD_DEFAULT_LEVEL);
    case CompressionStrategy.ZSTD_WITH_DICT: {
      if (!options.dictionary || options.dictionary.length === 0) {
        // Venice: "Null dictionary with ZSTD_WITH_DICT compression strategy isn't supported!"
        throw new CompressionError(strategy, "ZSTD_WITH_DICT needs a compression dictionary");
      }
      return new ZstdWithDictCompressor(options.dictionary, options.level ?? ZSTD_DEFAULT_LEVEL);
    }
  }
}

const NO_OP: Compressor = {
  strategy: CompressionStrategy.NO_OP,
  compress: (d) => d,
  decompress: (d) => d,
  close() {},
};

const GZIP: Compressor = {
  strategy: CompressionStrategy.GZIP,
  compress(data) {
    const out = gzipSync(data);
    // zlib writes OS 3 (Unix) in the header; Venice's ReusableGzipOutputStream writes 0.
    // No header flags are set, so byte 9 is always the OS byte.
    out[9] = 0;
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  },
  decompress(data) {
    if (data.length === 0) return data; // VeniceCompressor returns an empty buffer as is
    try {
      const out = gunzipSync(data);
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    } catch (error) {
      throw new CompressionError(
        CompressionStrategy.GZIP,
        `Cannot gunzip value: ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    }
  },
  close() {},
};

function wrapZstd<T>(strategy: CompressionStrategyId, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ZstdError) {
      throw new CompressionError(strategy, `Cannot ${what} value: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function zstdCompressor(level: number): Compressor {
  const s = CompressionStrategy.ZSTD;
  return {
    strategy: s,
    compress: (d) => wrapZstd(s, "zstd-compress", () => zstdCompress(d, level)),
    decompress: (d) => d.length === 0 ? d : wrapZstd(s, "zstd-decompress", () => zstdDecompress(d)),
    close() {},
  };
}

class ZstdWithDictCompressor implements Compressor {
  readonly strategy = CompressionStrategy.ZSTD_WITH_DICT;
  readonly #dict: ZstdDictionary;

  constructor(dictionary: Uint8Array, level: number) {
    this.#dict = wrapZstd(
      this.strategy,
      "load dictionary for",
      () => new ZstdDictionary(dictionary, level),
    );
  }

  compress(data: Uint8Array): Uint8Array {
    return wrapZstd(this.strategy, "zstd-compress", () => this.#dict.compress(data));
  }

  decompress(data: Uint8Array): Uint8Array {
    if (data.length === 0) return data; // as ZstdWithDictCompressor.decompressInternal
    return wrapZstd(this.strategy, "zstd-decompress", () => this.#dict.decompress(data));
  }

  close(): void {
    this.#dict.close();
  }
}

/**
 * Caches one compressor per dictionary content, so versions sharing a dictionary (and
 * repeated opens of one version) digest it once. Call `release` when a version closes.
 */
export class CompressorCache {
  readonly #byKey = new Map<string, { compressor: Compressor; refs: number }>();

  acquire(strategy: number, options: CompressorOptions = {}): Compressor {
    if (strategy !== CompressionStrategy.ZSTD_WITH_DICT) return createCompressor(strategy, options);
    const key = dictionaryKey(
      options.dictionary ?? new Uint8Array(0),
      options.level ?? ZSTD_DEFAULT_LEVEL,
    );
    let entry = this.#byKey.get(key);
    if (!entry) {
      entry = { compressor: createCompressor(strategy, options), refs: 0 };
      this.#byKey.set(key, entry);
    }
    entry.refs++;
    return entry.compressor;
  }

  release(compressor: Compressor): void {
    for (const [key, entry] of this.#byKey) {
      if (entry.compressor !== compressor) continue;
      if (--entry.refs === 0) {
        this.#byKey.delete(key);
        compressor.close();
      }
      return;
    }
  }

  close(): void {
    for (const entry of this.#byKey.values()) entry.compressor.close();
    this.#byKey.clear();
  }
}

function dictionaryKey(dict: Uint8Array, level: number): string {
  // The dictionary bytes themselves (latin1) are the key: exact, and dictionaries are few.
  let s = `${level}:`;
  for (let i = 0; i < dict.length; i += 0x8000) {
    s += String.fromCharCode(...dict.subarray(i, i + 0x8000));
  }
  return s;
}
