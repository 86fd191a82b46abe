/** Control flow: jumps, unreachable code, loops, subprograms, call depth. */
import * as a from "./asm.js";
import { category, ret0, UNPRIV, ARRAY8, lookupChecked } from "./corpus-util.js";

const { ok, bad } = category("cfg");

const deepChain = (n: number): a.Slot[] => {
  // main calls f1, f1 calls f2, ... each function: call next; exit
  const out: a.Slot[] = [a.mov(0, 0)];
  for (let i = 0; i < n; i++) out.push(a.callLocal(1), a.exit());
  out.push(a.mov(0, 0), a.exit());
  return out;
};

/** Straight code with two `goto +0`: enough jumps and instructions for Linux to leave a checkpoint. */
const filler: a.Slot[] = [a.mov(3, 0), a.mov(3, 1), a.mov(3, 2), a.ja(0), a.mov(3, 3), a.mov(3, 4), a.ja(0), a.mov(3, 5), a.mov(3, 6), a.ja(0), a.mov(3, 7)];

export const cfgCases = [
  ok("return 0", ret0),
  bad("exit without r0", "R0 !read_ok", [a.exit()]),
  bad("jump past the end", "jump out of range from insn 1 to 7", [a.mov(0, 0), a.ja(5), a.exit()]),
  bad("jump before the start", "jump out of range from insn 0 to -1", [a.ja(-2), a.mov(0, 0), a.exit()]),
  bad("last insn not exit", "last insn is not an exit or jmp", [a.mov(0, 0), a.exit(), a.mov(0, 1)]),
  bad("unreachable insn", "unreachable insn 2", [a.mov(0, 0), a.exit(), a.mov(0, 1), a.exit()]),
  bad("jump into lddw", "jump into the middle of ldimm64 insn 2", [a.mov(0, 0), a.jmpi("jeq", 0, 0, 1), ...a.lddw(0, 5), a.exit()]),
  bad("truncated lddw", "last insn is not an exit or jmp", [a.mov(0, 0), a.exit(), a.lddw(0, 1)[0]!]),
  bad("lddw bad second slot", "invalid bpf_ld_imm64 insn", [a.raw(0x18, 0, 0, 0, 1), a.raw(0x07, 0, 0, 0, 0), a.exit()]),
  ok("lddw 64-bit constant", [...a.lddw(0, 0x1122334455667788n), a.exit()]),
  bad("self loop", "infinite loop detected", [a.mov(0, 0), a.jmpi("jeq", 0, 0, -2), a.exit()]),
  bad("loop that only narrows", "infinite loop detected", [a.ldx("w", 1, 1, 0), a.jmpi("jgt", 1, 5, -1), a.mov(0, 0), a.exit()]),
  ok("bounded loop 10", [a.mov(1, 0), a.add(1, 1), a.jmpi("jlt", 1, 10, -2), a.mov(0, 0), a.exit()]),
  ok("bounded loop 1000", [a.mov(1, 0), a.mov(0, 0), a.add(0, 3), a.add(1, 1), a.jmpi("jlt", 1, 1000, -3), a.exit()]),
  ok("bounded loop jmp32", [a.mov32(1, 0), a.alu32i("add", 1, 2), a.jmp32i("jlt", 1, 100, -2), a.mov(0, 0), a.exit()]),
  ok("countdown loop", [a.mov(1, 64), a.alu64i("sub", 1, 1), a.jmpi("jne", 1, 0, -2), a.mov(0, 0), a.exit()]),
  bad("loop too long", "BPF program is too large. Processed 1000001 insn", [a.mov(1, 0), a.add(1, 1), a.jmpi("jlt", 1, 10_000_000, -2), a.mov(0, 0), a.exit()], { heavy: true }),
  ok("nested bounded loops", [
    a.mov(1, 0), a.mov(2, 0), a.add(2, 1), a.jmpi("jlt", 2, 5, -2), a.add(1, 1), a.jmpi("jlt", 1, 5, -5), a.mov(0, 0), a.exit(),
  ]),
  ok("forward branches merge", [a.ldx("w", 2, 1, 0), a.mov(0, 1), a.jmpi("jgt", 2, 5, 1), a.mov(0, 2), a.exit()]),
  ok("gotol", [a.mov(0, 0), a.raw(0x06, 0, 0, 0, 1), a.exit(), a.raw(0x06, 0, 0, 0, -2)]),
  bad("unknown opcode 00", "unknown opcode 00", [a.mov(0, 0), a.raw(0x00), a.exit()]),
  bad("unknown opcode ff", "unknown opcode ff", [a.mov(0, 0), a.raw(0xff), a.exit()]),
  bad("neg with register source", "unknown opcode 8f", [a.mov(0, 0), a.raw(0x8f), a.exit()]),
  bad("unknown ALU64 op f0", "unknown opcode f7", [a.mov(0, 0), a.raw(0xf7, 0, 0, 0, 16), a.exit()]),
  bad("unknown opcode in unreachable code", "unknown opcode ff", [a.mov(0, 0), a.exit(), a.raw(0xff), a.exit()]),
  bad("JA with reserved fields", "BPF_JA uses reserved fields", [a.mov(0, 0), a.raw(0x05, 1, 0, 0, 0), a.exit()]),
  bad("EXIT with reserved fields", "BPF_EXIT uses reserved fields", [a.mov(0, 0), a.raw(0x95, 1)]),
  bad("CALL with reserved fields", "BPF_CALL uses reserved fields", [a.raw(0x85, 1, 0, 0, 5), a.mov(0, 0), a.exit()]),
  ok("bpf-to-bpf call", [a.mov(1, 5), a.callLocal(1), a.exit(), a.movr(0, 1), a.exit()]),
  bad("call to invalid destination", "call to invalid destination", [a.mov(0, 0), a.callLocal(100), a.exit()]),
  bad("jump from main into subprog", "jump out of range from insn 1", [a.mov(0, 0), a.jmpi("jeq", 0, 0, 2), a.callLocal(1), a.exit(), a.mov(0, 1), a.exit()]),
  bad("subprog falls off its end", "last insn is not an exit or jmp", [a.callLocal(2), a.mov(0, 0), a.exit(), a.mov(0, 1), a.exit(), a.mov(0, 2)]),
  bad("callee reads uninit arg", "R3 !read_ok", [a.callLocal(1), a.exit(), a.movr(0, 3), a.exit()]),
  bad("caller r1 clobbered by call", "R1 !read_ok", [a.mov(1, 1), a.callLocal(2), a.movr(0, 1), a.exit(), a.mov(0, 0), a.exit()]),
  ok("caller r6 preserved across call", [a.mov(6, 1), a.callLocal(2), a.movr(0, 6), a.exit(), a.mov(0, 0), a.exit()]),
  ok("callee without r0", [a.callLocal(2), a.mov(0, 0), a.exit(), a.mov(1, 0), a.exit()]),
  bad("caller reads r0 the callee never set", "R0 !read_ok", [a.callLocal(1), a.exit(), a.mov(1, 0), a.exit()]),
  ok("callee writes caller stack", [
    a.st("dw", 10, -8, 0), a.movr(1, 10), a.add(1, -8), a.callLocal(2), a.ldx("dw", 0, 10, -8), a.exit(),
    a.st("dw", 1, 0, 7), a.mov(0, 0), a.exit(),
  ]),
  ok("8 frames deep", deepChain(7)),
  bad("9 frames deep", "the call stack of 9 frames is too deep", deepChain(8)),
  bad("combined stack too large", "combined stack size of 2 calls is", [
    a.st("dw", 10, -512, 0), a.callLocal(2), a.mov(0, 0), a.exit(), a.st("dw", 10, -64, 0), a.mov(0, 0), a.exit(),
  ]),
  bad("unpriv back-edge", "back-edge from insn 2 to 1", [a.mov(1, 0), a.add(1, 1), a.jmpi("jlt", 1, 10, -2), a.mov(0, 0), a.exit()], { unpriv: true, noKernel: UNPRIV }),
  bad("unpriv bpf-to-bpf call", "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN", [a.mov(1, 5), a.callLocal(1), a.exit(), a.movr(0, 1), a.exit()], { unpriv: true, noKernel: UNPRIV }),
  ok("dead branch not explored", [a.mov(1, 5), a.jmpi("jgt", 1, 10, 1), a.ja(1), a.ldx("dw", 0, 9, 0), a.mov(0, 0), a.exit()]),
  ok("jset never taken", [a.ldx("w", 1, 1, 0), a.and(1, 0xf), a.jmpi("jset", 1, 0x10, 1), a.ja(1), a.ldx("dw", 0, 9, 0), a.mov(0, 0), a.exit()]),
  bad("jset maybe taken reaches bad insn", "R9 !read_ok", [a.ldx("w", 1, 1, 0), a.and(1, 0x1f), a.jmpi("jset", 1, 0x10, 1), a.ja(1), a.ldx("dw", 0, 9, 0), a.mov(0, 0), a.exit()]),
  // Pruning compares a scalar by value only where it is precise: r6 = 100 or 0 meets the checkpoint
  // the first path left in the filler after the join.
  bad("pruning keeps a scalar that later offsets a map value", "invalid access to map value, value_size=8 off=100 size=8", [
    ...lookupChecked(0), a.movr(7, 0), a.ldx("w", 1, 7, 0), a.mov(6, 100), a.jmpi("jgt", 1, 5, 1), a.mov(6, 0), ...filler,
    a.addr(7, 6), a.ldx("dw", 0, 7, 0), a.exit(),
  ], { maps: [ARRAY8] }),
  ok("pruning ignores a scalar that is only returned", [
    ...lookupChecked(0), a.movr(7, 0), a.ldx("w", 1, 7, 0), a.mov(6, 100), a.jmpi("jgt", 1, 5, 1), a.mov(6, 0), ...filler,
    a.movr(0, 6), a.exit(),
  ], { maps: [ARRAY8] }),
];
