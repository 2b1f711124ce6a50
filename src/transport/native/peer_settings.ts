/** The peer's SETTINGS (RFC 9113 §6.5.2) that shape what this server sends. */
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW,
  Setting,
} from "./frames.ts";

/** A SETTINGS frame that is a connection error. */
export interface SettingsError {
  readonly code: number;
  readonly reason: string;
}

export class PeerSettings {
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  initialWindow = DEFAULT_WINDOW;
  headerTableSize = 4096;
  /**
   * Our encoder never indexes; a changed table size is answered with a size update to 0
   * at the start of the next header block we send (RFC 7541 §4.2). Cleared by the writer.
   */
  tableSizeChanged = false;

  /**
   * Applies the settings in `b[start, end)` (a multiple of 6 bytes). Returns by how much
   * the initial stream window changed (open streams' windows change with it), or the
   * connection error the frame is.
   */
  apply(b: Uint8Array, start: number, end: number): number | SettingsError {
    let windowDelta = 0;
    for (let p = start; p < end; p += 6) {
      const key = (b[p] << 8) | b[p + 1];
      const value = ((b[p + 2] << 24) | (b[p + 3] << 16) | (b[p + 4] << 8) | b[p + 5]) >>> 0;
      switch (key) {
        case Setting.HEADER_TABLE_SIZE:
          if (value !== this.headerTableSize) this.tableSizeChanged = true;
          this.headerTableSize = value;
          break;
        case Setting.ENABLE_PUSH:
          if (value > 1) return { code: ErrorCode.PROTOCOL_ERROR, reason: "ENABLE_PUSH value" };
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW) {
            return { code: ErrorCode.FLOW_CONTROL_ERROR, reason: "INITIAL_WINDOW_SIZE too large" };
          }
          windowDelta += value - this.initialWindow;
          this.initialWindow = value;
          break;
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) {
            return { code: ErrorCode.PROTOCOL_ERROR, reason: "MAX_FRAME_SIZE out of range" };
          }
          this.maxFrameSize = value;
          break;
        default:
          // MAX_CONCURRENT_STREAMS limits pushes, which this server never makes; the
          // peer's MAX_HEADER_LIST_SIZE is far above our few fixed response fields.
          break;
      }
    }
    return windowDelta;
  }
}
