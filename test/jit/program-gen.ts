/**
 * Generator of structurally valid eBPF programs (conformance asm syntax) for
 * the JIT-vs-interpreter differential test.
 *
 * Register discipline, so that every program means the same thing on any
 * correct engine (the verifier would enforce the same rules):
 *   main:  r9 = buffer (from r1, never written), r8 = loop counter,
 *          r0..r7 data; r10 the frame pointer;
 *   subs:  r1 = buffer (passed by the caller), r0, r2..r5 data, set before use.
 * After a bpf-to-bpf call r1..r5 are re-initialised, because the callee's
 * values there are unspecified (Linux marks them unreadable).
 * Loops are counted (1..4 iterations) and never nested; conditionals only
 * jump forward. A "wild" load through a data register usually faults, so
 * faults are compared too.
 */
import fc from "fast-check";

export const BUF_BYTES = 256;
/** Arena size the differential machine uses (fixture.ts): loads near its end probe the bounds. */
export const ARENA_BYTES = 1 << 20;
export const HELPER_ID = 7;

type Reg = number;
export type Stmt =
  | { k: "alu"; op: string; w32: boolean; dst: Reg; src: Reg | null; imm: number }
  | { k: "lddw"; dst: Reg; v: bigint }
  | { k: "ld"; size: number; sx: boolean; dst: Reg; stack: boolean; off: number }
  | { k: "st"; size: number; stack: boolean; off: number; src: Reg | null; imm: number }
  | { k: "atomic"; op: string; w32: boolean; stack: boolean; off: number; src: Reg }
  | { k: "helper" }
  | { k: "if"; op: string; w32: boolean; dst: Reg; src: Reg | null; imm: number; body: Stmt[] }
  | { k: "loop"; n: number; body: Stmt[] }
  | { k: "call"; fn: number }
  | { k: "wild"; dst: Reg; src: Reg; off: number }
  | { k: "edge"; ptr: Reg; back: number; loads: [number, number, Reg][] };

export interface GenProgram {
  main: Stmt[];
  subs: Stmt[][];
  init: bigint[];
}

const ALU_OPS = ["add", "sub", "mul", "div", "sdiv", "or", "and", "lsh", "rsh", "mod", "smod", "xor", "mov", "arsh"];
const UNARY = ["neg", "be16", "be32", "be64", "le16", "le32", "le64", "bswap16", "bswap32", "bswap64"];
const MOVSX64 = ["movsx864", "movsx1664", "movsx3264"];
const MOVSX32 = ["movsx832", "movsx1632"];
const JMP_OPS = ["jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "jlt", "jle", "jslt", "jsle"];
const ATOMIC_OPS = ["add", "or", "and", "xor", "fetch add", "fetch or", "fetch and", "fetch xor", "xchg", "cmpxchg"];
const SIZES = [1, 2, 4, 8];

const imm32 = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, 0x7fffffff, -0x80000000, 31, 32, 63, 64, 8, 16, 0xff, -256),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);
const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 63n - 1n, 0xffffffffn, 0x80000000n, 0xffffffff80000000n, 0x100000000n),
  fc.bigUintN(64),
);

/** Statements for a function whose data registers are `regs`; `loops` allows a counted loop. */
function stmts(regs: Reg[], depth: number, allowCalls: number[], loops: boolean): fc.Arbitrary<Stmt[]> {
  const reg = fc.constantFrom(...regs);
  const src = fc.option(reg, { freq: 2 });
  const alu = fc.oneof(
    fc.record({ k: fc.constant("alu" as const), op: fc.constantFrom(...ALU_OPS), w32: fc.boolean(), dst: reg, src, imm: imm32 }),
    fc.record({ k: fc.constant("alu" as const), op: fc.constantFrom(...UNARY), w32: fc.constant(false), dst: reg, src: fc.constant(null), imm: fc.constant(0) }),
    fc.record({ k: fc.constant("alu" as const), op: fc.constantFrom(...MOVSX64, ...MOVSX32), w32: fc.constant(false), dst: reg, src: reg, imm: fc.constant(0) }),
  );
  const mem = fc.oneof(
    fc.record({ k: fc.constant("ld" as const), size: fc.constantFrom(...SIZES), sx: fc.boolean(), dst: reg, stack: fc.boolean(), off: fc.nat(BUF_BYTES - 8) }),
    fc.record({ k: fc.constant("st" as const), size: fc.constantFrom(...SIZES), stack: fc.boolean(), off: fc.nat(BUF_BYTES - 8), src, imm: imm32 }),
    fc.record({ k: fc.constant("atomic" as const), op: fc.constantFrom(...ATOMIC_OPS), w32: fc.boolean(), stack: fc.boolean(), off: fc.nat(BUF_BYTES / 8 - 1), src: reg }),
  );
  const leaf: fc.Arbitrary<Stmt>[] = [alu, alu, alu, mem, mem, fc.record({ k: fc.constant("lddw" as const), dst: reg, v: u64 })];
  leaf.push(fc.constant({ k: "helper" as const }));
  if (allowCalls.length > 0) leaf.push(fc.record({ k: fc.constant("call" as const), fn: fc.constantFrom(...allowCalls) }));
  const wild = fc.record({ k: fc.constant("wild" as const), dst: reg, src: reg, off: fc.integer({ min: -64, max: 64 }) });
  // Loads around the end of the arena through one pointer: the first may pass
  // its check and a later one, a few bytes on, must still fault.
  const edge = fc.record({
    k: fc.constant("edge" as const),
    ptr: reg,
    back: fc.integer({ min: 1, max: 32 }),
    loads: fc.array(fc.tuple(fc.integer({ min: -24, max: 24 }), fc.constantFrom(...SIZES), reg), { minLength: 1, maxLength: 3 }),
  });
  const one: fc.Arbitrary<Stmt> = fc.oneof(
    { arbitrary: fc.oneof(...leaf), weight: 50 },
    { arbitrary: wild, weight: 1 },
    { arbitrary: edge, weight: 2 },
    ...(depth > 0
      ? [
          {
            arbitrary: fc.record({
              k: fc.constant("if" as const),
              op: fc.constantFrom(...JMP_OPS),
              w32: fc.boolean(),
              dst: reg,
              src,
              imm: imm32,
              body: fc.constant<Stmt[]>([]),
            }).chain((s) => stmts(regs, depth - 1, allowCalls, loops).map((body) => ({ ...s, body }))),
            weight: 3,
          },
        ]
      : []),
    ...(loops && depth > 0
      ? [
          {
            arbitrary: fc
              .record({ k: fc.constant("loop" as const), n: fc.integer({ min: 1, max: 4 }) })
              .chain((s) => stmts(regs, depth - 1, allowCalls, false).map((body) => ({ ...s, body }))),
            weight: 2,
          },
        ]
      : []),
  );
  return fc.array(one, { minLength: 1, maxLength: depth > 1 ? 12 : 6 });
}

/** A whole program: main plus up to two subprograms (sub 0 may call sub 1). */
export const genProgram: fc.Arbitrary<GenProgram> = fc.record({
  main: stmts([0, 1, 2, 3, 4, 5, 6, 7], 2, [0, 1], true),
  subs: fc.tuple(stmts([0, 2, 3, 4, 5], 1, [1], false), stmts([0, 2, 3, 4, 5], 1, [], false)),
  init: fc.array(u64, { minLength: 8, maxLength: 8 }),
});

const hex = (v: bigint): string => `0x${v.toString(16)}`;
const SIZE_SUFFIX: Record<number, string> = { 1: "b", 2: "h", 4: "w", 8: "dw" };

/** Renders a generated program as conformance asm. */
export function render(p: GenProgram): string {
  let label = 0;
  const out: string[] = [];
  const emit = (s: string): void => void out.push(s);

  const body = (list: Stmt[], buf: Reg, dataRegs: Reg[]): void => {
    for (const s of list) {
      switch (s.k) {
        case "alu": {
          const name = s.op + (s.w32 && !UNARY.includes(s.op) && !s.op.startsWith("movsx") ? "32" : "");
          if (UNARY.includes(s.op)) emit(`${name} %r${s.dst}`);
          else if (s.op.startsWith("movsx")) emit(`${name} %r${s.dst}, %r${s.src}`);
          else emit(`${name} %r${s.dst}, ${s.src === null ? s.imm : `%r${s.src}`}`);
          break;
        }
        case "lddw":
          emit(`lddw %r${s.dst}, ${hex(s.v)}`);
          break;
        case "ld": {
          const off = s.off & ~(s.size - 1);
          const m = s.stack ? `[%r10-${512 - off}]` : `[%r${buf}+${off}]`;
          emit(`ldx${s.sx && s.size < 8 ? "s" : ""}${SIZE_SUFFIX[s.size]} %r${s.dst}, ${m}`);
          break;
        }
        case "st": {
          const off = s.off & ~(s.size - 1);
          const m = s.stack ? `[%r10-${512 - off}]` : `[%r${buf}+${off}]`;
          if (s.src === null) emit(`st${SIZE_SUFFIX[s.size]} ${m}, ${s.imm}`);
          else emit(`stx${SIZE_SUFFIX[s.size]} ${m}, %r${s.src}`);
          break;
        }
        case "atomic": {
          const off = s.off * 8;
          const m = s.stack ? `[%r10-${512 - off}]` : `[%r${buf}+${off}]`;
          emit(`lock ${s.op}${s.w32 ? "32" : ""} ${m}, %r${s.src}`);
          break;
        }
        case "helper":
          emit(`call ${HELPER_ID}`);
          break;
        case "call":
          if (buf !== 1) emit(`mov %r1, %r${buf}`);
          emit(`call local fn${s.fn}`);
          // r1..r5 are unspecified after a call: give them known values again.
          for (let r = 1; r <= 5; r++) if (r !== buf && dataRegs.includes(r)) emit(`mov %r${r}, ${r * 1000 + 7}`);
          break;
        case "edge":
          emit(`lddw %r${s.ptr}, ${hex(BigInt(ARENA_BYTES - s.back))}`);
          for (const [off, size, dst] of s.loads) {
            emit(`ldx${SIZE_SUFFIX[size]} %r${dst}, [%r${s.ptr}${off < 0 ? off : `+${off}`}]`);
            if (dst === s.ptr) break;
          }
          break;
        case "wild":
          emit(`ldxdw %r${s.dst}, [%r${s.src}${s.off < 0 ? s.off : `+${s.off}`}]`);
          break;
        case "if": {
          const l = `L${label++}`;
          emit(`${s.op}${s.w32 ? "32" : ""} %r${s.dst}, ${s.src === null ? s.imm : `%r${s.src}`}, ${l}`);
          body(s.body, buf, dataRegs);
          emit(`${l}:`);
          break;
        }
        case "loop": {
          const l = `L${label++}`;
          emit(`mov %r8, ${s.n}`);
          emit(`${l}:`);
          body(s.body, buf, dataRegs);
          emit(`sub %r8, 1`);
          emit(`jne %r8, 0, ${l}`);
          break;
        }
      }
    }
  };

  emit(`mov %r9, %r1`);
  p.init.forEach((v, r) => emit(`lddw %r${r}, ${hex(v)}`));
  body(p.main, 9, [0, 1, 2, 3, 4, 5, 6, 7]);
  // Make every data register observable: store them into the buffer.
  for (let r = 0; r <= 8; r++) emit(`stxdw [%r9+${BUF_BYTES - 8 * (9 - r)}], %r${r}`);
  emit(`exit`);
  p.subs.forEach((list, k) => {
    emit(`fn${k}:`);
    for (const r of [0, 2, 3, 4, 5]) emit(`mov %r${r}, ${k * 100 + r}`);
    body(list, 1, [0, 2, 3, 4, 5]);
    emit(`exit`);
  });
  return out.join("\n");
}
