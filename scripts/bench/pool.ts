/**
 * A pool of pre-encoded gRPC request frames (1 byte 0, 4-byte big-endian length, the
 * protobuf message), so that the load generator does no encoding on the measured path.
 * File format: 4-byte big-endian frame count, then the frames back to back (each frame
 * carries its own length). No runtime APIs: the bench writes pools, the load generator
 * (under Node or Deno) reads them.
 */

/** Wraps a protobuf message in a gRPC length-prefixed frame (uncompressed). */
export function grpcFrame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

export function encodePool(frames: readonly Uint8Array[]): Uint8Array {
  let size = 4;
  for (const f of frames) size += f.length;
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, frames.length);
  let pos = 4;
  for (const f of frames) {
    out.set(f, pos);
    pos += f.length;
  }
  return out;
}

/** The frames of a pool file, as subarrays of `bytes`. */
export function decodePool(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new RangeError("Pool file is too short");
  const count = view.getUint32(0);
  const frames: Uint8Array[] = [];
  let pos = 4;
  for (let i = 0; i < count; i++) {
    if (pos + 5 > bytes.length) throw new RangeError(`Pool file ends inside frame ${i}`);
    const end = pos + 5 + view.getUint32(pos + 1);
    if (end > bytes.length) throw new RangeError(`Pool file ends inside frame ${i}`);
    frames.push(bytes.subarray(pos, end));
    pos = end;
  }
  if (pos !== bytes.length) throw new RangeError("Pool file has bytes after its last frame");
  return frames;
}
