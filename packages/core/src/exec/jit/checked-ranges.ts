/**
 * Bounds checks already done in the current basic block, per base register:
 * once `[reg + lo, reg + hi)` passed the arena check, any access inside it
 * needs none, as long as `reg` keeps its value. Straight-line code only, so
 * the translator clears it at every block start and drops a register when an
 * instruction writes it (all of r0..r5 at a call).
 *
 * Skipping such a check is exact: the access would have passed it, so no
 * fault moves or disappears. Typical win: read-modify-write of a map value
 * (`ldxdw r1, [r0+0]; add r1, 1; stxdw [r0+0], r1`).
 *
 * Context: compile time, any thread.
 */
import { Cls, OP_LDDW, type DecodedInsns } from "./decode.js";

export class CheckedRanges {
  private readonly lo = new Int32Array(11);
  private readonly hi = new Int32Array(11);
  private readonly have = new Uint8Array(11);

  clear(): void {
    this.have.fill(0);
  }

  /** True when [off, off + n) from `reg` is known to be in bounds. */
  covers(reg: number, off: number, n: number): boolean {
    return this.have[reg] === 1 && off >= this.lo[reg]! && off + n <= this.hi[reg]!;
  }

  /**
   * Records a passed check. Two checked ranges that overlap or touch make one
   * (the arena is contiguous); otherwise the newer one is kept.
   */
  add(reg: number, off: number, n: number): void {
    const end = off + n;
    if (this.have[reg] === 1 && off <= this.hi[reg]! && end >= this.lo[reg]!) {
      this.lo[reg] = Math.min(off, this.lo[reg]!);
      this.hi[reg] = Math.max(end, this.hi[reg]!);
      return;
    }
    this.have[reg] = 1;
    this.lo[reg] = off;
    this.hi[reg] = end;
  }

  /** Forgets what insn `i` may change. */
  afterInsn(ins: DecodedInsns, i: number): void {
    const op = ins.op[i]!;
    const cls = op & 7;
    if (cls === Cls.ALU || cls === Cls.ALU64 || cls === Cls.LDX || op === OP_LDDW) this.have[ins.dst[i]!] = 0;
    else if (cls === Cls.STX && (op & 0xe0) === 0xc0) {
      this.have[ins.src[i]!] = 0; // fetch forms and xchg write src
      this.have[0] = 0; // cmpxchg writes r0
    } else if (cls === Cls.JMP || cls === Cls.JMP32) {
      for (let r = 0; r <= 5; r++) this.have[r] = 0;
    }
  }
}
