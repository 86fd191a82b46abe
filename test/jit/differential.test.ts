/**
 * Differential test: generated programs run on the reference interpreter and
 * on the JIT with the same inputs; r0 (or the faulting pc), the buffer the
 * program works on and the whole stack area must be equal. A list of
 * hand-written programs covering the classic divergences between eBPF
 * engines runs first.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProgramFault, getEngine, helperImpls, type CompiledProgram, type ExecutionEngine, STACK_AREA_BYTES } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";
import { makeMachine } from "./fixture.js";
import { BUF_BYTES, HELPER_ID, genProgram, render } from "./program-gen.js";

/** A deterministic helper: mixes its arguments. */
const mix = (_cpu: unknown, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint =>
  BigInt.asUintN(64, r1 * 31n + (r2 ^ (r3 << 7n)) - r4 * 3n + (r5 >> 5n));

const m = makeMachine();
(m.cpu.helpers as unknown[])[HELPER_ID] = mix;
// bpf_loop, the real implementation: exercises cpu.callback on both engines.
(m.cpu.helpers as unknown[])[181] = helperImpls[181];
const bufOff = m.place(new Uint8Array(BUF_BYTES));

interface Outcome {
  r0: bigint | null;
  faultPc: number | null;
  buf: Uint8Array;
  stack: Uint8Array;
}

function runOn(engine: ExecutionEngine, insns: Uint8Array, bufInit: Uint8Array): Outcome {
  const { arena, cpu } = m;
  arena.u8.fill(0, cpu.stackBase, cpu.stackBase + STACK_AREA_BYTES);
  arena.u8.set(bufInit, bufOff);
  cpu.tailCalls = 0;
  const prog = engine.compile({ insns, progType: 0, name: "gen" }, arena);
  let r0: bigint | null = null;
  let faultPc: number | null = null;
  try {
    r0 = prog.run(BigInt(bufOff), cpu);
  } catch (e) {
    if (!(e instanceof ProgramFault)) throw e;
    faultPc = e.pc;
  }
  return {
    r0,
    faultPc,
    buf: arena.u8.slice(bufOff, bufOff + BUF_BYTES),
    stack: arena.u8.slice(cpu.stackBase, cpu.stackBase + STACK_AREA_BYTES),
  };
}

function compare(asm: string, bufInit: Uint8Array): void {
  const insns = assemble(asm);
  const ref = runOn(getEngine("interpreter")!, insns, bufInit);
  const jit = runOn(getEngine("jit")!, insns, bufInit);
  if (ref.r0 !== jit.r0 || ref.faultPc !== jit.faultPc) {
    throw new Error(`divergence: interpreter r0=${ref.r0} fault=${ref.faultPc}, jit r0=${jit.r0} fault=${jit.faultPc}\n${asm}`);
  }
  expect(jit.buf).toEqual(ref.buf);
  expect(jit.stack).toEqual(ref.stack);
}

const pattern = new Uint8Array(BUF_BYTES).map((_, i) => (i * 37 + 11) & 0xff);

/** The places engines classically disagree. Each runs with r1 = buffer. */
const CLASSICS: Record<string, string> = {
  "shift masking": `lddw %r0, 0x8000000000000001\nmov %r2, 65\nlsh %r0, %r2\nmov32 %r3, 0xffffffff\nmov %r4, 33\nrsh32 %r3, %r4\nadd %r0, %r3\narsh32 %r3, 40\nadd %r0, %r3\nexit`,
  "mov32 zero extension": `lddw %r0, 0xffffffffffffffff\nmov32 %r0, %r0\nmov32 %r2, -1\nadd %r0, %r2\nexit`,
  "alu32 zero extension": `lddw %r0, 0xffffffff00000001\nadd32 %r0, 1\nexit`,
  "sign extension of immediates": `mov %r0, -1\nmov32 %r2, -1\nadd %r0, %r2\nand %r0, -16\nor %r0, 0x80000000\njeq %r0, 0x80000000, +1\nexit\nmov %r0, 7\nexit`,
  "division by zero": `mov %r0, 100\nmov %r2, 0\ndiv %r0, %r2\nmov %r3, 100\nmod %r3, %r2\nadd %r0, %r3\nlddw %r4, 0xffffffff00000005\nmod32 %r4, %r2\nadd %r0, %r4\nlddw %r5, 0x1234567800000009\ndiv32 %r5, 0\nadd %r0, %r5\nexit`,
  "signed division by zero": `mov %r0, -7\nsdiv %r0, 0\nmov %r2, -7\nsmod %r2, 0\nadd %r0, %r2\nmov32 %r3, -7\nsmod32 %r3, 0\nadd %r0, %r3\nexit`,
  "INT_MIN / -1": `lddw %r0, 0x8000000000000000\nmov %r2, -1\nsdiv %r0, %r2\nlddw %r3, 0x8000000000000000\nsmod %r3, %r2\nadd %r0, %r3\nmov32 %r4, 0x80000000\nsdiv32 %r4, -1\nadd %r0, %r4\nmov32 %r5, 0x80000000\nsmod32 %r5, -1\nadd %r0, %r5\nexit`,
  "jump offsets at the edges": `mov %r0, 1\nja +0\njeq %r0, 1, +0\nja L2\nL1:\nadd %r0, 5\nexit\nL2:\nadd %r0, 2\nja L1`,
  "backward jump to the first insn": `L0:\nadd %r0, 1\njlt %r0, 5, L0\nexit`,
  "lddw forms": `lddw %r0, 0x1\nlddw %r2, 0xffffffff\nlddw %r3, 0x100000000\nlddw %r4, 0xffffffffffffffff\nadd %r0, %r2\nadd %r0, %r3\nxor %r0, %r4\nexit`,
  "xchg always fetches": `stdw [%r10-8], 5\nmov %r2, 9\nlock xchg [%r10-8], %r2\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nadd %r0, %r2\nexit`,
  "32-bit xchg zero-extends": `lddw %r2, 0xffffffffffffffff\nstxdw [%r10-8], %r2\nlddw %r3, 0x1111111122222222\nlock xchg32 [%r10-8], %r3\nldxdw %r0, [%r10-8]\nadd %r0, %r3\nexit`,
  "32-bit cmpxchg": `lddw %r2, 0xaaaaaaaa12345678\nstxdw [%r10-8], %r2\nlddw %r0, 0xffffffff12345678\nmov32 %r3, 0x55\nlock cmpxchg32 [%r10-8], %r3\nldxdw %r4, [%r10-8]\nadd %r0, %r4\nexit`,
  "fetch on 32 bits": `stdw [%r10-8], -1\nmov %r2, 1\nlock fetch add32 [%r10-8], %r2\nldxdw %r0, [%r10-8]\nadd %r0, %r2\nexit`,
  "misaligned atomic faults": `mov %r2, 1\nlock add [%r10-12], %r2\nexit`,
  "load at NULL faults": `mov %r2, 0\nldxb %r0, [%r2+0]\nexit`,
  "store past the arena faults": `lddw %r2, 0x7fffffffffffffff\nstb [%r2+1], 1\nexit`,
  "negative offsets": `stxdw [%r1+8], %r1\nldxdw %r0, [%r1+8]\nsub %r0, %r1\nldxw %r2, [%r10-4]\nadd %r0, %r2\nexit`,
  "byte swaps": `lddw %r0, 0x0102030405060708\nmov %r2, %r0\nbe16 %r2\nmov %r3, %r0\nbe32 %r3\nmov %r4, %r0\nbswap64 %r4\nmov %r5, %r0\nle16 %r5\nadd %r0, %r2\nadd %r0, %r3\nadd %r0, %r4\nadd %r0, %r5\nexit`,
  "sign-extending loads and moves": `stdw [%r10-8], -2\nldxsb %r0, [%r10-8]\nldxsh %r2, [%r10-8]\nldxsw %r3, [%r10-8]\nmovsx832 %r4, %r3\nmovsx3264 %r5, %r4\nadd %r0, %r2\nadd %r0, %r3\nadd %r0, %r4\nadd %r0, %r5\nexit`,
  "deep calls fault": `call local f\nexit\nf:\ncall local f\nexit`,
  "callx to a subprogram and to a helper": `mov %r1, 5\nlddw %r2, func f\ncall %r2\nmov %r6, %r0\nmov %r1, 3\nmov %r3, ${HELPER_ID}\ncall %r3\nadd %r0, %r6\nexit\nf:\nmov %r0, %r1\nmul %r0, 3\nstdw [%r10-8], 4\nexit`,
  "gotol forward and back": `mov %r0, 0\nja32 L2\nL1:\nadd %r0, 5\nexit\nL2:\nadd %r0, 2\nja32 L1`,
  "irreducible loop": `mov %r0, 0\nmov %r3, 5\nldxb %r2, [%r1+0]\njeq %r2, 0, B\nA:\nadd %r0, 1\nB:\nadd %r0, 2\nsub %r3, 1\njne %r3, 0, A\nexit`,
};

describe("JIT vs interpreter", () => {
  it.each(Object.keys(CLASSICS))("classic: %s", (name) => {
    compare(CLASSICS[name]!, pattern);
    compare(CLASSICS[name]!, new Uint8Array(BUF_BYTES));
  });

  it("bpf_loop callbacks", () => {
    const asm = `stdw [%r10-8], 0\nmov %r1, 5\nlddw %r2, func cb\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\ncall 181
ldxdw %r6, [%r10-8]\nlsh %r0, 32\nadd %r0, %r6\nexit
cb:\nstdw [%r10-8], 1\nmov %r6, %r2\nmov %r7, %r1\ncall ${HELPER_ID}\nstxdw [%r10-16], %r0\nmov %r2, %r6\nmov %r1, %r7\nldxdw %r3, [%r2+0]\nmul %r1, 3\nadd %r3, %r1\nstxdw [%r2+0], %r3\nmov %r0, 0\njne %r1, 9, +1\nmov %r0, 1\nexit`;
    compare(asm, pattern);
  });

  it("tail calls: a hit replaces the caller, a miss falls through, at most 33", () => {
    const outcome = (engine: ExecutionEngine) => {
      const c = (src: string): CompiledProgram => engine.compile({ insns: assemble(src), progType: 0, name: "tc" }, m.arena);
      const target = c(`mov %r0, %r1\nadd %r0, 1000\nstdw [%r10-16], 3\nexit`);
      const caller = c(`stdw [%r10-8], 7\nmov %r3, %r1\nand %r3, 1\nmov %r0, 5\ncall 12\nmov %r0, 9\nexit`);
      // Counts its runs in the buffer and tail-calls itself until the limit stops it.
      const self = c(`ldxdw %r2, [%r1+0]\nadd %r2, 1\nstxdw [%r1+0], %r2\nmov %r3, 0\ncall 12\nmov %r0, %r2\nexit`);
      const out: unknown[] = [];
      for (const [prog, table] of [[caller, [undefined, target]], [self, [self]]] as const) {
        m.arena.u8.fill(0, bufOff, bufOff + BUF_BYTES);
        m.arena.u8.fill(0, m.cpu.stackBase, m.cpu.stackBase + STACK_AREA_BYTES);
        m.cpu.tailCalls = 0;
        m.cpu.tailCallTarget = (_map, index) => (table as readonly (CompiledProgram | undefined)[])[index];
        for (const ctx of [BigInt(bufOff), BigInt(bufOff) + 1n]) {
          out.push(prog.run(ctx, m.cpu), m.cpu.tailCalls, m.arena.u8.slice(m.cpu.stackBase, m.cpu.stackBase + STACK_AREA_BYTES));
          m.cpu.tailCalls = 0;
        }
      }
      m.cpu.tailCallTarget = undefined;
      return out;
    };
    const jit = outcome(getEngine("jit")!);
    expect(jit).toEqual(outcome(getEngine("interpreter")!));
    // The hit really happened (ctx odd: index 1), and the self-call stopped at 33.
    expect(jit[3]).toBe(BigInt(bufOff) + 1n + 1000n);
    expect(jit[7]).toBe(33);
  });

  it("agree on arbitrary control flow (reducible or not), with fuel bounding every loop", () => {
    // Block k: r0 = r0 * 3 + k; burn fuel; then jump to any block (forward or back) on a condition.
    const block = fc.record({ target: fc.nat(15), op: fc.constantFrom("jeq", "jne", "jgt", "jset", "ja"), imm: fc.nat(7) });
    fc.assert(
      fc.property(fc.array(block, { minLength: 1, maxLength: 16 }), fc.integer({ min: 1, max: 60 }), (blocks, fuel) => {
        const lines = [`mov %r0, 1`, `mov %r9, ${fuel}`];
        blocks.forEach((b, k) => {
          lines.push(`B${k}:`, `mul %r0, 3`, `add %r0, ${k}`, `sub %r9, 1`, `jeq %r9, 0, OUT`);
          const t = `B${b.target % blocks.length}`;
          lines.push(b.op === "ja" ? `ja ${t}` : `${b.op} %r0, ${b.imm}, ${t}`);
        });
        lines.push(`OUT:`, `exit`);
        compare(lines.join("\n"), pattern);
      }),
      { numRuns: 200 },
    );
  });

  it("agree on generated programs", () => {
    fc.assert(
      fc.property(genProgram, fc.uint8Array({ minLength: BUF_BYTES, maxLength: BUF_BYTES }), (p, buf) => {
        compare(render(p), buf);
      }),
      { numRuns: 300 },
    );
  });
});
