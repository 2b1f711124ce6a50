/**
 * Streams the lines of a JSONL file without holding the file in memory: each line is
 * yielded with its 1-based number and the byte offset just past it (for progress).
 * A trailing `\r` is dropped (CRLF files); invalid UTF-8 fails naming the line.
 */
import { InputLineError } from "./errors.ts";

export interface InputLine {
  /** 1-based. */
  readonly number: number;
  readonly text: string;
  /** Bytes of the file consumed once this line is read (newline included). */
  readonly bytesDone: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const decoder = new TextDecoder("utf-8", { fatal: true });

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function decodeLine(bytes: Uint8Array, number: number): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN
    ? bytes.length - 1
    : bytes.length;
  try {
    return decoder.decode(bytes.subarray(0, end));
  } catch {
    throw new InputLineError(number, "not valid UTF-8");
  }
}

/** Yields every line of the file at `path`, blank ones included. */
export async function* readLines(path: string): AsyncGenerator<InputLine> {
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1 << 20);
  let carry: Uint8Array = new Uint8Array(0);
  let number = 0;
  let offset = 0; // file bytes before `carry`
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    const chunk = buffer.subarray(0, n);
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      const line = concat(carry, chunk.subarray(start, i));
      offset += line.length + 1;
      carry = new Uint8Array(0);
      start = i + 1;
      number++;
      yield { number, text: decodeLine(line, number), bytesDone: offset };
    }
    // The rest belongs to a line that continues in the next read; copy it out of `buffer`.
    carry = concat(carry, chunk.slice(start));
  }
  if (carry.length > 0) {
    offset += carry.length;
    number++;
    yield { number, text: decodeLine(carry, number), bytesDone: offset };
  }
}
