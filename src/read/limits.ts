/** The read path's limits from config, for the server and every worker alike. */
import type { RialtoConfig } from "../config/schema.ts";
import type { ReadLimits } from "./read_service.ts";

export function readLimits(config: RialtoConfig): ReadLimits {
  return {
    maxKeysPerBatch: config.grpc.maxKeysPerBatch ?? Infinity,
    asyncBatchMinKeys: config.grpc.asyncBatchMinKeys ?? 0,
  };
}
