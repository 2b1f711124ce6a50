/** The per-version overrides of a config, as every isolate that reads versions applies them. */
import type { RialtoConfig } from "../config/schema.ts";
import { CompressionStrategy } from "../venice/compression.ts";
import type { VersionOverride } from "./store_version.ts";

/** `storage.versions` of `config`, keyed by resource name. */
export function versionOverrides(config: RialtoConfig): Record<string, VersionOverride> {
  const overrides: Record<string, VersionOverride> = {};
  for (const [resource, o] of Object.entries(config.storage.versions)) {
    overrides[resource] = {
      ...(o.compressionStrategy !== undefined
        ? { compressionStrategy: CompressionStrategy[o.compressionStrategy] }
        : {}),
      ...(o.chunked !== undefined ? { chunked: o.chunked } : {}),
    };
  }
  return overrides;
}
