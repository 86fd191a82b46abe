/**
 * The user-space side of BPF ring buffers, shaped like libbpf's
 * `ring_buffer__new / __add / __poll / __consume / __free`: one object
 * reads any number of rings, calling one callback per ring for every
 * committed, non-discarded record, in reservation order.
 *
 * Reading follows ringbuf_process_ring() in libbpf: load producer_pos
 * (acquire), read each header at consumer_pos with an acquire load, stop at
 * the first record still BUSY, skip DISCARD records, and publish the new
 * consumer_pos (release) after every record, which is what frees its space
 * for producers. Samples are handed to the callback as a view onto the
 * arena (no copy) that is valid during the callback only, like the pointer
 * libbpf passes.
 *
 * Waiting: `poll` sleeps on the ring's wake word with Atomics.waitAsync, so
 * the thread's event loop stays free and no CPU spins; producers bump the
 * word and notify when the consumer has caught up (or on
 * BPF_RB_FORCE_WAKEUP), exactly where Linux would wake an epoll waiter.
 *
 * Who may call: one user-space thread per RingBuffer (single consumer per
 * ring, as in Linux).
 */
import { BpfError, Errno } from "../errno.js";
import type { Process } from "../kernel/process.js";
import { mapGet, mapPut } from "../kernel/map-cmds.js";
import { MapType } from "../uapi.js";
import {
  BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, CONSUMER_PAGE, DATA_PAGE, PRODUCER_PAGE,
  loadPos, recordBytes, ringMask, storePos, wakeWord,
} from "./ring.js";
import { ringbufBase } from "../maps/ringbuf.js";

/**
 * Called for each record with a view of its sample. A negative return stops
 * consumption and is returned by `consume`/`poll` (libbpf's contract).
 */
export type RingBufferSampleFn = (data: Uint8Array, size: number) => number | void;

/** Atomics.waitAsync (ES2024), typed here because the project's lib predates it. */
type WaitAsync = (
  a: Int32Array, i: number, v: number, t?: number,
) => { async: false; value: "not-equal" | "timed-out" } | { async: true; value: Promise<"ok" | "timed-out"> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

interface Ring {
  base: number;
  mask: number;
  slot: number;
  cb: RingBufferSampleFn;
}

/** libbpf's `struct ring_buffer`. */
export class RingBuffer {
  private readonly rings: Ring[] = [];
  private freed = false;

  /** ring_buffer__new(): a reader with one ring. Throws BpfError (EINVAL: not a ring buffer map). */
  constructor(private readonly proc: Process, mapFd: number, cb: RingBufferSampleFn) {
    this.add(mapFd, cb);
  }

  /** ring_buffer__add(): read one more ring. The reader holds a reference on the map until `free`. */
  add(mapFd: number, cb: RingBufferSampleFn): void {
    const h = mapGet(this.proc, mapFd);
    if (typeof h === "number") throw new BpfError(-h, `ring_buffer: map fd ${mapFd}`);
    const held = this.proc.fds.held;
    try {
      if (h.hdr.type !== MapType.Ringbuf) throw new BpfError(Errno.EINVAL, `ring_buffer: map fd ${mapFd} is not a BPF_MAP_TYPE_RINGBUF`);
      const base = ringbufBase(h.hdr);
      this.proc.kernel.objects.get(h.hdr.slot);
      this.rings.push({ base, mask: ringMask(this.proc.kernel.arena, base), slot: h.hdr.slot, cb });
    } finally {
      mapPut(this.proc, h, held);
    }
  }

  /** ring_buffer__consume(): read every available record of every ring. Records read, or a callback's negative result. */
  consume(): number {
    let n = 0;
    for (const r of this.rings) {
      const got = this.consumeRing(r);
      if (got < 0) return got;
      n += got;
    }
    return n;
  }

  /**
   * ring_buffer__poll(): consume; if nothing was there, wait up to
   * `timeoutMs` (-1: forever) for a producer's wake-up and consume again.
   */
  async poll(timeoutMs: number): Promise<number> {
    if (this.freed) throw new BpfError(Errno.EINVAL, "ring_buffer: freed");
    const i32 = this.proc.kernel.arena.i32;
    // Read the wake words before looking at the data: a notify in between changes them and ends the wait at once.
    const seen = this.rings.map((r) => Atomics.load(i32, wakeWord(r.base)));
    const n = this.consume();
    if (n !== 0 || timeoutMs === 0) return n;
    const timeout = timeoutMs < 0 ? Infinity : timeoutMs;
    const waits = this.rings.map((r, i) => {
      const w = waitAsync(i32, wakeWord(r.base), seen[i]!, timeout);
      return w.async ? w.value : Promise.resolve(w.value);
    });
    await Promise.race(waits);
    return this.consume();
  }

  /** The data bytes waiting in ring `index` (ring_buffer__ring + ring__avail_data_size). */
  availData(index = 0): number {
    const r = this.rings[index];
    if (!r) throw new BpfError(Errno.ENOENT, `ring_buffer: no ring ${index}`);
    const a = this.proc.kernel.arena;
    return loadPos(a, r.base + PRODUCER_PAGE) - loadPos(a, r.base + CONSUMER_PAGE);
  }

  /** ring_buffer__free(): drop the map references. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const r of this.rings) this.proc.kernel.objects.put(r.slot);
    this.rings.length = 0;
  }

  private consumeRing(r: Ring): number {
    const a = this.proc.kernel.arena;
    const data = r.base + DATA_PAGE;
    // The arena's buffer, read once: Memory.buffer is a slow getter.
    const buf = a.u8.buffer;
    let cons = loadPos(a, r.base + CONSUMER_PAGE);
    let n = 0;
    for (;;) {
      let progressed = false;
      const prod = loadPos(a, r.base + PRODUCER_PAGE);
      while (cons < prod) {
        const hdr = data + (cons % (r.mask + 1));
        const len = Atomics.load(a.u32, hdr >>> 2) >>> 0;
        if (len & BPF_RINGBUF_BUSY_BIT) return n;
        progressed = true;
        cons += recordBytes(len);
        if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
          const size = len & 0x3fffffff;
          const view = new Uint8Array(buf, hdr + BPF_RINGBUF_HDR_SZ, size);
          const ret = r.cb(view, size);
          if (typeof ret === "number" && ret < 0) {
            storePos(a, r.base + CONSUMER_PAGE, cons);
            return ret;
          }
          n++;
        }
        storePos(a, r.base + CONSUMER_PAGE, cons);
      }
      if (!progressed) return n;
    }
  }
}
