/**
 * Runs conformance `.data` tests on any ExecutionEngine, with the corpus'
 * execution contract:
 *
 *   - r1 = arena address of a private copy of the `mem` bytes, r2 = their
 *     length; r1 = r2 = 0 when the file has no `mem`;
 *   - r10 = top of a 512-byte stack frame (8 frames for local calls);
 *   - helper 5 is Linux's bpf_ktime_get_ns (a monotonic clock, no side
 *     effects), so the corpus' `call 5` continues;
 *   - pass when the final r0 equals `result` in all 64 bits.
 *
 * Used by the CLI (`bpfsim conformance`), the test suite and the JIT tests.
 * Runs on the calling thread.
 */
import {
  Arena,
  BpfError,
  KERNEL_OWNER,
  STACK_AREA_BYTES,
  type ArenaApi,
  type CpuContext,
  type ExecutionEngine,
  type HelperImpl,
} from "@bpfsim/core";
import { dataFileProgram, parseDataFile, type DataFile } from "./data-file.js";

/** Outcome of one test file. */
export interface ConformanceResult {
  readonly name: string;
  readonly status: "pass" | "fail" | "error" | "skip";
  readonly expected?: bigint;
  readonly actual?: bigint;
  /** Why it did not pass (wrong r0, load error, fault, skip reason). */
  readonly reason?: string;
}

/** Linux helper 5, bpf_ktime_get_ns: monotonic nanoseconds. */
const ktimeGetNs: HelperImpl = () => BigInt(Math.round(performance.now() * 1e6));

/** A helper table with what the corpus needs: helper 5. */
export function conformanceHelpers(): (HelperImpl | undefined)[] {
  const h: (HelperImpl | undefined)[] = [];
  h[5] = ktimeGetNs;
  return h;
}

/** A reusable environment: one arena, one CPU context, one input buffer. */
export class ConformanceEnv {
  readonly arena: ArenaApi;
  readonly cpu: CpuContext;
  private readonly memOff: number;
  private static readonly MEM_BYTES = 64 * 1024;

  constructor(arena?: ArenaApi) {
    this.arena = arena ?? Arena.create({ size: 4 * 1024 * 1024 });
    const stackBase = this.arena.alloc(STACK_AREA_BYTES, KERNEL_OWNER);
    const memOff = this.arena.alloc(ConformanceEnv.MEM_BYTES, KERNEL_OWNER);
    if (stackBase < 0 || memOff < 0) throw new BpfError(-Math.min(stackBase, memOff), "conformance environment");
    this.memOff = memOff;
    this.cpu = { arena: this.arena, cpu: 0, stackBase, helpers: conformanceHelpers(), tailCalls: 0, state: {} };
  }

  /** Copies `mem` into the input buffer; returns (r1, r2). */
  loadMem(mem: Uint8Array | undefined): { r1: bigint; r2: bigint } {
    this.arena.u8.fill(0, this.cpu.stackBase, this.cpu.stackBase + STACK_AREA_BYTES);
    if (!mem || mem.length === 0) return { r1: 0n, r2: 0n };
    if (mem.length > ConformanceEnv.MEM_BYTES) throw new BpfError("E2BIG", `mem of ${mem.length} bytes`);
    this.arena.u8.set(mem, this.memOff);
    return { r1: BigInt(this.memOff), r2: BigInt(mem.length) };
  }
}

/**
 * Runs one parsed file. Programs get r1 and r2 per the contract; the engine
 * API passes only r1, so r2 is set by a 2-slot prologue `lddw r2, len`
 * in front of the program when there is mem (jump offsets are relative, so
 * the program is unchanged; local-call targets shift with it).
 */
export function runDataFile(name: string, f: DataFile, engine: ExecutionEngine, env: ConformanceEnv): ConformanceResult {
  if (f.skipped) return { name, status: "skip", reason: f.skipped };
  if (f.result === undefined) return { name, status: "skip", reason: f.error !== undefined ? "expects an error" : "no result section" };
  let prog: Uint8Array;
  try {
    prog = dataFileProgram(f);
  } catch (e) {
    return { name, status: "error", expected: f.result, reason: `assemble: ${(e as Error).message}` };
  }
  const { r1, r2 } = env.loadMem(f.mem);
  const image = new Uint8Array(prog.length + 16);
  // lddw r2, <len>: opcode 0x18, dst 2.
  const dv = new DataView(image.buffer);
  dv.setUint8(0, 0x18);
  dv.setUint8(1, 2);
  dv.setUint32(4, Number(r2 & 0xffffffffn), true);
  image.set(prog, 16);
  try {
    const compiled = engine.compile({ insns: image, progType: 0, name }, env.arena);
    env.cpu.tailCalls = 0;
    const actual = compiled.run(r1, env.cpu);
    if (actual === f.result) return { name, status: "pass", expected: f.result, actual };
    return { name, status: "fail", expected: f.result, actual, reason: `r0 = 0x${actual.toString(16)}, expected 0x${f.result.toString(16)}` };
  } catch (e) {
    return { name, status: "error", expected: f.result, reason: (e as Error).message };
  }
}

/** Parses and runs one file's text. Parse errors become an "error" result. */
export function runDataText(name: string, text: string, engine: ExecutionEngine, env: ConformanceEnv): ConformanceResult {
  let f: DataFile;
  try {
    f = parseDataFile(text);
  } catch (e) {
    return { name, status: "error", reason: `parse: ${(e as Error).message}` };
  }
  return runDataFile(name, f, engine, env);
}
