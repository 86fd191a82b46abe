/**
 * State pruning (is_state_visited, states_equal, regsafe, stacksafe): at a
 * prune point, if the current state is contained in a state already proved
 * safe from the same instruction, the path need not be explored again. A
 * state still being explored (on the current path) is never used for
 * pruning, only to detect loops that do not change anything.
 *
 * Only registers live at the instruction are compared (liveness comes from
 * the control-flow pass), which is what lets unrelated branches merge, and
 * scalars are compared by value only where precision.ts finds their value
 * may decide something later (Linux's precise marks); spilled scalars on the
 * stack are always compared by value.
 */
import type { Vctx, ExploredState } from "./context.js";
import { type Reg, type VState, type Frame, T, Slot, copyState } from "./reg-state.js";
import { tnumIn } from "./tnum.js";
import { VerifierError } from "./errors.js";
import { frameStr } from "./log.js";

/** check_ids: ids of the old state must map one-to-one onto ids of the current one. */
class IdMap {
  private old = new Int32Array(1024);
  private cur = new Int32Array(1024);
  private n = 0;
  tmp = 1 << 30;
  reset(): this {
    this.n = 0;
    this.tmp = 1 << 30;
    return this;
  }
  check(a: number, b: number): boolean {
    if (!a && !b) return true;
    if (!a || !b) return false;
    for (let i = 0; i < this.n; i++) {
      if (this.old[i] === a) return this.cur[i] === b;
      if (this.cur[i] === b) return false;
    }
    if (this.n === this.old.length) return false;
    this.old[this.n] = a;
    this.cur[this.n++] = b;
    return true;
  }
}
const idmap = new IdMap();

const rangeWithin = (o: Reg, c: Reg): boolean =>
  o.umin <= c.umin && o.umax >= c.umax && o.smin <= c.smin && o.smax >= c.smax &&
  o.u32min <= c.u32min && o.u32max >= c.u32max && o.s32min <= c.s32min && o.s32max >= c.s32max;

const sameBounds = (o: Reg, c: Reg): boolean =>
  o.umin === c.umin && o.umax === c.umax && o.smin === c.smin && o.smax === c.smax &&
  o.varOff.value === c.varOff.value && o.varOff.mask === c.varOff.mask;

function regsafe(o: Reg, c: Reg, ids: IdMap, exact: boolean, precise = true): boolean {
  if (exact) {
    if (o.type !== c.type || o.varOff.value !== c.varOff.value || o.off !== c.off) return false;
    if (o.type === T.NotInit) return true;
    return sameBounds(o, c) && o.off === c.off && o.map === c.map && o.range === c.range && o.memSize === c.memSize &&
      o.frameno === c.frameno && ids.check(o.id, c.id) && ids.check(o.refObjId, c.refObjId);
  }
  if (o.type === T.NotInit) return true;
  if (c.type === T.NotInit) return false;
  if (o.type !== c.type) return false;
  if (o.type === T.Scalar) {
    // An imprecise scalar never decided anything on the paths from here: any scalar will do.
    if (!precise) return true;
    if (!rangeWithin(o, c) || !tnumIn(o.varOff, c.varOff)) return false;
    return ids.check(o.id || ++ids.tmp, c.id || ++ids.tmp);
  }
  if (o.off !== c.off || o.map !== c.map || o.memSize !== c.memSize || o.frameno !== c.frameno || o.subprog !== c.subprog) return false;
  if ((o.type === T.Packet || o.type === T.PacketMeta) && o.range > c.range) return false;
  if (!rangeWithin(o, c) || !tnumIn(o.varOff, c.varOff)) return false;
  return ids.check(o.id, c.id) && ids.check(o.refObjId, c.refObjId);
}

function stacksafe(o: Frame, c: Frame, ids: IdMap, exact: boolean, priv: boolean): boolean {
  for (let spi = 0; spi < o.stack.length; spi++) {
    const os = o.stack[spi]!;
    const cs = c.stack[spi];
    for (let b = 0; b < 8; b++) {
      const ok = os.kinds[b]!;
      const ck = cs ? cs.kinds[b]! : Slot.Invalid;
      if (exact) {
        if (ok !== ck) return false;
        continue;
      }
      if (ok === Slot.Invalid) continue;
      if (ok === Slot.Misc && (ck === Slot.Zero || priv)) continue;
      if (ok === Slot.Misc && ck === Slot.Spill && cs?.spilled?.type === T.Scalar) continue;
      if (ok !== ck) return false;
    }
    if (os.spilled && os.kinds[0] === Slot.Spill) {
      if (!cs?.spilled || !regsafe(os.spilled, cs.spilled, ids, exact)) return false;
    }
  }
  if (exact && c.stack.length > o.stack.length) {
    for (let spi = o.stack.length; spi < c.stack.length; spi++) if (c.stack[spi]!.kinds.some((k) => k !== Slot.Invalid)) return false;
  }
  return true;
}

export function statesEqual(ctx: Vctx, o: VState, c: VState, insn: number, exact: boolean): boolean {
  if (o.frames.length !== c.frames.length) return false;
  if (o.refs.length !== c.refs.length) return false;
  const ids = idmap.reset();
  if (!!o.activeLock !== !!c.activeLock) return false;
  if (o.activeLock && !ids.check(o.activeLock, c.activeLock)) return false;
  for (let i = 0; i < o.refs.length; i++) if (!ids.check(o.refs[i]!.id, c.refs[i]!.id)) return false;
  for (let k = o.frames.length - 1; k >= 0; k--) {
    const of = o.frames[k]!, cf = c.frames[k]!;
    if (of.callsite !== cf.callsite || of.inCallback !== cf.inCallback) return false;
    const at = k === o.frames.length - 1 ? insn : o.frames[k + 1]!.callsite + 1;
    const mask = k === o.frames.length - 1 ? 0x7ff : ~0x3f;
    const live = ctx.cfg.liveIn[at]! & mask;
    const prec = ctx.precise[at]!;
    for (let r = 0; r < 10; r++) {
      if (!(live & (1 << r))) continue;
      if (!regsafe(of.regs[r]!, cf.regs[r]!, ids, exact, (prec & (1 << r)) !== 0)) return false;
    }
    if (!stacksafe(of, cf, ids, exact, ctx.priv)) return false;
  }
  return true;
}

/**
 * Marks a path finished: the checkpoints it hangs from lose one live branch.
 * An evicted checkpoint left without branches is freed (maybe_free_verifier_state).
 */
export function updateBranchCounts(ctx: Vctx, st: VState | null): void {
  let s = st;
  while (s) {
    s.branches--;
    if (s.branches > 0) break;
    if (s.evicted) ctx.curStates--;
    s = s.parent;
  }
}

/**
 * is_state_visited: returns true if the current path can stop here. May
 * also record the current state as a new checkpoint.
 */
export function isStateVisited(ctx: Vctx, insn: number): boolean {
  const list = ctx.explored.get(insn) ?? [];
  const cur = ctx.cur;
  const statesCnt = list.length;
  // Linux adds a checkpoint only after at least 2 jumps and 8 instructions.
  const force = ctx.cfg.forceCheckpoint[insn] === 1;
  let addNew = force || (ctx.jmpsProcessed - ctx.prevJmpsProcessed >= 2 && ctx.processed - ctx.prevInsnProcessed >= 8);
  for (let i = 0; i < list.length; i++) {
    const sl = list[i]!;
    if (sl.st.branches > 0) {
      // Still being explored: an exact repeat means the loop makes no progress.
      // Linux skips this check where a callback is called (it converges callbacks instead).
      if (!force && statesEqual(ctx, sl.st, cur, insn, true)) {
        const show = (s: VState, precise = 0): string => frameStr(s.frames[s.frames.length - 1]!, undefined, true, precise);
        // Linux's old state carries the precision its backtracking marked; the registers precise
        // at this instruction stand in for it.
        const old = show(sl.st, ctx.precise[insn]! & ctx.cfg.liveIn[insn]!);
        throw new VerifierError("EINVAL", `infinite loop detected at insn ${insn}`, insn, [`cur state: ${show(cur)}`, `old state: ${old}`]);
      }
      if (!force && ctx.jmpsProcessed - ctx.prevJmpsProcessed < 20 && ctx.processed - ctx.prevInsnProcessed < 100) addNew = false;
    } else if (statesEqual(ctx, sl.st, cur, insn, false)) {
      sl.hit++;
      return true;
    }
    if (addNew) sl.miss++;
    const n = force && sl.st.branches > 0 ? 64 : 3;
    if (sl.miss > sl.hit * n + n) {
      list.splice(i, 1);
      i--;
      // Linux keeps an evicted state allocated while paths still hang from it; peak_states counts it.
      sl.st.evicted = true;
      if (sl.st.branches === 0) ctx.curStates--;
    }
  }
  // Linux counts the states it compared against (before adding one, even when it adds none).
  if (statesCnt > ctx.maxStatesPerInsn) ctx.maxStatesPerInsn = statesCnt;
  if (!addNew) {
    if (list.length) ctx.explored.set(insn, list);
    return false;
  }
  ctx.prevJmpsProcessed = ctx.jmpsProcessed;
  ctx.prevInsnProcessed = ctx.processed;
  const saved = copyState(cur);
  saved.branches = 1;
  saved.insnIdx = insn;
  saved.parent = cur.parent;
  cur.parent = saved;
  const e: ExploredState = { st: saved, hit: 0, miss: 0 };
  // Linux adds new states at the head of the list: the newest are compared first.
  list.unshift(e);
  ctx.explored.set(insn, list);
  ctx.totalStates++;
  ctx.curStates++;
  if (ctx.curStates > ctx.peakStates) ctx.peakStates = ctx.curStates;
  return false;
}
