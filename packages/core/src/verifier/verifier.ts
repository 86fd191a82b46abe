/**
 * The verifier's main loop (the kernel's do_check): walks every path of the
 * program depth-first, one instruction at a time, keeping a stack of
 * branches still to explore, and rejects the program at the first unsafe
 * instruction with Linux's message.
 *
 * Called from: BPF_PROG_LOAD (syscall on any thread), the CLI, tests.
 */
import { Errno } from "../errno.js";
import type { VerifierEnv, VerifierResult } from "./env.js";
import { type Insn, C, cls, op, mode, sizeBytes, srcBit, decodeInsns } from "./insn.js";
import { checkCfg, jumpTarget } from "./cfg.js";
import { Vctx, BPF_COMPLEXITY_LIMIT_INSNS, MAX_BPF_STACK } from "./context.js";
import { VerifierError } from "./errors.js";
import { type VState, T, newFrame, ptrReg, unknownScalar, copyState, curFrame } from "./reg-state.js";
import { checkAlu } from "./alu.js";
import { checkMemAccess } from "./mem.js";
import { checkAtomic, checkLd, resolveLdImm64 } from "./ld-atomic.js";
import { checkCondJmp } from "./jmp.js";
import { checkHelperCall, pushFrame, popFrame, checkMainExit, helperName } from "./calls.js";
import { isStateVisited, updateBranchCounts } from "./states.js";
import { disasm } from "./disasm.js";
import { frameStr, alignComment } from "./log.js";

const MAX_INSNS_PRIV = 1_000_000;
const MAX_INSNS_UNPRIV = 4096;

/**
 * Verifies a program. Never throws for a bad program: the verdict, errno and
 * log are in the result.
 */
export function verify(bytes: Uint8Array, env: VerifierEnv): VerifierResult {
  const empty = { processedInsns: 0, peakStates: 0, totalStates: 0, maxStatesPerInsn: 0, facts: [] };
  if (!env.privileged && env.progType !== 1 && env.progType !== 8) {
    return { ok: false, log: "", logTrueSize: 0, errno: Errno.EPERM, message: "program type requires CAP_BPF", ...empty };
  }
  const n = bytes.length / 8;
  if (bytes.length % 8 !== 0 || n === 0) return { ok: false, log: "", logTrueSize: 0, errno: Errno.EINVAL, message: "empty or truncated program", ...empty };
  if (n > (env.privileged ? MAX_INSNS_PRIV : MAX_INSNS_UNPRIV)) {
    return { ok: false, log: "", logTrueSize: 0, errno: Errno.E2BIG, message: "too many instructions", ...empty };
  }
  const insns = decodeInsns(bytes);
  let ctx: Vctx | undefined;
  let err: VerifierError | undefined;
  let explored = false;
  const preLog: string[] = [];
  if (env.logLevel >= 2) for (const s of subprogStarts(insns)) preLog.push(`func#${preLog.length} @${s}`);
  try {
    const cfg = checkCfg(insns, env.privileged, () => resolveLdImm64(insns, env));
    ctx = new Vctx(env, insns, cfg);
    for (const l of preLog) ctx.log.line(l);
    doCheck(ctx);
    explored = true;
    checkStackDepth(ctx);
  } catch (e) {
    // A bug in the verifier must not take the caller down: reject, as Linux does on a verifier
    // bug (EFAULT), and say so in the log.
    err = e instanceof VerifierError ? e : new VerifierError("EFAULT", `verifier bug: ${(e as Error).message}`, ctx?.insnIdx ?? 0);
    if (!ctx) preLog.push(err.logMessage);
  }
  const log = ctx?.log;
  // Level 1 keeps only the failing path: after a complete exploration nothing of it is left.
  let text = log && !(explored && env.logLevel === 1) ? log.text : "";
  if (err && ctx && env.logLevel > 0) text += err.logMessage + (err.noNewline ? "" : "\n") + err.trailer.map((l) => l + "\n").join("");
  if (!ctx && env.logLevel > 0) text = preLog.map((l) => l + "\n").join("");
  const processed = ctx?.processed ?? 0;
  if (env.logLevel > 0) {
    text += `processed ${processed} insns (limit ${BPF_COMPLEXITY_LIMIT_INSNS}) max_states_per_insn ${ctx?.maxStatesPerInsn ?? 0} ` +
      `total_states ${ctx?.totalStates ?? 0} peak_states ${ctx?.peakStates ?? 0} mark_read 0\n`;
  }
  let errno = err ? Errno[err.errnoName] : 0;
  // A log that does not fit: Linux keeps its end (its beginning with BPF_LOG_FIXED) and returns
  // ENOSPC whatever the verdict was.
  const trueSize = Math.max(text.length, log?.maxSize ?? 0) + 1;
  if (env.logLevel > 0 && env.logSize > 0 && trueSize > env.logSize) {
    const keep = Math.max(0, env.logSize - 1);
    text = env.logFixed ? text.slice(0, keep) : text.slice(Math.max(0, text.length - keep));
    errno = Errno.ENOSPC;
  }
  return {
    ok: !err && errno === 0,
    log: text,
    logTrueSize: env.logLevel > 0 ? trueSize : 0,
    errorInsn: err?.insn,
    errno,
    message: err?.logMessage,
    processedInsns: processed,
    peakStates: ctx?.peakStates ?? 0,
    totalStates: ctx?.totalStates ?? 0,
    maxStatesPerInsn: ctx?.maxStatesPerInsn ?? 0,
    facts: ctx?.facts ?? [],
  };
}

/** Where subprograms start (the kernel prints `func#N @start` at level 2 before any check). */
function subprogStarts(insns: Insn[]): number[] {
  const s = new Set([0]);
  insns.forEach((insn, i) => {
    const t = i + insn.imm + 1;
    const call = insn.code === (C.JMP | C.CALL) && insn.src === C.PSEUDO_CALL;
    const func = insn.code === 0x18 && insn.src === C.PSEUDO_FUNC;
    if ((call || func) && t >= 0 && t < insns.length) s.add(t);
  });
  return [...s].sort((a, b) => a - b);
}

function initialState(): VState {
  const f = newFrame(0, -1, 0);
  f.regs[1] = ptrReg(T.Ctx);
  return { frames: [f], refs: [], activeLock: 0, parent: null, branches: 1, insnIdx: 0, jmpHistory: 0 };
}

/** Prints the instruction (level >= 1) and the registers the previous one touched. */
function logInsn(ctx: Vctx, insn: Insn): void {
  const log = ctx.log;
  if (ctx.env.logLevel === 0) return;
  if (ctx.allScratched) {
    log.line(`${ctx.insnIdx}: ${stateStr(ctx, true)}`);
    ctx.allScratched = false;
  }
  log.line(`${ctx.insnIdx}: ${disasm(insn, (id) => helperName(ctx, id).replace(/^bpf_/, "").replace(/^unknown$/, "") || undefined, ctx.priv)}`);
  ctx.scratched.clear();
  ctx.scratchedSlots.clear();
  ctx.stateOnNewLine = false;
}

function stateStr(ctx: Vctx, all: boolean): string {
  const st = ctx.cur;
  const f = curFrame(st);
  const prefix = st.frames.length > 1 ? `frame${f.frameno}: ` : "";
  const cb = f.inCallback ? " cb" : "";
  // Linux lists acquired references, a held spin lock among them (by its map value's id).
  const ids = st.refs.map((x) => x.id);
  if (st.activeLock && !ids.includes(st.activeLock)) ids.push(st.activeLock);
  const refs = ids.length ? `refs=${ids.join(",")}` : "";
  if (all) return prefix + [frameStr(f), refs].filter((x) => x).join(" ") + cb;
  const regs = [...ctx.scratched].sort((a, b) => a - b);
  const s = frameStr(f, regs, false);
  const slots = [...ctx.scratchedSlots].sort((a, b) => a - b).map((spi) => {
    const tmp = { ...f, stack: f.stack.map((x, i) => (i === spi ? x : { kinds: [0, 0, 0, 0, 0, 0, 0, 0] })) };
    return frameStr(tmp, [], true);
  }).filter((x) => x);
  return prefix + [s, ...slots, refs].filter((x) => x).join(" ") + (s || slots.length || refs ? cb : "");
}

/** After an instruction: the kernel's "; R0=..." comment on the same line. */
function logAfter(ctx: Vctx, next: number): void {
  if (ctx.env.logLevel === 0 || (ctx.scratched.size === 0 && ctx.scratchedSlots.size === 0)) return;
  const s = stateStr(ctx, false);
  if (!s) {
    // Registers were touched but none is readable any more (a call that returns nothing).
    if (ctx.scratched.size && ctx.env.logLevel > 0 && !ctx.stateOnNewLine) ctx.log.appendToLast(alignComment(ctx.log.last).slice(ctx.log.last.length));
    return;
  }
  if (ctx.stateOnNewLine && ctx.env.logLevel >= 2) {
    // At level 2 Linux prints its precision backtracking here (bpfsim has none to print), so the
    // state goes on a line of its own.
    ctx.stateOnNewLine = false;
    ctx.log.line(`${next}: ${s}`);
    return;
  }
  const line = ctx.log.last;
  ctx.log.appendToLast(`${alignComment(line).slice(line.length)} ${s}`);
}

function pushBranch(ctx: Vctx, st: VState, insn: number): void {
  if (st.parent) st.parent.branches++;
  ctx.pending.push({ st, insn, prev: ctx.insnIdx, logPos: ctx.log.pos, logLine: ctx.log.last });
  if (ctx.pending.length > 8192) ctx.fail("E2BIG", `The sequence of ${ctx.pending.length} jumps is too complex.`);
}

/** Ends the current path; returns false when nothing is left to explore. */
function popBranch(ctx: Vctx): boolean {
  updateBranchCounts(ctx, ctx.cur.parent);
  const b = ctx.pending.pop();
  if (!b) return false;
  if (ctx.env.logLevel === 1) ctx.log.reset(b.logPos);
  ctx.cur = b.st;
  ctx.prevInsnIdx = b.prev;
  ctx.insnIdx = b.insn;
  ctx.allScratched = true;
  if (ctx.env.logLevel >= 2) {
    ctx.log.line("");
    ctx.log.line(`from ${b.prev} to ${b.insn}: ${stateStr(ctx, true)}`);
  } else if (ctx.env.logLevel === 1) {
    // Level 1 rewinds to the branching instruction and continues its line with the new path's state.
    ctx.log.reset(b.logPos - 1);
    ctx.log.line(`${b.logLine} ${b.insn}: ${stateStr(ctx, true)}`);
    ctx.allScratched = false;
  }
  return true;
}

function doCheck(ctx: Vctx): void {
  ctx.cur = initialState();
  const insns = ctx.insns;
  /** The current path was just taken from the pending stack (no instruction of it run yet). */
  let popped = false;
  for (;;) {
    const idx = ctx.insnIdx;
    const insn = insns[idx];
    if (!insn) ctx.fail("EFAULT", `invalid insn idx ${idx} insn_cnt ${insns.length}`);
    if (++ctx.processed > BPF_COMPLEXITY_LIMIT_INSNS) {
      ctx.fail("E2BIG", `BPF program is too large. Processed ${ctx.processed} insn`);
    }
    if (ctx.cfg.prunePoints[idx] && isStateVisited(ctx, idx)) {
      // Level 2: "from" only for a path pruned as soon as it was popped (Linux's do_print_state).
      if (ctx.env.logLevel >= 2 && popped) {
        ctx.log.line("");
        ctx.log.line(`from ${ctx.prevInsnIdx} to ${idx}: safe`);
      }
      else if (ctx.env.logLevel > 0) ctx.log.line(`${idx}: safe`);
      if (!popBranch(ctx)) return;
      popped = true;
      continue;
    }
    popped = false;
    logInsn(ctx, insn);
    ctx.prevInsnIdx = idx;
    const next = step(ctx, insn, idx);
    if (next < 0) {
      if (!popBranch(ctx)) return;
      popped = true;
      continue;
    }
    logAfter(ctx, next);
    ctx.insnIdx = next;
  }
}

/** Executes one instruction symbolically; returns the next index, or -1 when the path ended. */
function step(ctx: Vctx, insn: Insn, idx: number): number {
  const c = cls(insn.code);
  switch (c) {
    case C.ALU:
    case C.ALU64:
      checkAlu(ctx, insn);
      return idx + 1;
    case C.LDX: {
      const m = mode(insn.code);
      if ((m !== C.MEM && m !== C.MEMSX) || insn.imm !== 0) ctx.fail("EINVAL", "BPF_LDX uses reserved fields");
      if (m === C.MEMSX && sizeBytes(insn.code) === 8) ctx.fail("EINVAL", "BPF_LDX uses reserved fields");
      ctx.readReg(insn.src);
      ctx.checkWritable(insn.dst);
      const v = checkMemAccess(ctx, insn.src, insn.off, sizeBytes(insn.code), false, insn.dst, undefined, 0, m === C.MEMSX);
      ctx.setReg(insn.dst, v ?? unknownScalar());
      return idx + 1;
    }
    case C.STX: {
      const m = mode(insn.code);
      if (m === C.ATOMIC) {
        checkAtomic(ctx, insn);
        return idx + 1;
      }
      if (m !== C.MEM || insn.imm !== 0) ctx.fail("EINVAL", "BPF_STX uses reserved fields");
      const v = ctx.readReg(insn.src);
      ctx.readReg(insn.dst);
      checkMemAccess(ctx, insn.dst, insn.off, sizeBytes(insn.code), true, insn.src, v, 0, false);
      return idx + 1;
    }
    case C.ST: {
      if (mode(insn.code) !== C.MEM || insn.src !== 0) ctx.fail("EINVAL", "BPF_ST uses reserved fields");
      ctx.readReg(insn.dst);
      checkMemAccess(ctx, insn.dst, insn.off, sizeBytes(insn.code), true, -1, undefined, insn.imm, false);
      return idx + 1;
    }
    case C.LD:
      return checkLd(ctx, insn, idx);
    case C.JMP:
    case C.JMP32:
      return checkJmp(ctx, insn, idx);
  }
  ctx.fail("EINVAL", `unknown insn class ${c}`);
}

function checkJmp(ctx: Vctx, insn: Insn, idx: number): number {
  const o = op(insn.code);
  ctx.jmpsProcessed++;
  if (o === C.JA) {
    if (srcBit(insn.code) || insn.src !== 0 || insn.dst !== 0 || (cls(insn.code) === C.JMP && insn.imm !== 0) || (cls(insn.code) === C.JMP32 && insn.off !== 0)) {
      ctx.fail("EINVAL", "BPF_JA uses reserved fields");
    }
    return jumpTarget(insn, idx);
  }
  if (o === C.CALL) {
    if (srcBit(insn.code) || insn.off !== 0 || insn.dst !== 0 || cls(insn.code) === C.JMP32 || (insn.src !== 0 && insn.src !== C.PSEUDO_CALL && insn.src !== C.PSEUDO_KFUNC_CALL)) {
      ctx.fail("EINVAL", "BPF_CALL uses reserved fields");
    }
    if (ctx.cur.activeLock && (insn.src !== 0 || insn.imm !== 94) && insn.src !== C.PSEUDO_CALL) {
      ctx.fail("EINVAL", "function calls are not allowed while holding a lock");
    }
    if (insn.src === C.PSEUDO_KFUNC_CALL) ctx.fail("EINVAL", "calling kernel functions is not supported");
    if (insn.src === C.PSEUDO_CALL) {
      pushFrame(ctx, idx + insn.imm + 1, idx);
      return idx + insn.imm + 1;
    }
    const { callback, cbArgs } = checkHelperCall(ctx, insn);
    if (callback !== undefined) {
      // Like Linux, the callback is explored as a pending branch; the caller goes on first with
      // the helper's return value (the callback may run zero times).
      const caller = ctx.cur;
      const cb = copyState(caller);
      cb.parent = caller.parent;
      ctx.cur = cb;
      pushFrame(ctx, callback, idx, cbArgs);
      ctx.cur = caller;
      pushBranch(ctx, cb, callback);
      ctx.allScratched = false;
    }
    return idx + 1;
  }
  if (o === C.EXIT) {
    if (srcBit(insn.code) || insn.imm !== 0 || insn.src !== 0 || insn.dst !== 0 || cls(insn.code) === C.JMP32) {
      ctx.fail("EINVAL", "BPF_EXIT uses reserved fields");
    }
    if (ctx.cur.frames.length > 1) {
      if (curFrame(ctx.cur).inCallback && ctx.cur.activeLock) {
        ctx.fail("EINVAL", "bpf_exit instruction in callback cannot be used inside bpf_spin_lock-ed region");
      }
      return popFrame(ctx);
    }
    checkMainExit(ctx);
    return -1;
  }
  const target = jumpTarget(insn, idx);
  const { other, fallthrough } = checkCondJmp(ctx, insn, target);
  if (other && fallthrough) {
    pushBranch(ctx, other, target);
    return idx + 1;
  }
  if (other) {
    if (other !== ctx.cur) {
      other.parent = ctx.cur.parent;
      other.branches = ctx.cur.branches;
      ctx.cur = other;
    }
    return target;
  }
  if (fallthrough) return idx + 1;
  return -1;
}

/** check_max_stack_depth: the frames of any call chain share 512 bytes (each rounded up to 32). */
function checkStackDepth(ctx: Vctx): void {
  const round = (d: number): number => Math.ceil(Math.max(d, 1) / 32) * 32;
  const calls: number[][] = ctx.cfg.subprogs.map(() => []);
  ctx.insns.forEach((insn, i) => {
    if (insn.code === (C.JMP | C.CALL) && insn.src === C.PSEUDO_CALL) calls[ctx.subprogOf(i)]!.push(ctx.subprogOf(i + insn.imm + 1));
    // A callback runs on top of the frame that passed it to the helper.
    if (insn.code === 0x18 && insn.src === C.PSEUDO_FUNC) calls[ctx.subprogOf(i)]!.push(ctx.subprogOf(i + insn.imm + 1));
  });
  const walk = (sp: number, depth: number, frames: number): void => {
    const d = depth + round(ctx.stackDepth[sp]!);
    if (d > MAX_BPF_STACK) ctx.fail("EACCES", `combined stack size of ${frames} calls is ${d}. Too large`);
    for (const c of calls[sp]!) walk(c, d, frames + 1);
  };
  walk(0, 0, 1);
  void copyState;
}
