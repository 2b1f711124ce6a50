/**
 * A file mapped into memory whose pages are dropped from the page cache first
 * (POSIX_FADV_DONTNEED), so that touching them takes major page faults read back from disk:
 * what a RocksDB file or the runtime's code paged out by the host (DAMON's pageout on these
 * VMs) costs the thread that touches it next. Linux with glibc only.
 */
const PROT_READ = 1;
const MAP_SHARED = 1;
const POSIX_FADV_DONTNEED = 4;
/**
 * One touch per 512 KiB. The first touch is a major fault; the kernel's read-ahead then
 * reads on, and later touches wait for those reads (12-22 ms for 32 MiB here).
 */
const STRIDE = 512 << 10;

const symbols = {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  posix_fadvise: { parameters: ["i32", "i64", "i64", "i32"], result: "i32" },
} as const;

export class DroppedPages {
  readonly #libc = Deno.dlopen("libc.so.6", symbols);
  readonly #path = Deno.makeTempFileSync();
  readonly #fd: number;
  /** How many pages a `touch()` reads. */
  readonly pages: number;

  constructor(readonly size = 32 << 20) {
    const file = Deno.openSync(this.#path, { write: true });
    file.writeSync(new Uint8Array(size).fill(7));
    file.syncSync();
    file.close();
    this.#fd = this.#libc.symbols.open(new TextEncoder().encode(`${this.#path}\0`), 0);
    if (this.#fd < 0) throw new Error(`Cannot open ${this.#path}`);
    this.pages = Math.ceil(size / STRIDE);
  }

  /** Drops the file's pages, maps it and reads one byte per STRIDE; returns the ms it took. */
  touch(): number {
    const libc = this.#libc.symbols;
    const size = BigInt(this.size);
    if (libc.posix_fadvise(this.#fd, 0n, size, POSIX_FADV_DONTNEED) !== 0) {
      throw new Error("posix_fadvise failed");
    }
    const map = libc.mmap(null, size, PROT_READ, MAP_SHARED, this.#fd, 0n);
    if (map === null || Deno.UnsafePointer.value(map) === 2n ** 64n - 1n) {
      throw new Error("mmap failed");
    }
    try {
      const view = new Deno.UnsafePointerView(map);
      const started = performance.now();
      let sum = 0;
      for (let offset = 0; offset < this.size; offset += STRIDE) sum += view.getUint8(offset);
      if (sum !== 7 * this.pages) throw new Error(`read ${sum}, not the file's bytes`);
      return performance.now() - started;
    } finally {
      libc.munmap(map, size);
    }
  }

  close(): void {
    this.#libc.symbols.close(this.#fd);
    this.#libc.close();
    Deno.removeSync(this.#path);
  }
}
