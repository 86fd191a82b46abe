/** Shorthands shared by the corpus files. */
import { type Case, type MapDef } from "./harness.js";
import * as a from "./asm.js";

export const ARRAY8: MapDef = { type: 2, key: 4, value: 8, max: 4 };
export const ARRAY16: MapDef = { type: 2, key: 4, value: 16, max: 4 };
export const ARRAY64: MapDef = { type: 2, key: 4, value: 64, max: 4 };
export const HASH8: MapDef = { type: 1, key: 8, value: 8, max: 16 };
export const RINGBUF: MapDef = { type: 27, key: 0, value: 0, max: 4096 };
export const PROG_ARRAY: MapDef = { type: 3, key: 4, value: 4, max: 4 };
export const PERF_ARRAY: MapDef = { type: 4, key: 4, value: 4, max: 2 };

export const XDP = 6;
export const KPROBE = 2;
export const TC = 3;
export const SOCKET = 1;
export const TRACEPOINT = 5;

type Part = a.Slot | a.Slot[];
type Opts = Partial<Omit<Case, "name" | "category" | "insns" | "accept" | "msg">>;

/** Builds cases of one category. */
export function category(cat: string): {
  ok: (name: string, parts: Part[], o?: Opts) => Case;
  bad: (name: string, msg: string, parts: Part[], o?: Opts) => Case;
} {
  return {
    ok: (name, parts, o = {}) => ({ name, category: cat, insns: a.prog(...parts), accept: true, ...o }),
    bad: (name, msg, parts, o = {}) => ({ name, category: cat, insns: a.prog(...parts), accept: false, msg, ...o }),
  };
}

export const ret0: a.Slot[] = [a.mov(0, 0), a.exit()];

/** key 0 at fp-8, r2 = &key, r1 = map i, call map_lookup_elem: r0 = value or NULL. */
export const lookup = (i = 0, keyOff = -8): a.Slot[] => [
  a.st("dw", 10, keyOff, 0), a.movr(2, 10), a.add(2, keyOff), ...a.ldMap(1, i), a.call(1),
];

/** lookup, then `if r0 == 0 goto exit-with-0` (3 instructions follow: the caller's body must end in exit). */
export const lookupChecked = (i = 0): a.Slot[] => [...lookup(i), a.jmpi("jne", 0, 0, 2), a.mov(0, 0), a.exit()];

/** r1 = an unknown u64 scalar read from a map value (needs map 0 with value >= 8); leaves r6 = value ptr. */
export const unknownFromMap: a.Slot[] = [...lookupChecked(0), a.movr(6, 0), a.ldx("dw", 1, 0, 0)];

export const UNPRIV = "unprivileged loads are disabled on this machine (kernel.unprivileged_bpf_disabled != 0)";
