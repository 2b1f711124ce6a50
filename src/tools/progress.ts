/**
 * A one-line progress bar for long store builds, redrawn in place with `\r` at most ten
 * times a second. Writes only to the stream it is given (stderr in the CLI).
 */

const encoder = new TextEncoder();
const REDRAW_MS = 100;

export interface SyncWriter {
  writeSync(bytes: Uint8Array): number;
}

/** `1536` -> `"1.5 KiB"`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export class ProgressBar {
  readonly #out: SyncWriter;
  readonly #label: string;
  readonly #width: number;
  #lastDraw = 0;
  #drawn = false;

  constructor(out: SyncWriter, label: string, width = 30) {
    this.#out = out;
    this.#label = label;
    this.#width = width;
  }

  /** Redraws unless the last redraw was under 100 ms ago (`force` draws anyway). */
  update(lines: number, bytesDone: number, totalBytes: number, force = false): void {
    const now = performance.now();
    if (!force && this.#drawn && now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    this.#drawn = true;
    const fraction = totalBytes > 0 ? Math.min(1, bytesDone / totalBytes) : 1;
    const filled = Math.round(fraction * this.#width);
    const bar = "#".repeat(filled) + "-".repeat(this.#width - filled);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const text = `\r${this.#label} [${bar}] ${percent}  ${formatBytes(bytesDone)} / ${
      formatBytes(totalBytes)
    }  ${lines.toLocaleString("en-US")} lines`;
    this.#out.writeSync(encoder.encode(text));
  }

  /** Ends the line, so later output starts on a fresh one. */
  finish(): void {
    if (this.#drawn) this.#out.writeSync(encoder.encode("\n"));
    this.#drawn = false;
  }
}
