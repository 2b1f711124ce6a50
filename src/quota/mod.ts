/** Venice's read quota: per store-version token buckets and a node-wide limiter. */
export {
  QuotaVerdict,
  ReadQuota,
  ReadQuotaView,
  SERVER_OVER_CAPACITY_MESSAGE,
} from "./read_quota.ts";
export type {
  QuotaHandle,
  QuotaSettings,
  ReadQuotaOptions,
  StoreQuotaSettings,
} from "./read_quota.ts";
export {
  bucketShapeFromRate,
  sharedClockMs,
  TokenBucket,
  TokenBucketSlab,
} from "./token_bucket.ts";
export type { BucketShape } from "./token_bucket.ts";
