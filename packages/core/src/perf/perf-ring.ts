/**
 * Records in a perf ring, written by a program on the event's CPU and read by
 * user space, in Linux's format (include/uapi/linux/perf_event.h):
 *
 *   struct perf_event_header { u32 type; u16 misc; u16 size; }
 *
 *   PERF_RECORD_SAMPLE (9) with PERF_SAMPLE_RAW:
 *     header | u32 raw_size | raw data | zero pad      (size = 8 + round_up(4 + len, 8))
 *     raw_size counts the data and the pad (round_up(4 + len, 8) - 4), as in Linux.
 *   PERF_RECORD_LOST (2):
 *     header | u64 id | u64 lost                        (size = 24)
 *
 * data_head and data_tail are free-running u64 byte counters; a record may
 * straddle the end of the data area (the reader copies it out in two parts,
 * as libbpf's perf_buffer does). Space is data_size - (head - tail).
 *
 * Ordering, as in the kernel's perf_output_put_handle / the user-space
 * reader: the producer writes the record bytes, then stores data_head
 * (Atomics.store: release); the reader loads data_head (acquire), reads the
 * records, then stores data_tail (release); the producer loads data_tail
 * (acquire) before reusing space.
 *
 * Lost records: when a sample does not fit, the producer counts it in the
 * event's lostPending and returns -ENOSPC (what bpf_perf_event_output
 * returns in Linux). The next time space allows, it first writes one
 * PERF_RECORD_LOST with that count, so received + lost = produced.
 *
 * Who may call: `perfOutput` from a program on the event's CPU (the single
 * producer); `perfRingConsume` from the single reader of the ring.
 */
import type { ArenaApi } from "../memory/arena-api.js";
import { Errno } from "../errno.js";
import {
  MP_DATA_HEAD,
  MP_DATA_TAIL,
  PE_FLAGS,
  PE_F_WATERMARK,
  PE_ID,
  PE_LOST_PENDING,
  PE_LOST_TOTAL,
  PE_RING,
  PE_SAMPLES,
  PE_SINCE_WAKEUP,
  PE_WAKEUP,
  PE_WAKE_WORD_OFF,
  PAGE_BYTES,
  PE_PAGE_CNT,
  PERF_RECORD_LOST,
  PERF_RECORD_MISC_KERNEL,
  PERF_RECORD_SAMPLE,
} from "./perf-event.js";

export const LOST_RECORD_BYTES = 24;

/** Bytes a raw sample of `len` bytes takes in the ring. */
export function sampleRecordBytes(len: number): number {
  return 8 + ((4 + len + 7) & ~7);
}

/** Copy `len` bytes from arena `src` into the ring at free-running position `pos`. */
function ringWrite(u8: Uint8Array, dataOff: number, mask: number, pos: number, src: number, len: number): void {
  const at = pos & mask;
  const first = Math.min(len, mask + 1 - at);
  u8.copyWithin(dataOff + at, src, src + first);
  if (first < len) u8.copyWithin(dataOff, src + first, src + len);
}

/** Write a little-endian u32 at ring position `pos` (4-aligned, never straddles). */
function put32(dv: DataView, dataOff: number, mask: number, pos: number, v: number): void {
  dv.setUint32(dataOff + (pos & mask), v, true);
}

/**
 * Program on the event's CPU: append a PERF_RECORD_SAMPLE carrying `len`
 * bytes at arena offset `src`. Returns 0, or -ENOSPC when the ring is full
 * (the record is counted as lost), or -E2BIG when the record can never fit
 * (a perf header's size is a u16).
 */
export function perfOutput(arena: ArenaApi, evOff: number, src: number, len: number): number {
  const u32 = arena.u32;
  const i64 = arena.i64;
  const pageOff = u32[(evOff + PE_RING) >>> 2]!;
  const size = u32[(evOff + PE_PAGE_CNT) >>> 2]! * PAGE_BYTES;
  const mask = size - 1;
  const dataOff = pageOff + PAGE_BYTES;
  const recBytes = sampleRecordBytes(len);
  if (recBytes > 0xffff) return -Errno.E2BIG;

  let head = Number(i64[(pageOff + MP_DATA_HEAD) >>> 3]!); // only this producer writes it
  const tail = Number(Atomics.load(i64, (pageOff + MP_DATA_TAIL) >>> 3));
  let free = size - (head - tail);
  const lostOff = (evOff + PE_LOST_PENDING) >>> 3;
  const lost = i64[lostOff]!;
  const dv = arena.dv;

  if (lost !== 0n) {
    if (free < LOST_RECORD_BYTES + recBytes) return lose(arena, evOff);
    put32(dv, dataOff, mask, head, PERF_RECORD_LOST);
    put32(dv, dataOff, mask, head + 4, (LOST_RECORD_BYTES << 16) | 0);
    dv.setBigUint64(dataOff + ((head + 8) & mask), arena.u64[(evOff + PE_ID) >>> 3]!, true);
    dv.setBigUint64(dataOff + ((head + 16) & mask), lost, true);
    i64[lostOff] = 0n;
    head += LOST_RECORD_BYTES;
    free -= LOST_RECORD_BYTES;
  } else if (free < recBytes) {
    return lose(arena, evOff);
  }

  put32(dv, dataOff, mask, head, PERF_RECORD_SAMPLE);
  put32(dv, dataOff, mask, head + 4, (recBytes << 16) | PERF_RECORD_MISC_KERNEL);
  put32(dv, dataOff, mask, head + 8, recBytes - 12);
  ringWrite(arena.u8, dataOff, mask, head + 12, src, len);
  const pad = recBytes - 12 - len;
  for (let i = 0; i < pad; i++) arena.u8[dataOff + ((head + 12 + len + i) & mask)] = 0;
  head += recBytes;
  Atomics.store(i64, (pageOff + MP_DATA_HEAD) >>> 3, BigInt(head));
  Atomics.add(i64, (evOff + PE_SAMPLES) >>> 3, 1n);
  maybeWake(arena, evOff, recBytes);
  return 0;
}

function lose(arena: ArenaApi, evOff: number): number {
  arena.i64[(evOff + PE_LOST_PENDING) >>> 3]! += 1n;
  Atomics.add(arena.i64, (evOff + PE_LOST_TOTAL) >>> 3, 1n);
  // A full ring wakes its reader regardless of the threshold, so it can drain.
  wake(arena, evOff);
  return -Errno.ENOSPC;
}

function maybeWake(arena: ArenaApi, evOff: number, bytes: number): void {
  const u32 = arena.u32;
  const w = (evOff + PE_SINCE_WAKEUP) >>> 2;
  const step = (u32[(evOff + PE_FLAGS) >>> 2]! & PE_F_WATERMARK) !== 0 ? bytes : 1;
  const since = u32[w]! + step;
  if (since >= u32[(evOff + PE_WAKEUP) >>> 2]!) {
    u32[w] = 0;
    wake(arena, evOff);
  } else {
    u32[w] = since;
  }
}

function wake(arena: ArenaApi, evOff: number): void {
  const ww = arena.u32[(evOff + PE_WAKE_WORD_OFF) >>> 2]! >>> 2;
  Atomics.add(arena.i32, ww, 1);
  Atomics.notify(arena.i32, ww);
}

/** One record as the reader sees it. */
export type PerfRecord =
  | { type: typeof PERF_RECORD_SAMPLE; data: Uint8Array }
  | { type: typeof PERF_RECORD_LOST; id: bigint; lost: bigint }
  | { type: number; raw: Uint8Array };

/**
 * Reader: consume every record published so far, calling `onRecord` for each
 * (the `data` copy is the reader's own), then release the space. Returns the
 * number of records. Raw sample `data` has the padded raw_size length, as
 * libbpf passes to its sample callback.
 */
export function perfRingConsume(arena: ArenaApi, evOff: number, onRecord: (r: PerfRecord) => void): number {
  const pageOff = arena.u32[(evOff + PE_RING) >>> 2]!;
  const size = arena.u32[(evOff + PE_PAGE_CNT) >>> 2]! * PAGE_BYTES;
  const mask = size - 1;
  const dataOff = pageOff + PAGE_BYTES;
  const head = Number(Atomics.load(arena.i64, (pageOff + MP_DATA_HEAD) >>> 3));
  let tail = Number(arena.i64[(pageOff + MP_DATA_TAIL) >>> 3]!);
  const u8 = arena.u8;
  let n = 0;
  const read = (pos: number, len: number): Uint8Array => {
    const out = new Uint8Array(len);
    const at = pos & mask;
    const first = Math.min(len, size - at);
    out.set(u8.subarray(dataOff + at, dataOff + at + first), 0);
    if (first < len) out.set(u8.subarray(dataOff, dataOff + len - first), first);
    return out;
  };
  while (tail < head) {
    const hdr = read(tail, 8);
    const hv = new DataView(hdr.buffer);
    const type = hv.getUint32(0, true);
    const recSize = hv.getUint16(6, true);
    if (recSize < 8) break; // corrupt: stop rather than loop
    const body = read(tail + 8, recSize - 8);
    const bv = new DataView(body.buffer);
    if (type === PERF_RECORD_SAMPLE) {
      const rawSize = bv.getUint32(0, true);
      onRecord({ type: PERF_RECORD_SAMPLE, data: body.subarray(4, 4 + rawSize) });
    } else if (type === PERF_RECORD_LOST) {
      onRecord({ type: PERF_RECORD_LOST, id: bv.getBigUint64(0, true), lost: bv.getBigUint64(8, true) });
    } else {
      onRecord({ type, raw: body });
    }
    tail += recSize;
    n++;
  }
  Atomics.store(arena.i64, (pageOff + MP_DATA_TAIL) >>> 3, BigInt(tail));
  return n;
}

/** Any thread: bytes published and not yet consumed. */
export function perfRingPending(arena: ArenaApi, evOff: number): number {
  const pageOff = arena.u32[(evOff + PE_RING) >>> 2]!;
  return Number(Atomics.load(arena.i64, (pageOff + MP_DATA_HEAD) >>> 3)) - Number(Atomics.load(arena.i64, (pageOff + MP_DATA_TAIL) >>> 3));
}
