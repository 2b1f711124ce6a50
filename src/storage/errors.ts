/** Errors of the storage layer; the read path maps each to a Venice status. */

/** The server has the version but not this partition (Venice answers 500 for it). */
export class PartitionNotHeldError extends RangeError {
  constructor(resource: string, partition: number) {
    // Venice's wording (AbstractStorageEngine.getPartitionOrThrow).
    super(`Partition: ${partition} of store: ${resource} does not exist`);
    this.name = "PartitionNotHeldError";
  }
}

/** A stored value that Venice could not have written: short, bad schema id, broken chunks. */
export class CorruptValueError extends Error {
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
