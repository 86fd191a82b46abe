/**
 * Turns a function's control-flow graph into structured WebAssembly control
 * flow (block / loop / if / br), the way Ramsey's "Beyond Relooper" (ICFP
 * 2022) does it from the dominator tree:
 *
 *   doTree(x):   if x is a loop header:  loop { nodeWithin(x, merges) }
 *                else                    nodeWithin(x, merges)
 *     where merges = x's dominator-tree children with two or more forward
 *     in-edges, latest in reverse postorder first.
 *   nodeWithin(x, [y, ...ys]) = block { nodeWithin(x, ys) } ; doTree(y)
 *   nodeWithin(x, [])        = code of x ; its terminator
 *   branch x -> t:  backward edge  -> br to the loop headed by t
 *                   t is a merge   -> br to the block that ends right before t
 *                   otherwise      -> doTree(t) inline (x dominates t)
 *
 * Worked example, `if (c) a else b; m; exit`:  x = entry, merges(x) = [m]:
 *
 *   block            ;; ends right before m
 *     <x> ; cond ; if  <a> ; br 1  else  <b> ; br 1  end
 *   end
 *   <m> ; return
 *
 * Only a reducible graph has this form. An irreducible one (a loop with two
 * entries; the verifier can accept one) is emitted as a dispatch loop: a
 * `br_table` over the blocks inside one `loop`, with the next block in a
 * local. It is slower, so it is used for that function only.
 *
 * Context: pure; callable from any thread.
 */
import type { BasicBlock, FunctionCfg } from "./cfg.js";
import { Term } from "./cfg.js";
import { ByteWriter, Op, VOID } from "./wasm-writer.js";

/** What the stackifier asks of the instruction translator. */
export interface BlockEmitter {
  /** Straight-line code of the block, without its terminating jump or exit. */
  body(w: ByteWriter, b: BasicBlock): void;
  /** Pushes an i32 that is non-zero when a Cond block takes succs[0]. */
  cond(w: ByteWriter, b: BasicBlock): void;
  /** Returns from the function (exit: r0). */
  exit(w: ByteWriter, b: BasicBlock): void;
}

type Frame = { kind: "loop" | "block" | "if"; target: number };

/** Emits the structured body of one function. Falls back to a dispatch loop when irreducible. */
export function emitStructured(cfg: FunctionCfg, em: BlockEmitter, labelLocal: number): { code: ByteWriter; dispatch: boolean } {
  if (cfg.reducible) {
    try {
      const w = new ByteWriter(codeEstimate(cfg));
      new Stackifier(cfg, em, w).doTree(0);
      return { code: w, dispatch: false };
    } catch (e) {
      // A very long chain of branches can exhaust the JS stack in the
      // recursive structurer; the dispatch loop needs no recursion.
      if (!(e instanceof RangeError)) throw e;
    }
  }
  const w = new ByteWriter(codeEstimate(cfg));
  emitDispatch(cfg, em, w, labelLocal);
  return { code: w, dispatch: true };
}

/** About 12 bytes of wasm per eBPF slot, measured on clang output and the corpus. */
const codeEstimate = (cfg: FunctionCfg): number => (cfg.limit - cfg.entry) * 12;

class Stackifier {
  private readonly ctx: Frame[] = [];
  private readonly children: number[][];
  private readonly merge: Uint8Array;

  constructor(
    private readonly cfg: FunctionCfg,
    private readonly em: BlockEmitter,
    private readonly w: ByteWriter,
  ) {
    const n = cfg.blocks.length;
    this.children = Array.from({ length: n }, () => []);
    this.merge = new Uint8Array(n);
    for (const id of cfg.rpo) {
      if (id !== 0) this.children[cfg.idom[id]!]!.push(id);
      let forward = 0;
      for (const p of cfg.blocks[id]!.preds) {
        if (cfg.rpoIndex[p]! >= 0 && cfg.rpoIndex[p]! < cfg.rpoIndex[id]!) forward++;
      }
      if (forward >= 2) this.merge[id] = 1;
    }
  }

  doTree(x: number): void {
    const merges = this.children[x]!.filter((c) => this.merge[c]).sort(
      (a, b) => this.cfg.rpoIndex[b]! - this.cfg.rpoIndex[a]!,
    );
    if (this.cfg.loopHeader[x]) {
      this.w.u8(Op.loop).u8(VOID);
      this.ctx.push({ kind: "loop", target: x });
      this.nodeWithin(x, merges, 0);
      this.ctx.pop();
      this.w.u8(Op.end);
    } else {
      this.nodeWithin(x, merges, 0);
    }
  }

  private nodeWithin(x: number, ys: number[], i: number): void {
    if (i < ys.length) {
      this.w.u8(Op.block).u8(VOID);
      this.ctx.push({ kind: "block", target: ys[i]! });
      this.nodeWithin(x, ys, i + 1);
      this.ctx.pop();
      this.w.u8(Op.end);
      this.doTree(ys[i]!);
      return;
    }
    const b = this.cfg.blocks[x]!;
    this.em.body(this.w, b);
    switch (b.term) {
      case Term.Exit:
        this.em.exit(this.w, b);
        return;
      case Term.Fall:
      case Term.Jump:
        this.branch(x, b.succs[0]!);
        return;
      case Term.Cond: {
        const [taken, fall] = b.succs as [number, number];
        this.em.cond(this.w, b);
        if (this.isBr(x, taken)) {
          this.w.u8(Op.brIf).u32(this.labelOf(x, taken));
          this.branch(x, fall);
        } else if (this.isBr(x, fall)) {
          this.w.u8(Op.i32Eqz).u8(Op.brIf).u32(this.labelOf(x, fall));
          this.branch(x, taken);
        } else {
          this.w.u8(Op.if).u8(VOID);
          this.ctx.push({ kind: "if", target: -1 });
          this.branch(x, taken);
          this.w.u8(Op.else);
          this.branch(x, fall);
          this.ctx.pop();
          this.w.u8(Op.end);
        }
        return;
      }
    }
  }

  private isBr(src: number, tgt: number): boolean {
    return this.cfg.rpoIndex[tgt]! <= this.cfg.rpoIndex[src]! || this.merge[tgt] === 1;
  }

  /** Relative depth of the label that reaches `tgt` from `src`. */
  private labelOf(src: number, tgt: number): number {
    const kind = this.cfg.rpoIndex[tgt]! <= this.cfg.rpoIndex[src]! ? "loop" : "block";
    for (let k = this.ctx.length - 1; k >= 0; k--) {
      const f = this.ctx[k]!;
      if (f.kind === kind && f.target === tgt) return this.ctx.length - 1 - k;
    }
    throw new Error(`stackifier: no enclosing ${kind} for block ${tgt}`);
  }

  private branch(src: number, tgt: number): void {
    if (this.isBr(src, tgt)) this.w.u8(Op.br).u32(this.labelOf(src, tgt));
    else this.doTree(tgt);
  }
}

/**
 *   loop
 *     block_{n-1} ... block_0
 *       local.get label ; br_table 0 .. n-1
 *     end  <code of rpo[0]> ; label := next ; br (n-1)
 *     ...
 *   end
 */
function emitDispatch(cfg: FunctionCfg, em: BlockEmitter, w: ByteWriter, labelLocal: number): void {
  const order = cfg.rpo;
  const n = order.length;
  const pos = new Int32Array(cfg.blocks.length).fill(-1);
  order.forEach((id, k) => (pos[id] = k));
  w.u8(Op.loop).u8(VOID);
  for (let k = 0; k < n; k++) w.u8(Op.block).u8(VOID);
  w.u8(Op.localGet).u32(labelLocal).u8(Op.brTable).u32(n);
  for (let k = 0; k < n; k++) w.u32(k);
  w.u32(n - 1);
  for (let k = 0; k < n; k++) {
    w.u8(Op.end);
    const b = cfg.blocks[order[k]!]!;
    const toLoop = n - 1 - k;
    em.body(w, b);
    switch (b.term) {
      case Term.Exit:
        em.exit(w, b);
        break;
      case Term.Fall:
      case Term.Jump:
        w.u8(Op.i32Const).s32(pos[b.succs[0]!]!).u8(Op.localSet).u32(labelLocal).u8(Op.br).u32(toLoop);
        break;
      case Term.Cond:
        w.u8(Op.i32Const).s32(pos[b.succs[0]!]!).u8(Op.i32Const).s32(pos[b.succs[1]!]!);
        em.cond(w, b);
        w.u8(Op.select).u8(Op.localSet).u32(labelLocal).u8(Op.br).u32(toLoop);
        break;
    }
  }
  w.u8(Op.end);
}
