/** Stack slots, map values, null checks and context access. */
import * as a from "./asm.js";
import {
  category, ret0, ARRAY8, ARRAY16, ARRAY64, HASH8, lookup, lookupChecked, PROG_ARRAY, PERF_ARRAY, RINGBUF, KPROBE, XDP, TC, TRACEPOINT, UNPRIV,
} from "./corpus-util.js";

const s = category("stack");
const m = category("map");
const c = category("ctx");
const M8 = { maps: [ARRAY8] };
const MIM = { maps: [{ type: 12, key: 4, value: 4, max: 2, inner: ARRAY8 }], noKernel: "maps of maps need an inner map fd at creation; the kernel harness creates plain maps" };

export const stackCases = [
  s.bad("write below the stack", "invalid write to stack R10 off=-520 size=8", [a.st("dw", 10, -520, 0), ...ret0]),
  s.bad("write at fp+0", "invalid write to stack R10 off=0 size=8", [a.st("dw", 10, 0, 0), ...ret0]),
  s.bad("write straddling fp", "misaligned stack access off 0+0+-4 size 8", [a.st("dw", 10, -4, 0), ...ret0]),
  s.bad("misaligned stack write", "misaligned stack access off 0+0+-12 size 8", [a.st("dw", 10, -12, 0), ...ret0]),
  s.ok("aligned narrow writes", [a.st("w", 10, -4, 1), a.st("h", 10, -6, 2), a.st("b", 10, -7, 3), ...ret0]),
  s.ok("deepest slot", [a.st("dw", 10, -512, 0), ...ret0]),
  s.ok("uninit read is allowed with CAP_BPF", [a.ldx("dw", 0, 10, -8), a.exit()]),
  s.bad("uninit read unprivileged", "invalid read from stack off -8+0 size 8", [a.st("dw", 10, -16, 0), a.ldx("dw", 0, 10, -8), a.exit()], { unpriv: true, noKernel: UNPRIV }),
  s.bad("read at fp+0", "invalid read from stack R10 off=0 size=8", [a.ldx("dw", 0, 10, 0), a.exit()]),
  s.ok("spill and fill ctx", [a.stx("dw", 10, -8, 1), a.ldx("dw", 2, 10, -8), a.ldx("w", 0, 2, 0), a.exit()]),
  s.bad("fill of a clobbered spill is a scalar", "R2 invalid mem access 'scalar'", [
    a.stx("dw", 10, -8, 1), a.st("w", 10, -8, 0), a.ldx("dw", 2, 10, -8), a.ldx("w", 0, 2, 0), a.exit(),
  ]),
  s.bad("narrow fill of a pointer", "invalid size of register fill", [a.stx("dw", 10, -8, 1), a.ldx("w", 2, 10, -8), ...ret0]),
  s.bad("narrow spill of a pointer", "invalid size of register spill", [a.stx("w", 10, -8, 1), ...ret0], { unpriv: true, noKernel: UNPRIV }),
  s.ok("spilled constant keeps bounds", [
    ...lookupChecked(0), a.mov(1, 4), a.stx("dw", 10, -16, 1), a.ldx("dw", 1, 10, -16), a.addr(0, 1), a.ldx("w", 0, 0, 0), a.exit(),
  ], M8),
  s.ok("zeroed slot reads as zero", [
    ...lookupChecked(0), a.st("dw", 10, -16, 0), a.ldx("dw", 1, 10, -16), a.addr(0, 1), a.ldx("dw", 0, 0, 0), a.exit(),
  ], M8),
  s.ok("variable offset stack write", [
    a.ldx("w", 1, 1, 0), a.and(1, 7), a.movr(2, 10), a.add(2, -16), a.addr(2, 1), a.st("b", 2, 0, 1), ...ret0,
  ]),
  s.ok("variable offset stack read of initialised bytes", [
    a.st("dw", 10, -16, 0), a.st("dw", 10, -8, 0), a.ldx("w", 1, 1, 0), a.and(1, 7), a.movr(2, 10), a.add(2, -16), a.addr(2, 1), a.ldx("b", 0, 2, 0), a.exit(),
  ]),
  s.bad("variable offset past fp", "invalid variable-offset write to stack R2", [
    a.ldx("w", 1, 1, 0), a.and(1, 15), a.movr(2, 10), a.add(2, -8), a.addr(2, 1), a.st("b", 2, 0, 1), ...ret0,
  ]),
  s.bad("stack pointer plus unbounded", "math between fp pointer and register with unbounded min value is not allowed", [
    ...lookupChecked(0), a.ldx("dw", 1, 0, 0), a.movr(2, 10), a.addr(2, 1), ...ret0,
  ], M8),
  s.ok("spill frame pointer", [a.stx("dw", 10, -8, 10), a.ldx("dw", 2, 10, -8), a.st("dw", 2, -16, 0), ...ret0]),
  s.ok("BPF_ST into ctx cb", [a.st("w", 1, 48, 0), ...ret0]),
  s.bad("BPF_ST into read-only ctx field", "invalid bpf_context access off=0 size=4", [a.st("w", 1, 0, 0), ...ret0]),
  s.ok("byte then dword read", [a.st("b", 10, -8, 1), a.ldx("dw", 0, 10, -8), a.exit()]),
  s.ok("atomic add on stack", [a.st("dw", 10, -8, 0), a.mov(1, 1), a.atomic("dw", 10, -8, 1, 0x00), ...ret0]),
  s.ok("atomic fetch add on map value", [...lookupChecked(0), a.mov(1, 1), a.atomic("dw", 0, 0, 1, 0x01), a.movr(0, 1), a.exit()], M8),
  s.ok("atomic xchg and cmpxchg", [
    a.st("dw", 10, -8, 0), a.mov(1, 1), a.atomic("dw", 10, -8, 1, 0xe1), a.mov(0, 0), a.atomic("dw", 10, -8, 1, 0xf1), a.exit(),
  ]),
  s.bad("atomic on ctx", "BPF_ATOMIC stores into R1 ctx is not allowed", [a.mov(2, 1), a.atomic("w", 1, 0, 2, 0x00), ...ret0]),
  s.bad("cmpxchg without r0", "R0 !read_ok", [a.st("dw", 10, -8, 0), a.mov(1, 1), a.atomic("dw", 10, -8, 1, 0xf1), a.exit()]),
  s.bad("bad atomic op", "BPF_ATOMIC uses invalid atomic opcode 30", [a.st("dw", 10, -8, 0), a.mov(1, 1), a.atomic("dw", 10, -8, 1, 0x30), ...ret0]),
  s.bad("atomic op misaligned", "misaligned value access off 0+0+4 size 8", [...lookupChecked(0), a.mov(1, 1), a.atomic("dw", 0, 4, 1, 0x00), ...ret0], M8),
];

export const mapCases = [
  m.ok("lookup with null check", [...lookupChecked(0), a.ldx("dw", 0, 0, 0), a.exit()], M8),
  m.bad("lookup without null check", "R0 invalid mem access 'map_value_or_null'", [...lookup(0), a.ldx("dw", 0, 0, 0), a.exit()], M8),
  m.ok("null check with jeq", [...lookup(0), a.jmpi("jeq", 0, 0, 1), a.ldx("dw", 0, 0, 0), a.exit()], M8),
  m.bad("deref in the null branch", "R0 invalid mem access 'scalar'", [...lookup(0), a.jmpi("jne", 0, 0, 1), a.ldx("dw", 0, 0, 0), a.exit()], M8),
  m.ok("copy checked through original", [...lookup(0), a.movr(6, 0), a.jmpi("jeq", 0, 0, 2), a.ldx("dw", 0, 6, 0), a.exit(), ...ret0], M8),
  m.ok("original checked through copy", [...lookup(0), a.movr(6, 0), a.jmpi("jeq", 6, 0, 2), a.ldx("dw", 0, 0, 0), a.exit(), ...ret0], M8),
  m.bad("compare with 1 is no null check", "R0 invalid mem access 'map_value_or_null'", [...lookup(0), a.jmpi("jeq", 0, 1, 1), a.ldx("dw", 0, 0, 0), a.exit()], M8),
  m.bad("jmp32 is no null check", "R0 invalid mem access 'map_value_or_null'", [...lookup(0), a.jmp32i("jeq", 0, 0, 1), a.ldx("dw", 0, 0, 0), a.exit()], M8),
  // Linux 6.18 drops PTR_MAYBE_NULL for an array lookup whose key is a known constant in range.
  m.ok("array lookup with a constant key needs no null check", [
    a.st("w", 10, -8, 1), a.movr(2, 10), a.add(2, -8), ...a.ldMap(1, 0), a.call(1), a.ldx("dw", 0, 0, 0), a.exit(),
  ], M8),
  m.ok("array lookup with zeroed key bytes needs no null check", [
    a.mov(1, 0), a.stx("w", 10, -4, 1), a.movr(2, 10), a.add(2, -4), ...a.ldMap(1, 0), a.call(1), a.ldx("dw", 0, 0, 0), a.exit(),
  ], M8),
  m.bad("array lookup with a constant key out of range needs a null check", "R0 invalid mem access 'map_value_or_null'", [
    a.st("w", 10, -8, 4), a.movr(2, 10), a.add(2, -8), ...a.ldMap(1, 0), a.call(1), a.ldx("dw", 0, 0, 0), a.exit(),
  ], M8),
  m.bad("array lookup with a key spilled wider than the key needs a null check", "R0 invalid mem access 'map_value_or_null'", [
    a.mov(1, 1), a.stx("dw", 10, -8, 1), a.movr(2, 10), a.add(2, -8), ...a.ldMap(1, 0), a.call(1), a.ldx("dw", 0, 0, 0), a.exit(),
  ], M8),
  m.bad("hash lookup with a constant key needs a null check", "R0 invalid mem access 'map_value_or_null'", [
    a.st("w", 10, -8, 1), a.movr(2, 10), a.add(2, -8), ...a.ldMap(1, 0), a.call(1), a.ldx("dw", 0, 0, 0), a.exit(),
  ], { maps: [HASH8] }),
  m.bad("read past value end", "invalid access to map value, value_size=8 off=8 size=8", [...lookupChecked(0), a.ldx("dw", 0, 0, 8), a.exit()], M8),
  m.bad("read straddling value end", "invalid access to map value, value_size=8 off=4 size=8", [...lookupChecked(0), a.ldx("dw", 0, 0, 4), a.exit()], M8),
  m.bad("negative offset", "invalid access to map value, value_size=8 off=-8 size=8", [...lookupChecked(0), a.ldx("dw", 0, 0, -8), a.exit()], M8),
  m.ok("pointer arithmetic inside value", [...lookupChecked(0), a.add(0, 8), a.ldx("dw", 0, 0, 0), a.exit()], { maps: [ARRAY16] }),
  m.ok("write to value", [...lookupChecked(0), a.st("dw", 0, 0, 7), ...ret0], M8),
  m.bad("write into read-only map", "write into map forbidden", [...lookupChecked(0), a.st("dw", 0, 0, 7), ...ret0], { maps: [{ ...ARRAY8, flags: 0x80 }] }),
  m.ok("read from read-only map", [...lookupChecked(0), a.ldx("dw", 0, 0, 0), a.exit()], { maps: [{ ...ARRAY8, flags: 0x80 }] }),
  m.bad("read from write-only map", "read from map forbidden", [...lookupChecked(0), a.ldx("dw", 0, 0, 0), a.exit()], { maps: [{ ...ARRAY8, flags: 0x100 }] }),
  m.ok("hash lookup and update", [
    ...lookupChecked(0), a.ldx("dw", 1, 0, 0), a.stx("dw", 10, -16, 1), a.movr(2, 10), a.add(2, -8), a.movr(3, 10), a.add(3, -16), ...a.ldMap(1, 0), a.mov(4, 0), a.call(2), ...ret0,
  ], { maps: [HASH8] }),
  m.bad("update value larger than stack data", "invalid read from stack R3 off=-8 size=16", [
    a.st("dw", 10, -8, 0), a.movr(2, 10), a.add(2, -8), a.movr(3, 10), a.add(3, -8), ...a.ldMap(1, 0), a.mov(4, 0), a.call(2), ...ret0,
  ], { maps: [ARRAY16] }),
  m.ok("delete from hash", [a.st("dw", 10, -8, 0), a.movr(2, 10), a.add(2, -8), ...a.ldMap(1, 0), a.call(3), ...ret0], { maps: [HASH8] }),
  m.ok("uninitialised key with CAP_BPF", [a.movr(2, 10), a.add(2, -8), ...a.ldMap(1, 0), a.call(1), ...ret0], M8),
  m.bad("key out of stack bounds", "invalid read from stack R2 off=-2 size=4", [a.movr(2, 10), a.add(2, -2), ...a.ldMap(1, 0), a.call(1), ...ret0], M8),
  m.bad("key is ctx", "R2 type=ctx expected=fp", [a.movr(2, 1), ...a.ldMap(1, 0), a.call(1), ...ret0], M8),
  m.bad("map arg is ctx", "R1 type=ctx expected=map_ptr", [a.st("dw", 10, -8, 0), a.movr(2, 10), a.add(2, -8), a.call(1), ...ret0], M8),
  m.bad("read of uninit r3", "R3 !read_ok", [a.mov(0, 0), a.movr(1, 3), ...ret0]),
  m.ok("value as key of another lookup", [...lookupChecked(0), a.movr(2, 0), ...a.ldMap(1, 0), a.call(1), ...ret0], M8),
  m.ok("map value address via lddw", [...a.ldMapValue(1, 0, 0), a.ldx("dw", 0, 1, 0), a.exit()], { maps: [{ ...ARRAY8, max: 1 }] }),
  m.ok("map value address with offset", [...a.ldMapValue(1, 0, 8), a.ldx("dw", 0, 1, 0), a.exit()], { maps: [{ ...ARRAY16, max: 1 }] }),
  m.bad("lddw map value offset past end", "invalid access to map value pointer", [...a.ldMapValue(1, 0, 8), a.ldx("dw", 0, 1, 0), a.exit()], { maps: [{ ...ARRAY8, max: 1 }] }),
  m.bad("lddw map value of multi-element array", "invalid access to map value pointer, value_size=8 off=0", [...a.ldMapValue(1, 0, 0), a.ldx("dw", 0, 1, 0), a.exit()], M8),
  m.bad("lddw map value of hash", "no direct value access support for this map type", [...a.ldMapValue(1, 0, 0), a.ldx("dw", 0, 1, 0), a.exit()], { maps: [HASH8] }),
  m.bad("lddw map value past end via load", "invalid access to map value, value_size=16 off=16 size=8", [...a.ldMapValue(1, 0, 8), a.ldx("dw", 0, 1, 8), a.exit()], { maps: [{ ...ARRAY16, max: 1 }] }),
  m.ok("store pointer into map with CAP_BPF", [...lookupChecked(0), a.stx("dw", 0, 0, 10), ...ret0], M8),
  m.bad("store pointer into map unprivileged", "R10 leaks addr into map", [...lookupChecked(0), a.stx("dw", 0, 0, 10), ...ret0], { ...M8, unpriv: true, noKernel: UNPRIV }),
  m.bad("tail call on array map", "expected prog array map for tail call", [...a.ldMap(2, 0), a.mov(3, 0), a.call(12), ...ret0], M8),
  m.ok("tail call", [...a.ldMap(2, 0), a.mov(3, 0), a.call(12), ...ret0], { maps: [PROG_ARRAY] }),
  m.bad("lookup in prog array", "cannot pass map_type 3 into func bpf_map_lookup_elem#1", [...lookup(0), ...ret0], { maps: [PROG_ARRAY] }),
  m.bad("lookup in ringbuf", "invalid zero-sized read", [...lookup(0), ...ret0], { maps: [RINGBUF] }),
  m.ok("perf event output", [
    a.st("dw", 10, -8, 0), a.movr(4, 10), a.add(4, -8), a.mov(5, 8), ...a.ldMap(2, 0), lddwFlags(), a.call(25), ...ret0,
  ], { maps: [PERF_ARRAY], progType: KPROBE }),
  m.bad("perf event output with array", "cannot pass map_type 2 into func bpf_perf_event_output#25", [
    a.st("dw", 10, -8, 0), a.movr(4, 10), a.add(4, -8), a.mov(5, 8), ...a.ldMap(2, 0), lddwFlags(), a.call(25), ...ret0,
  ], { maps: [ARRAY8], progType: KPROBE }),
  m.ok("64-byte value walk", [...lookupChecked(0), a.ldx("dw", 1, 0, 56), a.ldx("b", 2, 0, 63), ...ret0], { maps: [ARRAY64] }),
  m.bad("invalid map fd", "is not pointing to valid bpf_map", [...a.ldMap(1, 7), ...ret0]),
  m.ok("map in map: lookup in the inner map", [...lookupChecked(0), a.movr(1, 0), a.movr(2, 10), a.add(2, -8), a.call(1), a.jmpi("jeq", 0, 0, 1), a.ldx("dw", 0, 0, 0), ...ret0], MIM),
  m.bad("map in map: inner value bounds", "invalid access to map value, value_size=8 off=8 size=8", [
    ...lookupChecked(0), a.movr(1, 0), a.movr(2, 10), a.add(2, -8), a.call(1), a.jmpi("jeq", 0, 0, 1), a.ldx("dw", 0, 0, 8), ...ret0,
  ], MIM),
  m.bad("map in map: outer value is not memory", "R0 invalid mem access 'map_ptr'", [...lookupChecked(0), a.ldx("w", 0, 0, 0), a.exit()], MIM),
];

function lddwFlags(): a.Slot {
  return a.mov(3, -1);
}

export const ctxCases = [
  c.ok("skb len", [a.ldx("w", 0, 1, 0), a.exit()]),
  c.bad("skb past the end", "invalid bpf_context access off=200 size=4", [a.ldx("w", 0, 1, 200), a.exit()]),
  c.bad("skb dword at len", "invalid bpf_context access off=0 size=8", [a.ldx("dw", 0, 1, 0), a.exit()]),
  c.ok("skb write cb[0]", [a.mov(2, 1), a.stx("w", 1, 48, 2), ...ret0]),
  c.bad("socket filter writes mark", "invalid bpf_context access off=8 size=4", [a.mov(2, 1), a.stx("w", 1, 8, 2), ...ret0]),
  c.ok("tc writes mark", [a.mov(2, 1), a.stx("w", 1, 8, 2), ...ret0], { progType: TC }),
  c.bad("socket filter reads data", "invalid bpf_context access off=76 size=4", [a.ldx("w", 0, 1, 76), a.exit()]),
  c.bad("misaligned ctx read", "invalid bpf_context access off=1 size=4", [a.ldx("w", 0, 1, 1), a.exit()]),
  c.bad("modified ctx pointer", "dereference of modified ctx ptr R1 off=4 disallowed", [a.add(1, 4), a.ldx("w", 0, 1, 0), a.exit()]),
  c.ok("narrow read of skb protocol", [a.ldx("h", 0, 1, 16), a.exit()]),
  c.ok("kprobe reads pt_regs", [a.ldx("dw", 0, 1, 112), a.exit()], { progType: KPROBE }),
  c.bad("kprobe writes pt_regs", "invalid bpf_context access", [a.st("dw", 10, -8, 0), a.mov(2, 0), a.stx("dw", 1, 112, 2), ...ret0], { progType: KPROBE }),
  c.bad("kprobe reads past pt_regs", "invalid bpf_context access off=168 size=8", [a.ldx("dw", 0, 1, 168), a.exit()], { progType: KPROBE }),
  c.ok("tracepoint reads", [a.ldx("dw", 0, 1, 8), a.exit()], { progType: TRACEPOINT }),
  c.ok("xdp reads ifindex", [a.ldx("w", 0, 1, 12), a.exit()], { progType: XDP }),
  c.bad("xdp writes data", "invalid bpf_context access off=0 size=4", [a.mov(2, 0), a.stx("w", 1, 0, 2), ...ret0], { progType: XDP }),
  c.bad("xdp dword data", "invalid bpf_context access off=0 size=8", [a.ldx("dw", 0, 1, 0), a.exit()], { progType: XDP }),
  c.ok("ctx spilled and passed to helper", [a.stx("dw", 10, -8, 1), a.ldx("dw", 1, 10, -8), ...a.ldMap(2, 0), a.mov(3, 0), a.call(12), ...ret0], { maps: [PROG_ARRAY] }),
  c.bad("modified ctx to helper", "dereference of modified ctx ptr R1 off=8 disallowed", [a.add(1, 8), ...a.ldMap(2, 0), a.mov(3, 0), a.call(12), ...ret0], { maps: [PROG_ARRAY] }),
];
