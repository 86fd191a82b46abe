/**
 * Simulated perf events: what `perf_event_open(attr, pid = -1, cpu, -1, 0)`
 * returns for a PERF_COUNT_SW_BPF_OUTPUT event, and the ring user space
 * would mmap from it. Everything is in the arena, so a program on a CPU
 * worker writes records and a reader on another thread consumes them.
 *
 * Perf event object (byte offsets from `evOff`, PE_BYTES in all):
 *
 *   +0  cpu           the CPU the event is bound to (Linux: event->oncpu)
 *   +4  type          attr.type (PERF_TYPE_SOFTWARE = 1)
 *   +8  config        attr.config (PERF_COUNT_SW_BPF_OUTPUT = 10)
 *   +12 sampleType    attr.sample_type (PERF_SAMPLE_RAW = 1 << 10)
 *   +16 wakeup        attr.wakeup_events, or wakeup_watermark in bytes
 *   +20 flags         PE_F_WATERMARK when `wakeup` is a byte watermark
 *   +24 pageCnt       data pages of the ring (a power of two)
 *   +28 ringOff       the mmap area: one header page then pageCnt data pages
 *   +32 sinceWakeup   samples (or bytes) written since the last wake-up
 *   +36 wakeWordOff   word to bump and notify on wake-up (own +40 by default;
 *                     a perf_buffer points all its events at one word, as epoll does)
 *   +40 wakeWord      this event's own wake-up counter
 *   +44 (pad)
 *   +48 lostPending   u64 records lost since the last PERF_RECORD_LOST
 *   +56 id            u64 event id (reported in PERF_RECORD_LOST)
 *   +64 samples       u64 samples written (statistics)
 *   +72 lostTotal     u64 records lost in all (statistics)
 *
 * The ring's header page is `struct perf_event_mmap_page` (1088 bytes used
 * of 4096): data_head at +1024, data_tail at +1032, data_offset at +1040,
 * data_size at +1048, values as in Linux. See perf-ring.ts for the records.
 *
 * Who may call: open/close from syscall context; writers are programs on
 * the event's CPU only (bpf_perf_event_output refuses other CPUs), so a ring
 * has one producer and one consumer and needs no lock.
 */
import type { ArenaApi } from "../memory/arena-api.js";
import { KERNEL_OWNER } from "../memory/arena-api.js";
import { BpfError, Errno } from "../errno.js";

export const PERF_TYPE_SOFTWARE = 1;
export const PERF_COUNT_SW_BPF_OUTPUT = 10;
export const PERF_SAMPLE_RAW = 1 << 10;
export const PERF_RECORD_LOST = 2;
export const PERF_RECORD_SAMPLE = 9;
export const PERF_RECORD_MISC_KERNEL = 1;
export const PAGE_BYTES = 4096;

/** struct perf_event_mmap_page offsets. */
export const MP_DATA_HEAD = 1024;
export const MP_DATA_TAIL = 1032;
export const MP_DATA_OFFSET = 1040;
export const MP_DATA_SIZE = 1048;

export const PE_CPU = 0;
export const PE_TYPE = 4;
export const PE_CONFIG = 8;
export const PE_SAMPLE_TYPE = 12;
export const PE_WAKEUP = 16;
export const PE_FLAGS = 20;
export const PE_PAGE_CNT = 24;
export const PE_RING = 28;
export const PE_SINCE_WAKEUP = 32;
export const PE_WAKE_WORD_OFF = 36;
export const PE_WAKE_WORD = 40;
export const PE_LOST_PENDING = 48;
export const PE_ID = 56;
export const PE_SAMPLES = 64;
export const PE_LOST_TOTAL = 72;
export const PE_BYTES = 80;
export const PE_F_WATERMARK = 1;

/** The part of `struct perf_event_attr` bpfsim reads. */
export interface PerfEventAttr {
  type: number;
  config: number;
  sampleType: number;
  /** attr.sample_period; 1 for BPF output. */
  samplePeriod?: number;
  /** attr.wakeup_events (default 1), or the watermark in bytes when `watermark` is set. */
  wakeupEvents?: number;
  watermark?: boolean;
  wakeupWatermark?: number;
}

/**
 * Syscall: open a perf event on `cpu` (pid = -1) with a ring of `pageCnt`
 * data pages already mapped. Returns the event's offset. EINVAL for a
 * non-power-of-two page count or a bad cpu, as perf_event_open/mmap do.
 */
export function perfEventOpen(arena: ArenaApi, attr: PerfEventAttr, cpu: number, ncpus: number, pageCnt: number): number {
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= ncpus) throw new BpfError(Errno.EINVAL, `perf_event_open: no cpu ${cpu}`);
  if (!Number.isInteger(pageCnt) || pageCnt < 1 || (pageCnt & (pageCnt - 1)) !== 0) {
    throw new BpfError(Errno.EINVAL, "perf buffer page count must be a power of two");
  }
  const evOff = arena.alloc(PE_BYTES, KERNEL_OWNER);
  if (evOff < 0) throw new BpfError(Errno.ENOMEM, "perf event");
  const ringOff = arena.alloc((1 + pageCnt) * PAGE_BYTES, KERNEL_OWNER);
  if (ringOff < 0) {
    arena.free(evOff);
    throw new BpfError(Errno.ENOMEM, "perf ring");
  }
  arena.u8.fill(0, evOff, evOff + PE_BYTES);
  arena.u8.fill(0, ringOff, ringOff + PAGE_BYTES);
  const u32 = arena.u32;
  u32[(evOff + PE_CPU) >>> 2] = cpu;
  u32[(evOff + PE_TYPE) >>> 2] = attr.type;
  u32[(evOff + PE_CONFIG) >>> 2] = attr.config;
  u32[(evOff + PE_SAMPLE_TYPE) >>> 2] = attr.sampleType;
  u32[(evOff + PE_WAKEUP) >>> 2] = Math.max(1, attr.watermark ? attr.wakeupWatermark ?? 1 : attr.wakeupEvents ?? 1);
  u32[(evOff + PE_FLAGS) >>> 2] = attr.watermark ? PE_F_WATERMARK : 0;
  u32[(evOff + PE_PAGE_CNT) >>> 2] = pageCnt;
  u32[(evOff + PE_RING) >>> 2] = ringOff;
  u32[(evOff + PE_WAKE_WORD_OFF) >>> 2] = evOff + PE_WAKE_WORD;
  // The event's arena offset is unique while it is open: use it as its id.
  arena.u64[(evOff + PE_ID) >>> 3] = BigInt(evOff);
  arena.u64[(ringOff + MP_DATA_OFFSET) >>> 3] = BigInt(PAGE_BYTES);
  arena.u64[(ringOff + MP_DATA_SIZE) >>> 3] = BigInt(pageCnt * PAGE_BYTES);
  return evOff;
}

/** Syscall: close the event and unmap its ring. */
export function perfEventClose(arena: ArenaApi, evOff: number): void {
  const ringOff = arena.u32[(evOff + PE_RING) >>> 2]!;
  if (ringOff) arena.free(ringOff);
  arena.free(evOff);
}

/** Any thread: a typed view of the mapped ring, as user space sees after mmap. */
export interface PerfRingView {
  /** Offset of struct perf_event_mmap_page. */
  readonly pageOff: number;
  /** Offset of the first data byte (pageOff + data_offset). */
  readonly dataOff: number;
  /** data_size in bytes. */
  readonly dataSize: number;
  readonly cpu: number;
}

export function perfEventRing(arena: ArenaApi, evOff: number): PerfRingView {
  const pageOff = arena.u32[(evOff + PE_RING) >>> 2]!;
  return {
    pageOff,
    dataOff: pageOff + Number(arena.u64[(pageOff + MP_DATA_OFFSET) >>> 3]!),
    dataSize: Number(arena.u64[(pageOff + MP_DATA_SIZE) >>> 3]!),
    cpu: arena.u32[(evOff + PE_CPU) >>> 2]!,
  };
}

/** Any thread: statistics of an event. */
export function perfEventStats(arena: ArenaApi, evOff: number): { samples: bigint; lost: bigint } {
  return {
    samples: Atomics.load(arena.i64, (evOff + PE_SAMPLES) >>> 3) as bigint,
    lost: Atomics.load(arena.i64, (evOff + PE_LOST_TOTAL) >>> 3) as bigint,
  };
}
