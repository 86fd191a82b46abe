/**
 * A loaded program in the arena, so any thread can rebuild and run it from
 * its object slot (the kernel's `struct bpf_prog` + `bpf_prog_aux`).
 *
 * Program header (PROG_HEADER_BYTES, written completely before the object
 * slot is allocated, read-only afterwards except the run statistics):
 *
 *   w0  magic "BPFP"      w1  prog type        w2  insn slots (len)
 *   w3  insns off         w4  nr maps          w5  map slots off (u32 each)
 *   w6  gpl compatible    w7  expected attach  w8  prog flags
 *   w9  uid               w10 kern_version     w11 attach_btf_id
 *   w12 load time (ns, u64, w12-13)            w14-15 tag[8]
 *   w16-19 name[16]       w20-21 run_time_ns (u64)  w22-23 run_cnt (u64)
 *   w24 verified insns    w25 orig insns off (user form, for the tag/xlated dump)
 *   w26 id                w27 object slot
 *
 * `insns` holds the image engines run: map-fd lddws resolved to header
 * offsets / value addresses (ProgImage). Each map in the map-slot list is
 * referenced by the program; the references go when the program is freed.
 * The run statistics are updated with Atomics.add on their 64-bit words
 * (BigInt64Array), by any thread that ran the program with stats enabled.
 */
import type { ArenaApi } from "../memory/arena-api.js";
import type { ProgImage } from "../exec/engine.js";

export const PROG_MAGIC = 0x50465042; // "BPFP"
export const P_MAGIC = 0;
export const P_TYPE = 1;
export const P_LEN = 2;
export const P_INSNS = 3;
export const P_NR_MAPS = 4;
export const P_MAPS = 5;
export const P_GPL = 6;
export const P_EXPECTED_ATTACH = 7;
export const P_FLAGS = 8;
export const P_UID = 9;
export const P_KERN_VERSION = 10;
export const P_ATTACH_BTF_ID = 11;
export const P_LOAD_TIME = 12;
export const P_TAG = 14;
export const P_NAME = 16;
export const P_RUN_TIME = 20;
export const P_RUN_CNT = 22;
export const P_VERIFIED = 24;
export const P_ORIG_INSNS = 25;
export const P_ID = 26;
export const P_SLOT = 27;
export const PROG_HEADER_BYTES = 128;

/** A thread's read-only view of one program header. */
export class ProgHeader {
  constructor(
    readonly arena: ArenaApi,
    readonly off: number,
  ) {}
  word(i: number): number {
    return this.arena.u32[(this.off >>> 2) + i]!;
  }
  get type(): number {
    return this.word(P_TYPE);
  }
  get len(): number {
    return this.word(P_LEN);
  }
  get id(): number {
    return Atomics.load(this.arena.u32, (this.off >>> 2) + P_ID);
  }
  get insnsOff(): number {
    return this.word(P_INSNS);
  }
  get origInsnsOff(): number {
    return this.word(P_ORIG_INSNS);
  }
  get gpl(): boolean {
    return this.word(P_GPL) !== 0;
  }
  /** Object slots of the maps this program uses. */
  mapSlots(): number[] {
    const n = this.word(P_NR_MAPS);
    const w = this.word(P_MAPS) >>> 2;
    return Array.from({ length: n }, (_, i) => this.arena.u32[w + i]!);
  }
  nameBytes(): Uint8Array {
    const o = this.off + P_NAME * 4;
    return this.arena.u8.slice(o, o + 16);
  }
  get name(): string {
    const b = this.nameBytes();
    const n = b.indexOf(0);
    return String.fromCharCode(...b.subarray(0, n < 0 ? 16 : n));
  }
  tag(): Uint8Array {
    const o = this.off + P_TAG * 4;
    return this.arena.u8.slice(o, o + 8);
  }
  u64(w: number): bigint {
    return Atomics.load(this.arena.u64, (this.off >>> 3) + (w >> 1));
  }
  /** Adds one run of `ns` to the statistics (any thread). */
  addRun(ns: bigint, runs = 1n): void {
    Atomics.add(this.arena.u64, (this.off >>> 3) + (P_RUN_TIME >> 1), ns);
    Atomics.add(this.arena.u64, (this.off >>> 3) + (P_RUN_CNT >> 1), runs);
  }
  /** The image an engine compiles. */
  image(): ProgImage {
    const o = this.insnsOff;
    return { insns: this.arena.u8.slice(o, o + this.len * 8), progType: this.type, name: this.name };
  }
  /** The instructions as the user passed them. */
  origInsns(): Uint8Array {
    const o = this.origInsnsOff;
    return this.arena.u8.slice(o, o + this.len * 8);
  }
}
