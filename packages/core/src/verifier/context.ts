/**
 * The verifier's working state for one program (the kernel's
 * `bpf_verifier_env`): instructions, the current path's state, the stack of
 * branches still to explore, explored states per instruction, the log and
 * counters. Every check module takes this object.
 */
import type { ErrnoName } from "../errno.js";
import type { Insn } from "./insn.js";
import type { Cfg } from "./cfg.js";
import type { InsnFacts, VerifierEnv } from "./env.js";
import { VerifierError } from "./errors.js";
import { VerifierLog } from "./log.js";
import { computePrecise } from "./precision.js";
import { type Reg, type VState, type Frame, T, curFrame, isPointer } from "./reg-state.js";

export const MAX_BPF_STACK = 512;
export const MAX_CALL_FRAMES = 8;
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;
export const BPF_MAX_VAR_OFF = 1 << 29;
export const BPF_MAX_VAR_SIZ = 1 << 29;

export interface ExploredState {
  st: VState;
  hit: number;
  miss: number;
}

export interface PendingBranch {
  st: VState;
  insn: number;
  prev: number;
  logPos: number;
  /** The branching instruction's log line as it was when the branch was pushed. */
  logLine: string;
}

export class Vctx {
  cur!: VState;
  insnIdx = 0;
  prevInsnIdx = -1;
  idGen = 0;
  processed = 0;
  jmpsProcessed = 0;
  prevJmpsProcessed = 0;
  prevInsnProcessed = 0;
  readonly log: VerifierLog;
  readonly facts: (InsnFacts | undefined)[];
  readonly explored = new Map<number, ExploredState[]>();
  readonly pending: PendingBranch[] = [];
  totalStates = 0;
  curStates = 0;
  peakStates = 0;
  maxStatesPerInsn = 0;
  /** Registers touched by the current instruction (printed at level 1/2). */
  scratched = new Set<number>();
  scratchedSlots = new Set<number>();
  allScratched = true;
  /** Print the state after this instruction on its own line (Linux logged something in between). */
  stateOnNewLine = false;
  /** Per subprogram: deepest stack byte used (positive). */
  readonly stackDepth: number[];
  /** Registers whose scalar value is compared when pruning, before each instruction (precision.ts). */
  readonly precise: Uint16Array;

  constructor(
    readonly env: VerifierEnv,
    readonly insns: Insn[],
    readonly cfg: Cfg,
  ) {
    this.log = new VerifierLog(env.logLevel);
    this.facts = new Array(insns.length).fill(undefined);
    this.stackDepth = cfg.subprogs.map(() => 0);
    // Only cgroup skb range-checks the main program's return value among the types bpfsim runs (calls.ts).
    this.precise = computePrecise(insns, cfg.subprogs, env.progTypeOps.progType === 8);
  }

  get priv(): boolean {
    return this.env.privileged;
  }

  frame(): Frame {
    return curFrame(this.cur);
  }

  regs(): Reg[] {
    return curFrame(this.cur).regs;
  }

  /** Rejects the program at the current instruction. */
  fail(errno: ErrnoName, msg: string): never {
    throw new VerifierError(errno, msg, this.insnIdx);
  }

  /** A log line that is not the final error (the kernel prints several before some errors). */
  note(msg: string): void {
    this.log.line(msg);
  }

  /** `is_pointer_value`: a pointer the program may not treat as a number (unprivileged only). */
  isPtrValue(r: Reg): boolean {
    return !this.priv && isPointer(r);
  }

  newId(): number {
    return ++this.idGen;
  }

  fact(i: number): InsnFacts {
    let f = this.facts[i];
    if (!f) {
      f = {};
      this.facts[i] = f;
    }
    return f;
  }

  subprogOf(insn: number): number {
    const s = this.cfg.subprogs;
    let k = 0;
    while (k + 1 < s.length && s[k + 1]! <= insn) k++;
    return k;
  }

  /** check_reg_arg(SRC_OP): the register must be initialised. */
  readReg(regno: number): Reg {
    if (regno > 10) this.fail("EINVAL", `R${regno} is invalid`);
    const r = this.regs()[regno]!;
    this.scratched.add(regno);
    if (r.type === T.NotInit) this.fail("EACCES", `R${regno} !read_ok`);
    return r;
  }

  /** check_reg_arg(DST_OP): the register may be written. */
  checkWritable(regno: number): void {
    if (regno > 10) this.fail("EINVAL", `R${regno} is invalid`);
    if (regno === 10) this.fail("EACCES", "frame pointer is read only");
    this.scratched.add(regno);
  }

  setReg(regno: number, r: Reg): void {
    this.regs()[regno] = r;
    this.scratched.add(regno);
  }
}
