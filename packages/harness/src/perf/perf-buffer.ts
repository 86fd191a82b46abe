/**
 * A user-space consumer of a BPF_MAP_TYPE_PERF_EVENT_ARRAY, shaped like
 * libbpf's `perf_buffer`: `new PerfBuffer(proc, mapFd, { pageCnt, onSample,
 * onLost })` opens one PERF_COUNT_SW_BPF_OUTPUT event per CPU with a ring of
 * `pageCnt` pages, stores each event's fd at its CPU's index of the map, and
 * then `poll(timeoutMs)` waits for wake-ups and hands every record to the
 * callbacks; `consume()` reads whatever is there without waiting.
 *
 * Waiting never spins: all events of one buffer bump the same arena word on
 * wake-up (the role epoll plays for libbpf), and `poll` waits on it with
 * Atomics.waitAsync, so the thread's event loop stays free. The word's value
 * is read before the rings are scanned, so a wake-up between the scan and the
 * wait makes the wait return at once.
 */
import {
  BpfError,
  Errno,
  KERNEL_OWNER,
  PE_WAKE_WORD_OFF,
  PERF_COUNT_SW_BPF_OUTPUT,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  PERF_SAMPLE_RAW,
  PERF_TYPE_SOFTWARE,
  perfRingConsume,
  type ArenaApi,
  type PerfEventAttr,
  type PerfRecord,
  type Process,
} from "@bpfsim/core";
import { processPerfHost } from "./process-perf-host.js";

/** What a perf buffer needs from the process it runs in (the kernel layer provides it). */
export interface PerfHost {
  readonly arena: ArenaApi;
  readonly ncpus: number;
  /** perf_event_open(attr, pid = -1, cpu, -1, 0) and mmap of 1 + pageCnt pages. */
  perfEventOpen(attr: PerfEventAttr, cpu: number, pageCnt: number): { fd: number; evOff: number };
  /** bpf(BPF_MAP_UPDATE_ELEM, mapFd, &index, &fd, BPF_ANY). */
  mapUpdatePerfFd(mapFd: number, index: number, fd: number): void;
  /** close(fd) of a perf event. */
  close(fd: number): void;
}

export interface PerfBufferOptions {
  /** Data pages per CPU ring, a power of two (libbpf's page_cnt). */
  pageCnt: number;
  onSample(cpu: number, data: Uint8Array): void;
  onLost?(cpu: number, lost: bigint): void;
  /** attr.wakeup_events (default 1, as libbpf sets). */
  wakeupEvents?: number;
  /** Byte watermark instead of an event count. */
  wakeupWatermark?: number;
  /** CPUs to open (default all). */
  cpus?: number[];
}

type WaitAsync = (ta: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class PerfBuffer {
  private readonly events: { cpu: number; fd: number; evOff: number }[] = [];
  private readonly wakeOff: number;
  private closed = false;
  /** Samples handed to onSample. */
  received = 0;
  /** Records reported lost through PERF_RECORD_LOST. */
  lost = 0n;

  private readonly host: PerfHost;

  /** `owner` is the process whose fds these are (or any PerfHost). */
  constructor(
    owner: Process | PerfHost,
    mapFd: number,
    private readonly opts: PerfBufferOptions,
  ) {
    const host = "perfEventOpen" in owner ? owner : processPerfHost(owner);
    this.host = host;
    const arena = host.arena;
    this.wakeOff = arena.alloc(8, KERNEL_OWNER);
    if (this.wakeOff < 0) throw new BpfError(Errno.ENOMEM, "perf buffer");
    arena.i32[this.wakeOff >>> 2] = 0;
    const attr: PerfEventAttr = {
      type: PERF_TYPE_SOFTWARE,
      config: PERF_COUNT_SW_BPF_OUTPUT,
      sampleType: PERF_SAMPLE_RAW,
      samplePeriod: 1,
      wakeupEvents: opts.wakeupEvents ?? 1,
      watermark: opts.wakeupWatermark !== undefined,
      wakeupWatermark: opts.wakeupWatermark,
    };
    const cpus = opts.cpus ?? Array.from({ length: host.ncpus }, (_, i) => i);
    try {
      for (const cpu of cpus) {
        const { fd, evOff } = host.perfEventOpen(attr, cpu, opts.pageCnt);
        this.events.push({ cpu, fd, evOff });
        // Point the event's wake-ups at this buffer's word (our "epoll").
        Atomics.store(arena.u32, (evOff + PE_WAKE_WORD_OFF) >>> 2, this.wakeOff);
        host.mapUpdatePerfFd(mapFd, cpu, fd);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Read every available record on every CPU; returns the number of records. */
  consume(): number {
    let n = 0;
    for (const ev of this.events) {
      n += perfRingConsume(this.host.arena, ev.evOff, (r: PerfRecord) => {
        if (r.type === PERF_RECORD_SAMPLE && "data" in r) {
          this.received++;
          this.opts.onSample(ev.cpu, r.data);
        } else if (r.type === PERF_RECORD_LOST && "lost" in r) {
          this.lost += r.lost;
          this.opts.onLost?.(ev.cpu, r.lost);
        }
      });
    }
    return n;
  }

  /** Wait up to `timeoutMs` for a wake-up, then consume. Returns the number of records. */
  async poll(timeoutMs: number): Promise<number> {
    if (this.closed) throw new BpfError(Errno.EBADF, "perf buffer closed");
    const i32 = this.host.arena.i32;
    const w = this.wakeOff >>> 2;
    const seen = Atomics.load(i32, w);
    const n = this.consume();
    if (n > 0 || timeoutMs <= 0) return n;
    const r = waitAsync(i32, w, seen, timeoutMs);
    if (r.async) await r.value;
    return this.consume();
  }

  /** The perf event fds, by CPU order of opening (what perf_buffer__buffer_fd returns). */
  fds(): number[] {
    return this.events.map((e) => e.fd);
  }

  /** Close every event (their rings are unmapped) and release the wake word. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ev of this.events) this.host.close(ev.fd);
    this.events.length = 0;
    this.host.arena.free(this.wakeOff);
  }
}
