/**
 * Whether entries were added, removed or renamed in a few folders since the last look,
 * through inotify: the data dir's periodic check on the event loop that serves reads.
 * A look that finds nothing is one read(2) on a nonblocking descriptor, whatever the
 * number of folders, where a stat(2) by path costs each folder one (measured here in 300
 * looks, each after 2 ms of other work: the read p50 33 µs, p90 41 µs; the stamps of the
 * bench store's two folders p50 91-103 µs, p90 121-139 µs).
 *
 * What inotify reports is what a listing of these folders reads: a folder's own entries
 * (not what changes inside them), and the folder itself deleted or moved. Opened with
 * `{ files: true }` (the config and TLS files' check), also a file in a watched folder
 * written or its attributes changed, and a path may name a file: its own writes,
 * attribute changes, deletion or move are reported, by whatever path they were made (a
 * file bind-mounted into a container is written through another folder). Where inotify
 * is not to be had (not Linux, no glibc, the watch limit reached), `open` is null or
 * `watch` says so, and the caller looks by other means.
 */
import { type Glibc, glibc } from "./glibc.ts";
import { errno } from "./sockets.ts";

const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
const IN_MODIFY = 0x2;
const IN_ATTRIB = 0x4;
const IN_CLOSE_WRITE = 0x8;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_DELETE = 0x200;
const IN_DELETE_SELF = 0x400;
const IN_MOVE_SELF = 0x800;
const IN_IGNORED = 0x8000;
const IN_ONLYDIR = 0x0100_0000;
/** A folder's entries changing, or the folder itself going. */
const ENTRIES_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
  IN_MOVE_SELF | IN_ONLYDIR;
/**
 * Also a file in the folder written (each write, and its close), or its mode or times set;
 * and a file may be watched itself (no IN_ONLYDIR).
 */
const FILES_MASK = (ENTRIES_MASK & ~IN_ONLYDIR) | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB;
/** Events that say a file was written or had its attributes set, and nothing more. */
const WRITES_MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB;

/** What `DirectoryWatch.changes` saw, in growing order. */
export const Change = {
  NONE: 0,
  /** Files were written or had their attributes set: no entry moved. */
  WRITTEN: 1,
  /** Entries were added, removed or renamed, or a watched folder went, or events were lost. */
  ENTRIES: 2,
} as const;
export type ChangeCode = typeof Change[keyof typeof Change];
const EINTR = 4;
const EAGAIN = 11;
const ENOENT = 2;
/** Events are drained in reads of this size (each is one or more whole events). */
const EVENT_BUFFER_BYTES = 4096;
/** `struct inotify_event` before its name: wd, mask, cookie, len. */
const EVENT_HEADER_BYTES = 16;
const EVENT_BUFFER_SIZE = BigInt(EVENT_BUFFER_BYTES);

const encoder = new TextEncoder();

/** How `DirectoryWatch.watch` left things. */
export interface WatchOutcome {
  /**
   * Paths not watched: absent, or refused (not a folder without `files`, the watch limit,
   * no access).
   */
  readonly unwatched: string[];
  /**
   * Whether a watch was made or moved to another folder at a path: what changed in that
   * folder before the watch began was not seen, so a caller should look once more.
   */
  readonly added: boolean;
}

/** An inotify instance watching a set of folders. Close it when done. */
export class DirectoryWatch {
  /**
   * A watch on nothing yet, or null where inotify is not to be had. With `files`, the files
   * in a watched folder changing count too, not only its entries, and files may be watched.
   */
  static open(options: { readonly files?: boolean } = {}): DirectoryWatch | null {
    const c = glibc();
    if (c === null) return null;
    const fd = c.inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    return fd < 0 ? null : new DirectoryWatch(c, fd, options.files ? FILES_MASK : ENTRIES_MASK);
  }

  readonly #calls: Glibc;
  #fd: number;
  readonly #mask: number;
  /** Watch descriptor by path. */
  readonly #watches = new Map<string, number>();
  readonly #events = new Uint8Array(EVENT_BUFFER_BYTES);
  readonly #eventView = new DataView(this.#events.buffer);

  private constructor(c: Glibc, fd: number, mask: number) {
    this.#calls = c;
    this.#fd = fd;
    this.#mask = mask;
  }

  /**
   * Watches exactly `paths` from now on: folders no longer named are let go, and a path
   * whose folder was replaced (renamed over) is watched at its new folder.
   */
  watch(paths: readonly string[]): WatchOutcome {
    if (this.#fd < 0) throw new Error("DirectoryWatch is closed");
    const c = this.#calls;
    const wanted = new Set(paths);
    for (const [path, wd] of this.#watches) {
      if (wanted.has(path)) continue;
      // A folder deleted or moved away lost its watch already: EINVAL then, ignored.
      c.inotify_rm_watch(this.#fd, wd);
      this.#watches.delete(path);
    }
    const unwatched: string[] = [];
    let added = false;
    for (const path of wanted) {
      const wd = c.inotify_add_watch(this.#fd, encoder.encode(`${path}\0`), this.#mask);
      const before = this.#watches.get(path);
      if (wd < 0) {
        const code = errno();
        if (before !== undefined) c.inotify_rm_watch(this.#fd, before);
        this.#watches.delete(path);
        unwatched.push(path);
        if (code !== ENOENT) added = true; // Refused, not absent: looking again is safer.
        continue;
      }
      // The same folder gives the same descriptor back; another one, a new descriptor.
      if (before === wd) continue;
      if (before !== undefined) c.inotify_rm_watch(this.#fd, before);
      this.#watches.set(path, wd);
      added = true;
    }
    return { unwatched, added };
  }

  /**
   * Whether anything happened in a watched folder since the last call: an entry added,
   * removed or renamed (with `files`, a file written or its attributes changed), a watched
   * folder deleted or moved, or more events than the kernel could queue. Drains what is
   * queued.
   */
  changed(): boolean {
    return this.changes() !== Change.NONE;
  }

  /**
   * What happened since the last call, as `changed` counts it: `Change.WRITTEN` when files
   * were only written or had their attributes set (with `files`), `Change.ENTRIES` when
   * anything else came (an entry, a watched folder itself, a lost event), else
   * `Change.NONE`. Drains what is queued.
   */
  changes(): ChangeCode {
    if (this.#fd < 0) throw new Error("DirectoryWatch is closed");
    let changes: ChangeCode = Change.NONE;
    for (;;) {
      const n = this.#calls.read(this.#fd, this.#events, EVENT_BUFFER_SIZE);
      if (n > 0) {
        changes = Math.max(changes, this.#changesIn(n)) as ChangeCode;
        continue;
      }
      if (n === 0) return changes;
      const code = errno();
      if (code === EINTR) continue;
      // EAGAIN: nothing more queued. Any other failure: unsure, so entries.
      return code === EAGAIN ? changes : Change.ENTRIES;
    }
  }

  /**
   * What the `n` bytes of events read say changed. The one event that says nothing: a
   * watch this object removed itself, acknowledged (IN_IGNORED for a descriptor no longer
   * watched). A folder deleted or moved reported its own event before that.
   */
  #changesIn(n: number): ChangeCode {
    const view = this.#eventView;
    let changes: ChangeCode = Change.NONE;
    for (let at = 0; at + EVENT_HEADER_BYTES <= n;) {
      const wd = view.getInt32(at, true);
      const mask = view.getUint32(at + 4, true);
      if ((mask & ~WRITES_MASK) === 0) changes = Change.WRITTEN;
      else if (mask !== IN_IGNORED || this.#watching(wd)) return Change.ENTRIES;
      at += EVENT_HEADER_BYTES + view.getUint32(at + 12, true);
    }
    return changes;
  }

  #watching(wd: number): boolean {
    for (const watched of this.#watches.values()) if (watched === wd) return true;
    return false;
  }

  close(): void {
    if (this.#fd < 0) return;
    this.#calls.close(this.#fd);
    this.#fd = -1;
    this.#watches.clear();
  }
}
