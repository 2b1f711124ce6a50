/**
 * The few ZooKeeper wire records Rialto needs, in jute encoding (big-endian; strings and
 * buffers are an int32 length then bytes, -1 meaning null). Record layouts follow
 * zookeeper-jute/src/main/resources/zookeeper.jute in Apache ZooKeeper.
 */

export const OpCode = {
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getChildren: 8,
  ping: 11,
  closeSession: -11,
} as const;

/** Special transaction ids the server uses for replies that answer no request. */
export const Xid = { notification: -1, ping: -2 } as const;

export const ErrorCode = {
  OK: 0,
  CONNECTION_LOSS: -4,
  OPERATION_TIMEOUT: -7,
  NO_NODE: -101,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
} as const;

const ERROR_NAMES: Record<number, string> = {
  [-1]: "SYSTEMERROR",
  [-2]: "RUNTIMEINCONSISTENCY",
  [-3]: "DATAINCONSISTENCY",
  [-4]: "CONNECTIONLOSS",
  [-5]: "MARSHALLINGERROR",
  [-6]: "UNIMPLEMENTED",
  [-7]: "OPERATIONTIMEOUT",
  [-8]: "BADARGUMENTS",
  [-100]: "APIERROR",
  [-101]: "NONODE",
  [-102]: "NOAUTH",
  [-103]: "BADVERSION",
  [-108]: "NOCHILDRENFOREPHEMERALS",
  [-110]: "NODEEXISTS",
  [-111]: "NOTEMPTY",
  [-112]: "SESSIONEXPIRED",
  [-113]: "INVALIDCALLBACK",
  [-114]: "INVALIDACL",
  [-115]: "AUTHFAILED",
  [-118]: "SESSIONMOVED",
  [-119]: "NOTREADONLY",
};

/** A ZooKeeper error reply (or a local connection failure, as CONNECTIONLOSS). */
export class ZooKeeperError extends Error {
  readonly code: number;
  readonly path: string | undefined;
  constructor(code: number, path?: string, detail?: string) {
    const name = ERROR_NAMES[code] ?? `error ${code}`;
    super(
      `ZooKeeper ${name}${path === undefined ? "" : ` on "${path}"`}${detail ? `: ${detail}` : ""}`,
    );
    this.name = "ZooKeeperError";
    this.code = code;
    this.path = path;
  }
}

export const CreateFlags = { persistent: 0, ephemeral: 1 } as const;

/** Node metadata (`Stat`), reduced to the fields Rialto reads. */
export interface Stat {
  readonly version: number;
  readonly ephemeralOwner: bigint;
  readonly dataLength: number;
  readonly numChildren: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds one length-prefixed packet. */
export class Writer {
  #bytes: number[] = [];
  #view = new DataView(new ArrayBuffer(8));

  int(value: number): this {
    this.#view.setInt32(0, value);
    for (let i = 0; i < 4; i++) this.#bytes.push(this.#view.getUint8(i));
    return this;
  }

  long(value: bigint): this {
    this.#view.setBigInt64(0, value);
    for (let i = 0; i < 8; i++) this.#bytes.push(this.#view.getUint8(i));
    return this;
  }

  bool(value: boolean): this {
    this.#bytes.push(value ? 1 : 0);
    return this;
  }

  buffer(value: Uint8Array | null): this {
    if (value === null) return this.int(-1);
    this.int(value.length);
    for (const b of value) this.#bytes.push(b);
    return this;
  }

  string(value: string): this {
    return this.buffer(encoder.encode(value));
  }

  /** The packet: int32 length, then everything written. */
  packet(): Uint8Array {
    const out = new Uint8Array(4 + this.#bytes.length);
    new DataView(out.buffer).setInt32(0, this.#bytes.length);
    out.set(this.#bytes, 4);
    return out;
  }
}

/** Reads one packet's payload. Throws RangeError when it runs past the end. */
export class Reader {
  #view: DataView;
  #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  int(): number {
    const value = this.#view.getInt32(this.#at);
    this.#at += 4;
    return value;
  }

  long(): bigint {
    const value = this.#view.getBigInt64(this.#at);
    this.#at += 8;
    return value;
  }

  bool(): boolean {
    return this.#view.getUint8(this.#at++) !== 0;
  }

  buffer(): Uint8Array | null {
    const length = this.int();
    if (length < 0) return null;
    if (length > this.remaining) throw new RangeError("ZooKeeper reply truncated");
    const value = this.#bytes.slice(this.#at, this.#at + length);
    this.#at += length;
    return value;
  }

  string(): string {
    return decoder.decode(this.buffer() ?? new Uint8Array());
  }

  stat(): Stat {
    this.long(); // czxid
    this.long(); // mzxid
    this.long(); // ctime
    this.long(); // mtime
    const version = this.int();
    this.int(); // cversion
    this.int(); // aversion
    const ephemeralOwner = this.long();
    const dataLength = this.int();
    const numChildren = this.int();
    this.long(); // pzxid
    return { version, ephemeralOwner, dataLength, numChildren };
  }
}

/** The world:anyone ALL acl (OPEN_ACL_UNSAFE): announcements are public by design. */
export function writeOpenAcl(w: Writer): Writer {
  return w.int(1).int(31).string("world").string("anyone");
}
