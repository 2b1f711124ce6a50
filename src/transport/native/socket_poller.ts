/**
 * The serving thread's own epoll loop, for plaintext gRPC (socket_conn.ts). Deno's
 * `conn.read` wakes the loop through the runtime's reactor, an op and a promise: measured
 * here as an echo at 5k turns/s, 42-54 µs of CPU a turn against 24-26 µs for the same
 * loop on epoll called through FFI (and for C). So the thread waits in `epoll_wait`
 * itself, calls `recv` and `send` directly, and gives the runtime its turn:
 *
 * - at once when the runtime's own epoll has something, before the sockets ready with it
 *   (its file descriptor is in this epoll set: the runtime's sockets and other threads'
 *   wake-ups, such as worker messages and the thread pool's results, land there; its
 *   timers do not),
 * - before blocking, so that promises and callbacks the last reads started run first,
 * - at least every `IDLE_TURN_MS` while nothing comes (epoll_wait's timeout), and every
 *   `BUSY_TURN_MS` while reads keep the thread busy: as late as a timer can fire. Busy, it
 *   is shorter than the stall probe's threshold (metrics/runtime.ts), so that the probe
 *   still sees what holds the thread, not the poller's schedule.
 *
 * A connection's loop reads again as soon as it has handled what it read, in promise
 * callbacks, which run before any turn: a client that keeps its socket full would hold the
 * thread for as long as it kept writing (a 5 ms timer came 1.4 s late in a 2 s flood).
 * So once a turn is due, a socket that has read since the last one waits for it
 * (`readAfterTurn`): each busy socket reads at least once between turns, and a turn comes
 * within one read's work of being due (a read takes what the connection's buffer holds, up
 * to 64 KiB: in that flood, the timer came 14 ms late). Reads were not made smaller: 4 KiB
 * at a time, a server saturated at 46k gets/s fell behind and stayed there (p50 0.5-0.75 s
 * in two runs of two, against 68-180 µs with whole reads).
 *
 * The turn is a `setImmediate` (3-6 µs here): `setTimeout(0)` is clamped to 4 ms once
 * nested, and a turn through an op (a MessageChannel, a nonblocking FFI call) starved
 * Deno's timers when it came back at once.
 *
 * The runtime's epoll is found the way a debugger would: a listener Deno registers in it,
 * looked up in /proc/self/fdinfo. Where it cannot be found, `SocketPoller.start()` is null
 * and the server listens through Deno.
 */
import { setImmediate } from "node:timers";
import {
  AF_INET,
  EINTR,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLL_EVENT_BYTES,
  EPOLL_EVENT_DATA_OFFSET,
  EPOLLIN,
  errno,
  SOCK_CLOEXEC,
  type SocketCalls,
  socketError,
  sockets,
} from "../../../ffi/mod.ts";
import { logger } from "../../log.ts";
import { loopTasks } from "../../metrics/loop_tasks.ts";

const log = logger("transport");

/** The longest the thread blocks in epoll_wait before the runtime gets a turn (ms). */
export const IDLE_TURN_MS = 1;
/** The longest reads keep the runtime from its turn (ms). */
export const BUSY_TURN_MS = 0.5;
/**
 * A blocking wait this long slept (ms): one that finds events returns in a few µs, one
 * that sleeps takes at least a wake-up. Noted for the stall probe (metrics/loop_tasks.ts).
 */
const SLEPT_MS = 0.01;
/** Events taken per epoll_wait. */
const MAX_EVENTS = 64;

/** One file descriptor's owner: told the epoll events that came for it. */
export interface Pollable {
  onEvents(events: number): void;
}

/** A socket whose next read waits for the runtime's turn (`SocketPoller.readAfterTurn`). */
export interface TurnWaiter {
  /** The turn has come: read now. */
  afterTurn(): void;
}

export class SocketPoller {
  static #current: SocketPoller | null | undefined;

  /** This thread's poller, or null where sockets or the runtime's epoll are not to be had. */
  static start(): SocketPoller | null {
    if (SocketPoller.#current !== undefined) return SocketPoller.#current;
    const calls = sockets();
    let runtimeEpoll = -1;
    try {
      runtimeEpoll = calls === null ? -1 : findRuntimeEpoll(calls);
    } catch (error) {
      log.warn("The runtime's epoll could not be looked up: {error}", { error });
    }
    if (calls === null || runtimeEpoll < 0) {
      log.info("Plaintext gRPC listens through Deno: no glibc, or the runtime's epoll not found");
      SocketPoller.#current = null;
      return null;
    }
    SocketPoller.#current = new SocketPoller(calls, runtimeEpoll);
    return SocketPoller.#current;
  }

  readonly calls: SocketCalls;
  readonly #epoll: number;
  readonly #runtimeEpoll: number;
  readonly #owners = new Map<number, Pollable>();
  readonly #events = new Uint8Array(MAX_EVENTS * EPOLL_EVENT_BYTES);
  readonly #eventView = new DataView(this.#events.buffer);
  readonly #control = new Uint8Array(EPOLL_EVENT_BYTES);
  readonly #controlView = new DataView(this.#control.buffer);
  #running = false;
  #lastTurn = 0;
  #turns = 0;
  /** Reads that found data since the last turn: the turn their work started comes first. */
  #readsSinceTurn = 0;
  /** Sockets waiting for the next turn to read. */
  #afterTurn: TurnWaiter[] = [];

  private constructor(calls: SocketCalls, runtimeEpoll: number) {
    this.calls = calls;
    this.#epoll = calls.epoll_create1(SOCK_CLOEXEC); // EPOLL_CLOEXEC is the same flag.
    if (this.#epoll < 0) throw socketError("epoll_create1", errno());
    this.#runtimeEpoll = runtimeEpoll;
    this.#ctl(EPOLL_CTL_ADD, runtimeEpoll, EPOLLIN);
  }

  /**
   * Starts delivering `events` on `fd` to `owner`, never before this call has returned; the
   * loop runs while any fd is added.
   */
  add(fd: number, events: number, owner: Pollable): void {
    this.#ctl(EPOLL_CTL_ADD, fd, events);
    this.#owners.set(fd, owner);
    if (!this.#running) {
      // Not at once: events already waiting (a connection queued as a listener was bound)
      // would reach `owner` before its caller had finished setting it up.
      this.#running = true;
      queueMicrotask(() => void this.#run());
    }
  }

  /** Changes which events `fd` is watched for (0: none for now). */
  modify(fd: number, events: number): void {
    this.#ctl(EPOLL_CTL_MOD, fd, events);
  }

  /** Runtime turns so far: a socket that read in this one may have to wait for the next. */
  get turns(): number {
    return this.#turns;
  }

  /** A read found data: the runtime gets a turn before the poller blocks. */
  noteRead(): void {
    this.#readsSinceTurn++;
  }

  /** Whether the runtime's turn is due: reads have kept it waiting BUSY_TURN_MS. */
  turnDue(): boolean {
    return performance.now() - this.#lastTurn >= BUSY_TURN_MS;
  }

  /** `waiter` reads once the runtime has had its next turn. */
  readAfterTurn(waiter: TurnWaiter): void {
    this.#afterTurn.push(waiter);
  }

  /** Stops watching `fd`; call before closing it. */
  remove(fd: number): void {
    if (!this.#owners.delete(fd)) return;
    this.#ctl(EPOLL_CTL_DEL, fd, 0);
  }

  #ctl(op: number, fd: number, events: number): void {
    this.#controlView.setUint32(0, events >>> 0, true);
    this.#controlView.setUint32(EPOLL_EVENT_DATA_OFFSET, fd, true);
    if (this.calls.epoll_ctl(this.#epoll, op, fd, this.#control) !== 0) {
      throw socketError("epoll_ctl", errno());
    }
  }

  async #run(): Promise<void> {
    const calls = this.calls;
    // Whether the runtime had its turn since the last events were handled.
    let turned = false;
    this.#lastTurn = performance.now();
    while (this.#owners.size > 0) {
      let n = calls.epoll_wait(this.#epoll, this.#events, MAX_EVENTS, 0);
      if (n === 0) {
        // Nothing ready: the runtime's turn first (what the last events and reads started,
        // the sockets waiting for it), then block.
        if (!turned || this.#readsSinceTurn > 0 || this.#afterTurn.length > 0) {
          turned = true;
          await this.#runtimeTurn();
          // Sockets that read in the turn want another first. Else the wait below returns at
          // once with whatever came meanwhile: no call to look first (one syscall a lone call).
          if (this.#readsSinceTurn > 0 || this.#afterTurn.length > 0) continue;
        }
        const blockedAt = performance.now();
        n = calls.epoll_wait(this.#epoll, this.#events, MAX_EVENTS, IDLE_TURN_MS);
        const blockedMs = performance.now() - blockedAt;
        if (blockedMs >= SLEPT_MS) loopTasks.noteSleep(blockedMs);
        if (n === 0) {
          await this.#runtimeTurn();
          continue;
        }
      }
      if (n < 0) {
        const code = errno();
        if (code !== EINTR) log.error("epoll_wait failed: errno {code}", { code });
        await this.#runtimeTurn();
        continue;
      }
      turned = false;
      // The runtime first when both have something: a worker message (a version installed)
      // posted before a read arrived is handled before that read.
      if (this.#runtimeWoke(n)) await this.#runtimeTurn();
      this.#dispatch(n);
      if (performance.now() - this.#lastTurn >= BUSY_TURN_MS) {
        turned = true;
        await this.#runtimeTurn();
      } else {
        // The reads' promise callbacks run before the next wait.
        await undefined;
      }
    }
    this.#running = false;
  }

  /** Whether the runtime's epoll is among the `n` events. */
  #runtimeWoke(n: number): boolean {
    for (let i = 0; i < n; i++) {
      const at = i * EPOLL_EVENT_BYTES + EPOLL_EVENT_DATA_OFFSET;
      if (this.#eventView.getUint32(at, true) === this.#runtimeEpoll) return true;
    }
    return false;
  }

  /** Hands each event to its owner (a descriptor closed since has none). */
  #dispatch(n: number): void {
    const view = this.#eventView;
    for (let i = 0; i < n; i++) {
      const at = i * EPOLL_EVENT_BYTES;
      const fd = view.getUint32(at + EPOLL_EVENT_DATA_OFFSET, true);
      const owner = this.#owners.get(fd);
      if (owner === undefined) continue;
      try {
        owner.onEvents(view.getUint32(at, true));
      } catch (error) {
        log.error("Socket event handling failed: {error}", { error });
      }
    }
  }

  /** The runtime's turn; then the sockets that waited for it read. */
  #runtimeTurn(): Promise<void> {
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#lastTurn = performance.now();
        this.#turns++;
        this.#readsSinceTurn = 0;
        const waiters = this.#afterTurn;
        this.#afterTurn = [];
        for (const waiter of waiters) {
          try {
            waiter.afterTurn();
          } catch (error) {
            log.error("Socket read after the runtime's turn failed: {error}", { error });
          }
        }
        resolve();
      })
    );
  }
}

/**
 * The runtime's epoll on this thread: a listener Deno has just registered is in exactly
 * one epoll set, whose /proc/self/fdinfo lists its descriptor as a `tfd:`.
 */
function findRuntimeEpoll(calls: SocketCalls): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (probe.addr as Deno.NetAddr).port;
    const probeFd = socketWithPort(calls, port);
    if (probeFd < 0) return -1;
    const entry = new RegExp(`^tfd:\\s*${probeFd}\\s`, "m");
    for (const fd of descriptorsTo("anon_inode:[eventpoll]")) {
      if (entry.test(Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`))) return fd;
    }
    return -1;
  } finally {
    probe.close();
  }
}

/** The descriptor of this process's IPv4 socket bound to 127.0.0.1:`port`, or -1. */
function socketWithPort(calls: SocketCalls, port: number): number {
  const address = new Uint8Array(128);
  const view = new DataView(address.buffer);
  const length = new Uint32Array(1);
  const lengthBytes = new Uint8Array(length.buffer);
  for (const fd of descriptorsTo("socket:")) {
    length[0] = address.length;
    if (calls.getsockname(fd, address, lengthBytes) !== 0) continue;
    if (view.getUint16(0, true) !== AF_INET || view.getUint16(2, false) !== port) continue;
    if (view.getUint32(4, false) !== 0x7f00_0001) continue;
    return fd;
  }
  return -1;
}

/** This process's open descriptors whose /proc/self/fd link starts with `prefix`. */
function* descriptorsTo(prefix: string): Generator<number> {
  for (const { name } of Deno.readDirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // Closed since the listing.
    }
    if (target.startsWith(prefix)) yield Number(name);
  }
}
