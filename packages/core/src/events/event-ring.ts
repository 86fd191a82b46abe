/**
 * A CPU's event ring: the only way events reach a simulated CPU. Producers
 * (event sources on any thread) copy fixed-size event slots into the ring;
 * the CPU that owns the ring takes them in batches and runs the programs
 * attached to each event's hook. No event ever travels by postMessage.
 *
 * Layout (byte offsets from `ringOff`, all words little-endian i32/u32):
 *
 *   +0   head      consumer index: slots before it are free (written by the CPU only)
 *   +4   tail      producer index: slots before it are published
 *   +8   doorbell  0 = CPU running, 1 = CPU asleep (or about to sleep) on this word
 *   +12  plock     producer spin lock (several producers may share a ring)
 *   +16  capacity  number of slots, a power of two
 *   +20  slotBytes bytes per slot, a multiple of 8, >= EV_HDR_BYTES
 *   +24  closed    1 once the machine shuts down: the CPU drains and exits
 *   +28  (pad)
 *   +32  slots[capacity], slot i at +32 + (i & (capacity-1)) * slotBytes
 *
 * Slot layout (EV_* constants):
 *
 *   +0  hookId    which attach point the event is for
 *   +4  kind      EventKind
 *   +8  repeat    deliver the event this many times (>= 1): a burst, like
 *                 pktgen's clone_skb, so sources can batch identical events
 *   +12 dataLen   bytes of payload at +32 (frame, pt_regs, tracepoint record)
 *   +16 arg0      u64: rx queue (packets), kprobe return value, sample period...
 *   +24 arg1      u64: timestamp in ns of simulated time
 *   +32 data ...  payload, up to slotBytes - 32 bytes
 *
 * Ordering: head and tail are free-running u32 counters (they wrap at 2^32;
 * `tail - head` computed in u32 is the fill). A producer, holding `plock`,
 * writes slot bodies with plain stores and then publishes them with one
 * Atomics.store of tail (sequentially consistent, so a release): the CPU's
 * Atomics.load of tail (an acquire) makes the bodies visible. The CPU runs
 * events in place (a packet is processed where it lies, so XDP may rewrite
 * it) and only then advances head with Atomics.store, handing the slots back.
 *
 * Doorbell (a futex-style handshake, no lost wake-ups): the CPU stores 1 in
 * doorbell, re-reads tail, and only if the ring is still empty sleeps with
 * Atomics.wait(doorbell, 1). A producer, after publishing tail, reads the
 * doorbell and if it is 1 stores 0 and notifies. Both sides use sequentially
 * consistent atomics, so either the CPU sees the new tail or the producer
 * sees the doorbell.
 *
 * Who may call: `ringPush*` from any thread (syscall-like context of an event
 * source); `ringTake`/`ringRelease`/`ringSleep` only from the owning CPU.
 */
import type { ArenaApi } from "../memory/arena-api.js";
import { BpfError, Errno } from "../errno.js";
import { spinLock, spinUnlock } from "../memory/spin-lock.js";

export const ER_HEAD = 0;
export const ER_TAIL = 4;
export const ER_DOORBELL = 8;
export const ER_PLOCK = 12;
export const ER_CAPACITY = 16;
export const ER_SLOT_BYTES = 20;
export const ER_CLOSED = 24;
export const ER_SLOTS = 32;

export const EV_HOOK = 0;
export const EV_KIND = 4;
export const EV_REPEAT = 8;
export const EV_DATA_LEN = 12;
export const EV_ARG0 = 16;
export const EV_ARG1 = 24;
export const EV_HDR_BYTES = 32;

/** What a slot carries; decides how the CPU builds the program context. */
export enum EventKind {
  /** A frame received on an interface (XDP, tc ingress) or sent (tc egress). */
  Packet = 1,
  /** A simulated kernel function call (kprobe) or return (kretprobe): payload is pt_regs. */
  Call = 2,
  /** A tracepoint or raw tracepoint record. */
  Tracepoint = 3,
  /** A timer tick of a perf event: payload is pt_regs at the interrupted point. */
  Tick = 4,
  /** A packet delivered to a socket (socket filter). */
  SocketData = 5,
}

/** An event as a source describes it, before it is copied into a slot. */
export interface EventDesc {
  hookId: number;
  kind: EventKind;
  repeat?: number;
  arg0?: bigint;
  arg1?: bigint;
  data?: Uint8Array;
}

/** Bytes a ring with these parameters takes in the arena. */
export function eventRingBytes(capacity: number, slotBytes: number): number {
  return ER_SLOTS + capacity * slotBytes;
}

/** Syscall context: lay out a ring in a block of `eventRingBytes` zeroed bytes. */
export function eventRingInit(arena: ArenaApi, ringOff: number, capacity: number, slotBytes: number): void {
  if (capacity < 1 || (capacity & (capacity - 1)) !== 0) throw new BpfError(Errno.EINVAL, "event ring capacity must be a power of two");
  if (slotBytes < EV_HDR_BYTES + 8 || slotBytes % 8 !== 0) throw new BpfError(Errno.EINVAL, "event slot size must be a multiple of 8, at least 40");
  const w = ringOff >>> 2;
  Atomics.store(arena.i32, w + (ER_HEAD >>> 2), 0);
  Atomics.store(arena.i32, w + (ER_TAIL >>> 2), 0);
  Atomics.store(arena.i32, w + (ER_DOORBELL >>> 2), 0);
  Atomics.store(arena.i32, w + (ER_PLOCK >>> 2), 0);
  arena.u32[w + (ER_CAPACITY >>> 2)] = capacity;
  arena.u32[w + (ER_SLOT_BYTES >>> 2)] = slotBytes;
  Atomics.store(arena.i32, w + (ER_CLOSED >>> 2), 0);
}

/**
 * Any thread: copy up to `events.length` events into the ring, in order.
 * Returns how many were pushed (fewer when the ring is full: the caller
 * decides whether to retry, wait, or count them as dropped). Rings the
 * doorbell if the CPU sleeps.
 */
export function ringPush(arena: ArenaApi, ringOff: number, events: readonly EventDesc[], from = 0): number {
  const i32 = arena.i32;
  const w = ringOff >>> 2;
  const capacity = arena.u32[w + (ER_CAPACITY >>> 2)]!;
  const slotBytes = arena.u32[w + (ER_SLOT_BYTES >>> 2)]!;
  const maxData = slotBytes - EV_HDR_BYTES;
  spinLock(i32, ringOff + ER_PLOCK);
  let n = 0;
  try {
    const head = Atomics.load(i32, w + (ER_HEAD >>> 2)) >>> 0;
    let tail = Atomics.load(i32, w + (ER_TAIL >>> 2)) >>> 0;
    const room = capacity - ((tail - head) >>> 0);
    const count = Math.min(room, events.length - from);
    for (; n < count; n++) {
      const e = events[from + n]!;
      const len = e.data ? e.data.length : 0;
      if (len > maxData) throw new BpfError(Errno.E2BIG, `event payload ${len} B exceeds slot payload ${maxData} B`);
      const s = ringOff + ER_SLOTS + (tail & (capacity - 1)) * slotBytes;
      const sw = s >>> 2;
      arena.u32[sw] = e.hookId;
      arena.u32[sw + 1] = e.kind;
      arena.u32[sw + 2] = e.repeat ?? 1;
      arena.u32[sw + 3] = len;
      arena.u64[(s + EV_ARG0) >>> 3] = e.arg0 ?? 0n;
      arena.u64[(s + EV_ARG1) >>> 3] = e.arg1 ?? 0n;
      if (e.data) arena.u8.set(e.data, s + EV_HDR_BYTES);
      tail = (tail + 1) >>> 0;
    }
    if (n > 0) Atomics.store(i32, w + (ER_TAIL >>> 2), tail | 0);
  } finally {
    spinUnlock(i32, ringOff + ER_PLOCK);
  }
  if (n > 0) ringDoorbell(arena, ringOff);
  return n;
}

/** Any thread: wake the CPU if it sleeps on the doorbell. */
export function ringDoorbell(arena: ArenaApi, ringOff: number): void {
  const dw = (ringOff + ER_DOORBELL) >>> 2;
  if (Atomics.load(arena.i32, dw) === 1) {
    Atomics.store(arena.i32, dw, 0);
    Atomics.notify(arena.i32, dw);
  }
}

/** Owning CPU: number of published slots not yet released (0..capacity). */
export function ringFill(arena: ArenaApi, ringOff: number): number {
  const w = ringOff >>> 2;
  return (Atomics.load(arena.i32, w + (ER_TAIL >>> 2)) - Atomics.load(arena.i32, w + (ER_HEAD >>> 2))) >>> 0;
}

/** Any thread: free slots. */
export function ringRoom(arena: ArenaApi, ringOff: number): number {
  return arena.u32[(ringOff + ER_CAPACITY) >>> 2]! - ringFill(arena, ringOff);
}

/** Byte offset of the slot with free-running index `i`. */
export function ringSlotOff(arena: ArenaApi, ringOff: number, i: number): number {
  const w = ringOff >>> 2;
  return ringOff + ER_SLOTS + (i & (arena.u32[w + (ER_CAPACITY >>> 2)]! - 1)) * arena.u32[w + (ER_SLOT_BYTES >>> 2)]!;
}

/** Owning CPU: hand `n` processed slots back to the producers. */
export function ringRelease(arena: ArenaApi, ringOff: number, n: number): void {
  const hw = (ringOff + ER_HEAD) >>> 2;
  Atomics.store(arena.i32, hw, (Atomics.load(arena.i32, hw) + n) | 0);
}

/**
 * Owning CPU: sleep until a producer rings or `timeoutMs` passes. Returns at
 * once if events are already published or the ring is closed.
 */
export function ringSleep(arena: ArenaApi, ringOff: number, timeoutMs: number): void {
  const i32 = arena.i32;
  const dw = (ringOff + ER_DOORBELL) >>> 2;
  Atomics.store(i32, dw, 1);
  if (ringFill(arena, ringOff) !== 0 || ringClosed(arena, ringOff)) {
    Atomics.store(i32, dw, 0);
    return;
  }
  Atomics.wait(i32, dw, 1, timeoutMs);
  Atomics.store(i32, dw, 0);
}

/** Any thread: mark the ring closed and wake its CPU so it can exit. */
export function ringClose(arena: ArenaApi, ringOff: number): void {
  Atomics.store(arena.i32, (ringOff + ER_CLOSED) >>> 2, 1);
  const dw = (ringOff + ER_DOORBELL) >>> 2;
  Atomics.store(arena.i32, dw, 0);
  Atomics.notify(arena.i32, dw);
}

/** Any thread. */
export function ringClosed(arena: ArenaApi, ringOff: number): boolean {
  return Atomics.load(arena.i32, (ringOff + ER_CLOSED) >>> 2) !== 0;
}
