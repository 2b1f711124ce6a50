/**
 * ZSTD_WITH_DICT dictionaries, built the way Venice's push job builds them.
 *
 * Sampling (clients/venice-push-job/.../InputDataInfoProvider.loadZstdTrainingSamples,
 * PushJobZstdConfig): serialized (uncompressed) values in input order, empty ones skipped;
 * the first sample is always taken, then samples while the total stays within the sample
 * budget (`compression.dictionary.sample.size`, default 200 MiB); the dictionary is at most
 * `compression.dictionary.size.limit` (default VeniceWriter's 950 KiB message limit).
 *
 * Too few samples (DefaultInputDataInfoProvider.trainZstdDictionary): under
 * MINIMUM_NUMBER_OF_SAMPLES_REQUIRED_TO_BUILD_ZSTD_DICTIONARY = 20 samples, zstd-jni can
 * crash, so Venice trains on synthetic data instead
 * (ZstdWithDictCompressor.buildDictionaryOnSyntheticAvroData): 50 FakeCompressingSchema
 * records {id: i, name: "<i>_name"}, dictionary limit 100 KiB.
 */
import { zstdTrainDictionary } from "../../ffi/zstd.ts";
import { DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES } from "../venice/chunking.ts";
import { AvroWriter } from "../venice/avro_binary.ts";
import { messageOf, StoreToolError } from "./errors.ts";

/** VenicePushJobConstants.DEFAULT_COMPRESSION_DICTIONARY_SAMPLE_SIZE. */
export const DEFAULT_DICTIONARY_SAMPLE_BYTES = 200 * 1024 * 1024;
/** Default compression.dictionary.size.limit. */
export const DEFAULT_DICTIONARY_MAX_BYTES = DEFAULT_MAX_SIZE_FOR_USER_PAYLOAD_PER_MESSAGE_IN_BYTES;
/** VenicePushJobConstants.MINIMUM_NUMBER_OF_SAMPLES_REQUIRED_TO_BUILD_ZSTD_DICTIONARY. */
export const MIN_DICTIONARY_SAMPLES = 20;
const SYNTHETIC_DICTIONARY_MAX_BYTES = 100 * 1024;

/** Collects training samples as the push job does; `add` returns false once full. */
export class DictionarySampler {
  readonly #budget: number;
  readonly samples: Uint8Array[] = [];
  #bytes = 0;
  #full = false;

  constructor(budgetBytes = DEFAULT_DICTIONARY_SAMPLE_BYTES) {
    this.#budget = budgetBytes;
  }

  get full(): boolean {
    return this.#full;
  }

  add(value: Uint8Array): boolean {
    if (this.#full) return false;
    if (value.length === 0) return true;
    if (this.#bytes + value.length > this.#budget) {
      this.#full = true;
      return false;
    }
    this.samples.push(value.slice());
    this.#bytes += value.length;
    return true;
  }
}

/** Venice's fallback dictionary for inputs with fewer than 20 samples. */
export function syntheticDictionary(): Uint8Array {
  const samples: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) {
    // FakeCompressingSchema {id: int, name: string}
    samples.push(new AvroWriter(16).writeInt(i).writeString(`${i}_name`).toBytes());
  }
  return zstdTrainDictionary(samples, SYNTHETIC_DICTIONARY_MAX_BYTES);
}

/** The dictionary a push job would train from these samples. */
export function trainDictionary(
  samples: readonly Uint8Array[],
  maxBytes = DEFAULT_DICTIONARY_MAX_BYTES,
): Uint8Array {
  if (samples.length < MIN_DICTIONARY_SAMPLES) return syntheticDictionary();
  try {
    return zstdTrainDictionary(samples, maxBytes);
  } catch (error) {
    throw new StoreToolError(
      `Cannot train a ZSTD dictionary from ${samples.length} values: ${messageOf(error)}`,
      { cause: error },
    );
  }
}
