/**
 * Reads a child process's text output from `reader` until it holds `marker` (or ends);
 * returns all that was read. The reader stays the caller's, to read on or release.
 */
export async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  marker: string,
): Promise<string> {
  let out = "";
  while (!out.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  return out;
}
