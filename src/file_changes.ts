/**
 * Whether a few files (the config file, the TLS files) changed on disk, looked at on a
 * timer on the event loop that serves reads. A file's stamp (inode, size, modification
 * time) is what tells; taking it is a stat(2) by path for each file. An inotify watch on
 * the folders each path resolves through (each link's folder, then the file's:
 * resolving_folders.ts), and on each file itself (written in place through another path:
 * a file bind-mounted into a container), says when a stamp can not have moved. A look
 * that finds the watch still is one read(2), whatever the number of files: 33 µs against
 * ~45-90 µs for a stat by path on a busy loop (ffi/directory_watch.ts); the config watch
 * went from 91-93 µs a run to 36-39 µs (bench/2026-12-07-m-*). Where no such watch can be
 * had (not Linux, no glibc, a folder missing or refused), every look takes the stamps.
 */
import { resolve } from "node:path";
import { Change, DirectoryWatch, fileStamp } from "../ffi/mod.ts";
import { resolvingFolders } from "./resolving_folders.ts";

export interface FileChangesOptions {
  /** Use the inotify watch (default true); tests turn it off to prove the stamps alone work. */
  readonly folderWatch?: boolean;
  /** The stamps of the files as the caller last read them (default: as they are now). */
  readonly accepted?: string;
}

function stampText(path: string): string {
  try {
    const stamp = fileStamp(path);
    return stamp === null ? "missing" : `${stamp.ino}:${stamp.size}:${stamp.mtimeMs}`;
  } catch {
    return "missing"; // Not to be looked at (no access): a change once it is.
  }
}

/** The files' stamps now (a stat each): equal stamps, unchanged files. */
export function stampOf(paths: readonly string[]): string {
  return paths.map(stampText).join("|");
}

/** Looks for changes to a fixed set of files. Close it when done. */
export class FileChanges {
  readonly #paths: readonly string[];
  #watch: DirectoryWatch | null;
  /** Whether the watch covers every folder the paths resolved through, and the files. */
  #trusted = false;
  /** The stamps last accepted (a reload read the files as they were then). */
  #accepted: string;
  /** The stamps the last look took. */
  #looked: string;
  #looksThatStat = 0;

  constructor(paths: readonly string[], options: FileChangesOptions = {}) {
    this.#paths = paths.map((path) => resolve(path));
    this.#watch = options.folderWatch === false ? null : DirectoryWatch.open({ files: true });
    this.#rewatch();
    this.#looked = this.stamp();
    this.#accepted = options.accepted ?? this.#looked;
  }

  /** The files' stamps now, to `accept` once what they describe is read. */
  stamp(): string {
    return stampOf(this.#paths);
  }

  /** The stamps the last `differs` took. */
  get looked(): string {
    return this.#looked;
  }

  /** How many looks took the stamps (none while the watch saw nothing and none differed). */
  get looksThatStat(): number {
    return this.#looksThatStat;
  }

  /**
   * Whether the files' stamps differ from the accepted ones. Takes them only when the watch
   * saw something in its folders or files, can not be trusted, or the last look found
   * them different and nothing was accepted since.
   */
  differs(): boolean {
    const watch = this.#watch;
    if (watch !== null) {
      const change = this.#trusted ? watch.changes() : Change.ENTRIES;
      if (change === Change.NONE && this.#looked === this.#accepted) return false;
      // An entry moved: a link on the way may point elsewhere now, the folders are resolved
      // anew. A file only written (this one, or another in a watched folder) moved none.
      if (change === Change.ENTRIES) this.#rewatch();
    }
    this.#looksThatStat++;
    this.#looked = this.stamp();
    return this.#looked !== this.#accepted;
  }

  /** The files as `stamp` describes them are in use: later looks compare with it. */
  accept(stamp: string): void {
    this.#accepted = stamp;
    this.#looked = stamp;
  }

  /**
   * Watches the folders and the files there are. Trusted when all are watched: stamps
   * taken after this see what came before. A file not there is not watched: its making
   * is an entry in a watched folder.
   */
  #rewatch(): void {
    const watch = this.#watch;
    if (watch === null) return;
    watch.changed();
    const wanted = new Set<string>();
    for (const path of this.#paths) {
      for (const folder of resolvingFolders(path)) wanted.add(folder);
      try {
        wanted.add(Deno.realPathSync(path));
      } catch {
        // Absent (or not to be looked into): its folder's watch tells when that changes.
      }
    }
    this.#trusted = watch.watch([...wanted]).unwatched.length === 0;
  }

  /** Lets the watch go; later looks take the stamps each time. Safe to call twice. */
  close(): void {
    this.#watch?.close();
    this.#watch = null;
  }
}
