/**
 * The block-based table format_version of the SST files in a primary's directory. A
 * RocksDB secondary that meets a table file it cannot read while catching up does not
 * fail: it stays at the last state whose files it could read, silently behind its
 * primary. Reading each new table's footer is how a follower knows.
 *
 * A block-based table ends in a footer whose last 12 bytes are the format_version
 * (uint32, little-endian) then the magic number 0x88e241b785f4cff7 (uint64, little-endian)
 * (RocksDB table/format.cc, kBlockBasedTableMagicNumber).
 */

/** The newest format_version Debian's RocksDB 7.8 reads (its kLatestFormatVersion). */
export const NEWEST_READABLE_FORMAT_VERSION = 5;

const BLOCK_BASED_MAGIC = 0x88e241b785f4cff7n;
const FOOTER_TAIL_BYTES = 12;

/** A table file the loaded RocksDB cannot read. */
export interface UnreadableTable {
  readonly file: string;
  readonly formatVersion: number;
}

/** The format_version of a block-based table file, or null when it is not one (yet). */
export function tableFormatVersion(path: string): number | null {
  return readFooter(path).formatVersion;
}

/** A table file's size, and its format_version: null without a block-based footer. */
function readFooter(path: string): { size: number; formatVersion: number | null } {
  using file = Deno.openSync(path, { read: true });
  const size = file.statSync().size;
  if (size < FOOTER_TAIL_BYTES) return { size, formatVersion: null };
  const tail = new Uint8Array(FOOTER_TAIL_BYTES);
  file.seekSync(size - FOOTER_TAIL_BYTES, Deno.SeekMode.Start);
  let read = 0;
  while (read < FOOTER_TAIL_BYTES) {
    const n = file.readSync(tail.subarray(read));
    if (n === null) return { size, formatVersion: null };
    read += n;
  }
  const view = new DataView(tail.buffer);
  if (view.getBigUint64(4, true) !== BLOCK_BASED_MAGIC) return { size, formatVersion: null };
  return { size, formatVersion: view.getUint32(0, true) };
}

/**
 * Watches one RocksDB directory's table files; each file's footer is read once it has
 * one. A file with no block-based footer may be one the primary is still writing (the
 * footer comes last): it is read again whenever its size has changed, so that a table
 * caught mid-write is not taken for a readable one for good.
 */
export class TableFormatWatch {
  readonly #dir: string;
  /** Table file name -> its format_version, or the size it had no footer at. */
  readonly #formats = new Map<string, number | { footerlessAt: number }>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** A table file in the directory now that the loaded RocksDB cannot read, if any. */
  unreadable(): UnreadableTable | null {
    const present = new Set<string>();
    for (const entry of Deno.readDirSync(this.#dir)) {
      if (entry.isFile && entry.name.endsWith(".sst")) present.add(entry.name);
    }
    for (const name of this.#formats.keys()) {
      if (!present.has(name)) this.#formats.delete(name);
    }
    let found: UnreadableTable | null = null;
    for (const name of present) {
      const path = `${this.#dir}/${name}`;
      let known = this.#formats.get(name);
      try {
        if (typeof known === "object" && Deno.statSync(path).size !== known.footerlessAt) {
          known = undefined;
        }
        if (known === undefined) {
          const footer = readFooter(path);
          known = footer.formatVersion ?? { footerlessAt: footer.size };
          this.#formats.set(name, known);
        }
      } catch (error) {
        // Deleted by a compaction since the listing: nothing to read.
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      if (typeof known === "number" && known > NEWEST_READABLE_FORMAT_VERSION) {
        found ??= { file: path, formatVersion: known };
      }
    }
    return found;
  }
}
