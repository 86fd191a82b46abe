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
 * The recursion runs on an explicit step stack (a long chain of branches is
 * a dominator tree as deep as the program), and label depths are looked up
 * by block id, so structuring is linear in the program for clang's output.
 *
 * Only a reducible graph has this form. An irreducible one (a loop with two
 * entries; the verifier can accept one) is emitted as a dispatch loop: a
 * `br_table` over the blocks inside one `loop`, with the next block in a
 * local. It is slower, so it is used for that function only.
 *
 * Context: pure; callable from any thread.
 */
import { BpfError, Errno } from "../../errno.js";
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

/** V8 limits br_table to 65520 targets. */
const MAX_DISPATCH_BLOCKS = 65000;

type Frame = { kind: "loop" | "block" | "if"; target: number };

/**
 * Appends the structured code of one function to `w` (after its locals and
 * prologue). Returns true when it had to use a dispatch loop (irreducible).
 */
export function emitStructured(cfg: FunctionCfg, em: BlockEmitter, labelLocal: number, w: ByteWriter): boolean {
  if (cfg.reducible) {
    new Stackifier(cfg, em, w).run();
    return false;
  }
  emitDispatch(cfg, em, w, labelLocal);
  return true;
}

/** About 12 bytes of wasm per eBPF slot, measured on clang output and the corpus. */
export const codeEstimate = (cfg: FunctionCfg): number => (cfg.limit - cfg.entry) * 12 + 64;

/**
 * The recursion above, run on an explicit stack of pending steps so that a
 * program of any length (a million-insn chain of branches is a dominator
 * tree a million deep) never exhausts the JS stack.
 */
const enum Step {
  DoTree,
  NodeWithin,
  Branch,
  /** Close the innermost construct: pop the label, emit `end`. */
  End,
  /** Emit `else` (between the arms of an `if`). */
  Else,
}

class Stackifier {
  private readonly ctx: Frame[] = [];
  /** ctx index of the loop / block labelled for each block id, or -1: O(1) label lookups. */
  private readonly loopAt: Int32Array;
  private readonly blockAt: Int32Array;
  private readonly children: number[][];
  private readonly merge: Uint8Array;
  /** Pending steps, last one next: [step, a, b, c] flattened. */
  private readonly todo: number[] = [];
  private readonly mergeLists: number[][] = [];

  constructor(
    private readonly cfg: FunctionCfg,
    private readonly em: BlockEmitter,
    private readonly w: ByteWriter,
  ) {
    const n = cfg.blocks.length;
    this.children = Array.from({ length: n }, () => []);
    this.merge = new Uint8Array(n);
    this.loopAt = new Int32Array(n).fill(-1);
    this.blockAt = new Int32Array(n).fill(-1);
    for (const id of cfg.rpo) {
      if (id !== 0) this.children[cfg.idom[id]!]!.push(id);
      let forward = 0;
      for (const p of cfg.blocks[id]!.preds) {
        if (cfg.rpoIndex[p]! >= 0 && cfg.rpoIndex[p]! < cfg.rpoIndex[id]!) forward++;
      }
      if (forward >= 2) this.merge[id] = 1;
    }
  }

  run(): void {
    this.push(Step.DoTree, 0);
    const t = this.todo;
    while (t.length > 0) {
      const c = t.pop()!;
      const b = t.pop()!;
      const a = t.pop()!;
      const step = t.pop()! as Step;
      switch (step) {
        case Step.DoTree:
          this.doTree(a);
          break;
        case Step.NodeWithin:
          this.nodeWithin(a, b, c);
          break;
        case Step.Branch:
          this.branch(a, b);
          break;
        case Step.End:
          this.popFrame();
          this.w.u8(Op.end);
          break;
        case Step.Else:
          this.w.u8(Op.else);
          break;
      }
    }
  }

  private push(step: Step, a = 0, b = 0, c = 0): void {
    this.todo.push(step, a, b, c);
  }

  private pushFrame(kind: Frame["kind"], target: number): void {
    if (kind === "loop") this.loopAt[target] = this.ctx.length;
    else if (kind === "block") this.blockAt[target] = this.ctx.length;
    this.ctx.push({ kind, target });
  }

  private popFrame(): void {
    const f = this.ctx.pop()!;
    if (f.kind === "loop") this.loopAt[f.target] = -1;
    else if (f.kind === "block") this.blockAt[f.target] = -1;
  }

  private doTree(x: number): void {
    const merges = this.children[x]!.filter((c) => this.merge[c]).sort(
      (a, b) => this.cfg.rpoIndex[b]! - this.cfg.rpoIndex[a]!,
    );
    const list = this.mergeLists.push(merges) - 1;
    if (this.cfg.loopHeader[x]) {
      this.w.u8(Op.loop).u8(VOID);
      this.pushFrame("loop", x);
      this.push(Step.End);
    }
    this.push(Step.NodeWithin, x, list, 0);
  }

  private nodeWithin(x: number, list: number, i: number): void {
    const ys = this.mergeLists[list]!;
    if (i < ys.length) {
      this.w.u8(Op.block).u8(VOID);
      this.pushFrame("block", ys[i]!);
      // Runs in the order: inner nodeWithin, end of the block, then ys[i]'s tree.
      this.push(Step.DoTree, ys[i]!);
      this.push(Step.End);
      this.push(Step.NodeWithin, x, list, i + 1);
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
        this.push(Step.Branch, x, b.succs[0]!);
        return;
      case Term.Cond: {
        const [taken, fall] = b.succs as [number, number];
        this.em.cond(this.w, b);
        if (this.isBr(x, taken)) {
          this.w.u8(Op.brIf).u32(this.labelOf(x, taken));
          this.push(Step.Branch, x, fall);
        } else if (this.isBr(x, fall)) {
          this.w.u8(Op.i32Eqz).u8(Op.brIf).u32(this.labelOf(x, fall));
          this.push(Step.Branch, x, taken);
        } else {
          this.w.u8(Op.if).u8(VOID);
          this.pushFrame("if", -1);
          this.push(Step.End);
          this.push(Step.Branch, x, fall);
          this.push(Step.Else);
          this.push(Step.Branch, x, taken);
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
    const backward = this.cfg.rpoIndex[tgt]! <= this.cfg.rpoIndex[src]!;
    const at = backward ? this.loopAt[tgt]! : this.blockAt[tgt]!;
    if (at < 0) throw new Error(`stackifier: no enclosing ${backward ? "loop" : "block"} for block ${tgt}`);
    return this.ctx.length - 1 - at;
  }

  private branch(src: number, tgt: number): void {
    if (this.isBr(src, tgt)) this.w.u8(Op.br).u32(this.labelOf(src, tgt));
    else this.push(Step.DoTree, tgt);
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
  if (n > MAX_DISPATCH_BLOCKS) {
    throw new BpfError(Errno.E2BIG, `irreducible function at insn ${cfg.entry} has ${n} blocks; the JIT dispatches at most ${MAX_DISPATCH_BLOCKS}`);
  }
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
