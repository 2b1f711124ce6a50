/**
 * Errors of the storage layer; the read path maps each to a Venice status. Errors a Java
 * server would raise for the same data name the Java exception class, so the answer reads
 * as Venice's: `Internal Error: <class>: <message>` (GrpcStorageReadRequestHandler gets
 * the exception wrapped in an ExecutionException, whose message is the cause's toString).
 */

const VENICE_EXCEPTION = "com.linkedin.venice.exceptions.VeniceException";
const PERSISTENCE_FAILURE_EXCEPTION = "com.linkedin.venice.exceptions.PersistenceFailureException";
const NO_STORE_EXCEPTION = "com.linkedin.venice.exceptions.VeniceNoStoreException";

/** An error a Java Venice server raises too; `veniceException` is its class. */
export abstract class VeniceStorageError extends Error {
  abstract readonly veniceException: string;
}

/**
 * The server has the version but not this partition. AbstractStorageEngine's wording:
 * a partition it once held and dropped ("does not exist", getPartitionOrThrow), or one
 * it never held (no read-write lock for it, executeWithSafeGuard).
 */
export class PartitionNotHeldError extends VeniceStorageError {
  readonly veniceException: string;
  constructor(resource: string, partition: number, dropped: boolean) {
    super(
      dropped
        ? `Partition: ${partition} of store: ${resource} does not exist`
        : `Failed to get read-write lock for partition: ${partition}, store: ${resource}`,
    );
    this.name = "PartitionNotHeldError";
    this.veniceException = dropped ? PERSISTENCE_FAILURE_EXCEPTION : VENICE_EXCEPTION;
  }
}

/**
 * A partition this server holds but does not answer for: its push has not ended, or it is
 * hybrid and staler than the operator allows. Answered 503, which the Fast Client retries
 * on another replica, as a Venice server answers when it cannot serve (the HTTP path's
 * SERVICE_UNAVAILABLE "to kick off error retry").
 */
export class PartitionNotServedError extends Error {
  constructor(resource: string, partition: number, reason: string) {
    super(`Partition: ${partition} of store: ${resource} is not served: ${reason}`);
    this.name = "PartitionNotServedError";
  }
}

/**
 * The server holds no version by this name (StorageReadRequestHandler's
 * getStorageEngineOrThrow), or holds it but does not serve it yet.
 */
export class NoStoreError extends VeniceStorageError {
  readonly veniceException = NO_STORE_EXCEPTION;
  constructor(resource: string) {
    super(`Store: ${resource} does not exist.`);
    this.name = "NoStoreError";
  }
}

/**
 * A stored value that Venice could not have written: short, bad schema id, broken chunks.
 * Where Venice checks the same thing (ChunkingUtils), the message is its wording.
 */
export class CorruptValueError extends VeniceStorageError {
  readonly veniceException = VENICE_EXCEPTION;
  constructor(message: string) {
    super(message);
    this.name = "CorruptValueError";
  }
}

/** A store version that can not be opened or read as Venice's layout says. */
export class StoreVersionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreVersionError";
  }
}

/**
 * A version whose settings are not on disk yet: Venice made its metadata partition but
 * has not written VERSION_METADATA (it does at START_OF_PUSH). Served once they are.
 */
export class VersionNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VersionNotReadyError";
  }
}
