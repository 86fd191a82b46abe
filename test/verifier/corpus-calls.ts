/** Helper calls, callbacks, references (ring buffer), locks, legacy packet loads, privilege. */
import * as a from "./asm.js";
import { category, ret0, ARRAY8, RINGBUF, KPROBE, XDP, UNPRIV, lookupChecked } from "./corpus-util.js";

const h = category("helpers");
const r = category("references");
const p = category("privilege");
const K = { progType: KPROBE };
/** Callbacks need BTF func_info: the kernel harness then describes every subprogram as a static function. */
const FI = { progType: KPROBE, funcInfo: true };
const RB = { maps: [RINGBUF] };
const LOCK_MAP = { type: 2, key: 4, value: 16, max: 1, spinLockOff: 0 };
const LOCK = { maps: [LOCK_MAP], progType: 3 };

/** r0 = ringbuf_reserve(map0, size, 0) */
const reserve = (size: number): a.Slot[] => [...a.ldMap(1, 0), a.mov(2, size), a.mov(3, 0), a.call(131)];
const submit = (reg: number): a.Slot[] => [a.movr(1, reg), a.mov(2, 0), a.call(132)];

/** bpf_loop(n, callback at +rel from the lddw, ctx = r3, 0). */
const loopCall = (cbBody: a.Slot[], ctxReg?: number): a.Slot[] => {
  const main: a.Slot[] = [a.mov(1, 4), ...a.ldFunc(2, 6), ctxReg === undefined ? a.mov(3, 0) : a.movr(3, ctxReg), a.mov(4, 0), a.call(181), a.mov(0, 0), a.exit()];
  return [...main, ...cbBody];
};

/** bpf_for_each_map_elem(map0, callback, NULL, 0) */
const forEach = (cbBody: a.Slot[]): a.Slot[] => [
  ...a.ldMap(1, 0), ...a.ldFunc(2, 6), a.mov(3, 0), a.mov(4, 0), a.call(164), a.mov(0, 0), a.exit(), ...cbBody,
];
const FE = { ...FI, maps: [ARRAY8] };

export const callCases = [
  h.bad("helper id out of range", "invalid func unknown#100000", [a.call(100000), ...ret0]),
  h.bad("helper not allowed for socket filter", "program of this type cannot use helper bpf_get_stackid#27", [a.mov(2, 0), a.mov(3, 0), a.call(27), ...ret0]),
  h.ok("ktime in kprobe", [a.call(5), a.exit()], K),
  h.bad("r1 clobbered by helper", "R1 !read_ok", [a.call(5), a.movr(0, 1), a.exit()], K),
  h.ok("r6 survives helper", [a.mov(6, 3), a.call(5), a.movr(0, 6), a.exit()], K),
  h.bad("r0 of void helper", "R0 !read_ok", [...a.ldMap(2, 0), a.mov(3, 0), a.call(12), a.exit()], { maps: [{ type: 3, key: 4, value: 4, max: 2 }] }),
  h.ok("trace_printk of stack string", [a.st("dw", 10, -8, 0x0a6968), a.movr(1, 10), a.add(1, -8), a.mov(2, 8), a.call(6), ...ret0], K),
  h.bad("trace_printk zero size", "R2 invalid zero-sized read", [a.st("dw", 10, -8, 0), a.movr(1, 10), a.add(1, -8), a.mov(2, 0), a.call(6), ...ret0], K),
  h.bad("trace_printk size past stack", "invalid read from stack R1 off=-8 size=16", [a.st("dw", 10, -8, 0), a.movr(1, 10), a.add(1, -8), a.mov(2, 16), a.call(6), ...ret0], K),
  h.bad("trace_printk unbounded size", "R2 unbounded memory access", [
    a.st("dw", 10, -8, 0), a.ldx("w", 2, 1, 0), a.alu64i("or", 2, 1), a.movr(1, 10), a.add(1, -8), a.call(6), ...ret0,
  ], K),
  h.bad("trace_printk maybe-negative size", "R2 min value is negative", [
    a.st("dw", 10, -8, 0), a.ldx("dw", 2, 1, 0), a.alu64i("arsh", 2, 60), a.movr(1, 10), a.add(1, -8), a.call(6), ...ret0,
  ], K),
  h.ok("probe_read_kernel into uninit stack", [a.movr(1, 10), a.add(1, -16), a.mov(2, 16), a.mov(3, 0), a.call(113), a.ldx("dw", 0, 10, -16), a.exit()], K),
  h.ok("probe_read_kernel bounded variable size", [
    a.ldx("dw", 2, 1, 0), a.and(2, 15), a.movr(1, 10), a.add(1, -16), a.mov(3, 0), a.call(113), ...ret0,
  ], K),
  h.bad("probe_read_kernel into ctx", "R1 type=ctx expected=fp", [a.mov(2, 8), a.mov(3, 0), a.call(113), ...ret0], K),
  h.ok("get_current_comm", [a.movr(1, 10), a.add(1, -16), a.mov(2, 16), a.call(16), ...ret0], K),
  h.bad("perf_event_output without ctx", "R1 type=fp expected=ctx", [a.movr(1, 10), ...a.ldMap(2, 0), a.mov(3, 0), a.movr(4, 10), a.add(4, -8), a.mov(5, 0), a.call(25), ...ret0], { ...K, maps: [{ type: 4, key: 4, value: 4, max: 2 }] }),
  h.ok("pointer as ARG_ANYTHING with CAP_BPF", [...a.ldMap(2, 0), a.movr(3, 10), a.call(12), ...ret0], { maps: [{ type: 3, key: 4, value: 4, max: 2 }] }),
  h.bad("callback without BTF func_info", "missing btf func_info", loopCall([a.mov(0, 0), a.exit()]), K),
  h.ok("bpf_loop callback", loopCall([a.mov(0, 0), a.exit()]), FI),
  h.bad("bpf_loop callback returns 2", "At callback return the register R0", loopCall([a.mov(0, 2), a.exit()]), FI),
  h.bad("bpf_loop callback reads past its ctx", "invalid read from stack R2 off=0 size=8", [
    a.st("dw", 10, -8, 0), a.movr(6, 10), a.add(6, -8), ...loopCall([a.ldx("dw", 0, 2, 8), a.mov(0, 0), a.exit()], 6),
  ], FI),
  h.bad("bpf_loop callback not a function", "R2 type=scalar expected=func", [a.mov(1, 4), a.mov(2, 0), a.mov(3, 0), a.mov(4, 0), a.call(181), ...ret0], K),
  h.ok("bpf_loop callback writes ctx stack", [
    a.st("dw", 10, -8, 0), a.movr(6, 10), a.add(6, -8), ...loopCall([a.st("dw", 2, 0, 1), a.mov(0, 0), a.exit()], 6),
  ], FI),
  h.bad("bpf_loop callback reads r3", "R3 !read_ok", loopCall([a.movr(0, 3), a.exit()]), FI),
  h.ok("for_each_map_elem callback reads key and value", forEach([a.ldx("w", 0, 2, 0), a.ldx("dw", 0, 3, 0), a.mov(0, 0), a.exit()]), FE),
  h.bad("for_each_map_elem callback past the value", "invalid access to map value, value_size=8 off=8 size=8", forEach([a.ldx("dw", 0, 3, 8), a.mov(0, 0), a.exit()]), FE),
  h.bad("for_each_map_elem callback writes the key", "write to change key R2 not allowed", forEach([a.st("w", 2, 0, 1), a.mov(0, 0), a.exit()]), FE),
  h.bad("for_each_map_elem callback returns a pointer", "R0 not a scalar value", forEach([a.movr(0, 3), a.exit()]), FE),
  h.bad("callee returns its stack pointer", "cannot return stack pointer to the caller", [
    a.callLocal(2), a.mov(0, 0), a.exit(), a.st("dw", 10, -8, 0), a.movr(0, 10), a.add(0, -8), a.exit(),
  ]),
  h.ok("ld_abs in socket filter", [a.movr(6, 1), a.ldabs("b", 12), a.exit()]),
  h.ok("ld_ind in socket filter", [a.movr(6, 1), a.mov(7, 2), a.ldind("h", 7, 12), a.exit()]),
  h.bad("ld_abs in xdp", "BPF_LD_[ABS|IND] instructions not allowed for this program type", [a.movr(6, 1), a.ldabs("b", 12), a.exit()], { progType: XDP }),
  h.bad("ld_abs without skb in r6", "R6 !read_ok", [a.ldabs("b", 12), a.exit()]),
  h.bad("ld_abs with scalar r6", "at the time of BPF_LD_ABS|IND R6 != pointer to skb", [a.mov(6, 0), a.ldabs("b", 12), a.exit()]),
  h.bad("ld_abs clobbers r1", "R1 !read_ok", [a.movr(6, 1), a.ldabs("b", 12), a.movr(0, 1), a.exit()]),

  r.ok("ringbuf reserve and submit", [...reserve(8), a.jmpi("jeq", 0, 0, 4), a.st("dw", 0, 0, 1), ...submit(0), ...ret0], RB),
  r.ok("ringbuf reserve and discard", [...reserve(8), a.jmpi("jeq", 0, 0, 3), a.movr(1, 0), a.mov(2, 0), a.call(133), ...ret0], RB),
  r.bad("ringbuf leak", "BPF_EXIT instruction in main prog would lead to reference leak", [...reserve(8), ...ret0], RB),
  r.bad("ringbuf leak on one path", "BPF_EXIT instruction in main prog would lead to reference leak", [
    ...reserve(8), a.jmpi("jeq", 0, 0, 6), a.movr(6, 0), a.call(7), a.jmpi("jeq", 0, 0, 3), ...submit(6), ...ret0,
  ], RB),
  r.bad("ringbuf submit without null check", "R1 type=ringbuf_mem_or_null expected=ringbuf_mem", [...reserve(8), ...submit(0), ...ret0], RB),
  r.bad("ringbuf write past reservation", "invalid access to memory, mem_size=8 off=8 size=8", [
    ...reserve(8), a.jmpi("jeq", 0, 0, 4), a.st("dw", 0, 8, 1), ...submit(0), ...ret0,
  ], RB),
  r.bad("ringbuf non-constant size", "R2 is not a known constant", [a.ldx("w", 2, 1, 0), ...a.ldMap(1, 0), a.mov(3, 0), a.call(131), ...ret0], RB),
  r.bad("ringbuf double submit", "R1 type=scalar expected=ringbuf_mem", [
    ...reserve(8), a.jmpi("jeq", 0, 0, 7), a.movr(6, 0), ...submit(6), ...submit(6), ...ret0,
  ], RB),
  r.bad("ringbuf submit of modified pointer", "must have zero offset", [
    ...reserve(16), a.jmpi("jeq", 0, 0, 4), a.add(0, 8), ...submit(0), ...ret0,
  ], RB),
  r.bad("ringbuf reference across tail call", "tail_call would lead to reference leak", [
    a.movr(7, 1), ...reserve(8), a.jmpi("jeq", 0, 0, 9), a.movr(6, 0), a.movr(1, 7), ...a.ldMap(2, 1), a.mov(3, 0), a.call(12), ...submit(6), ...ret0,
  ], { maps: [RINGBUF, { type: 3, key: 4, value: 4, max: 2 }] }),
  r.ok("ringbuf output from stack", [a.st("dw", 10, -8, 0), ...a.ldMap(1, 0), a.movr(2, 10), a.add(2, -8), a.mov(3, 8), a.mov(4, 0), a.call(130), ...ret0], RB),
  r.bad("ringbuf output past stack", "invalid read from stack R2 off=-8 size=16", [
    a.st("dw", 10, -8, 0), ...a.ldMap(1, 0), a.movr(2, 10), a.add(2, -8), a.mov(3, 16), a.mov(4, 0), a.call(130), ...ret0,
  ], RB),
  r.ok("ringbuf reserve null branch releases nothing", [...reserve(8), a.jmpi("jne", 0, 0, 2), a.mov(0, 0), a.exit(), ...submit(0), ...ret0], RB),

  r.ok("spin lock and unlock", [...lookupChecked(0), a.movr(6, 0), a.movr(1, 6), a.call(93), a.movr(1, 6), a.call(94), ...ret0], LOCK),
  r.bad("spin lock held at exit", "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region", [
    ...lookupChecked(0), a.movr(1, 0), a.call(93), ...ret0,
  ], LOCK),
  r.bad("helper call under lock", "function calls are not allowed while holding a lock", [
    ...lookupChecked(0), a.movr(6, 0), a.movr(1, 6), a.call(93), a.call(5), a.movr(1, 6), a.call(94), ...ret0,
  ], LOCK),
  r.bad("unlock without lock", "bpf_spin_unlock without taking a lock", [...lookupChecked(0), a.movr(1, 0), a.call(94), ...ret0], LOCK),
  r.bad("lock at wrong offset", "doesn't point to 'struct bpf_spin_lock' that is at 0", [
    ...lookupChecked(0), a.add(0, 8), a.movr(1, 0), a.call(93), ...ret0,
  ], LOCK),
  r.bad("load of the lock word", "bpf_spin_lock cannot be accessed directly by load/store", [...lookupChecked(0), a.ldx("w", 0, 0, 0), a.exit()], LOCK),
  r.bad("spin lock in a socket filter", "socket filter progs cannot use bpf_spin_lock yet", [...lookupChecked(0), a.movr(1, 0), a.call(93), a.movr(1, 0), a.call(94), ...ret0], { maps: [LOCK_MAP] }),
  r.bad("spin lock in a kprobe", "tracing progs cannot use bpf_spin_lock yet", [...lookupChecked(0), ...ret0], { maps: [LOCK_MAP], progType: KPROBE }),
  r.ok("spin lock map in xdp", [...lookupChecked(0), a.movr(6, 0), a.movr(1, 6), a.call(93), a.st("dw", 6, 8, 1), a.movr(1, 6), a.call(94), ...ret0], { maps: [LOCK_MAP], progType: XDP }),
  r.bad("map without a lock", "map '' has to have BTF in order to use bpf_spin_lock", [...lookupChecked(0), a.movr(1, 0), a.call(93), ...ret0], { maps: [ARRAY8], progType: 3 }),

  p.bad("unpriv pointer comparison", "R1 pointer comparison prohibited", [a.jmpi("jeq", 1, 0, 0), ...ret0], { unpriv: true, noKernel: UNPRIV }),
  p.bad("unpriv return of pointer", "R0 leaks addr as return value", [a.movr(0, 10), a.exit()], { unpriv: true, noKernel: UNPRIV }),
  p.ok("priv return of pointer", [a.movr(0, 10), a.exit()]),
  p.bad("unpriv partial copy of pointer", "R1 partial copy of pointer", [a.mov32r(0, 1), a.exit()], { unpriv: true, noKernel: UNPRIV }),
  p.bad("unpriv pointer to helper", "R4 leaks addr into helper function", [
    ...a.ldMap(1, 0), a.st("dw", 10, -8, 0), a.movr(2, 10), a.add(2, -8), a.movr(3, 10), a.add(3, -8), a.movr(4, 10), a.call(2), ...ret0,
  ], { maps: [ARRAY8], unpriv: true, noKernel: UNPRIV }),
  p.bad("unpriv kprobe", "", [a.mov(0, 0), a.exit()], { progType: KPROBE, unpriv: true, noKernel: UNPRIV }),
  p.bad("unpriv pointer subtraction", "R0 pointer -= pointer prohibited", [a.movr(0, 1), a.alu64r("sub", 0, 10), a.exit()], { unpriv: true, noKernel: UNPRIV }),
  p.bad("unpriv map value pointer out of range", "pointer arithmetic of map value goes out of range", [
    ...lookupChecked(0), a.add(0, 8), ...ret0,
  ], { maps: [ARRAY8], unpriv: true, noKernel: UNPRIV }),
  p.ok("unpriv socket filter", [a.ldx("w", 0, 1, 0), a.exit()], { unpriv: true, noKernel: UNPRIV }),
  p.ok("unpriv map lookup", [...lookupChecked(0), a.ldx("dw", 0, 0, 0), a.exit()], { maps: [ARRAY8], unpriv: true, noKernel: UNPRIV }),
  p.bad("unpriv spill then fill scalar loses value", "max value is outside", [
    ...lookupChecked(0), a.mov(1, 4), a.stx("dw", 10, -16, 1), a.ldx("dw", 1, 10, -16), a.and(1, 7), a.addr(0, 1), a.ldx("dw", 0, 0, 0), a.exit(),
  ], { maps: [ARRAY8], unpriv: true, noKernel: UNPRIV }),
];
