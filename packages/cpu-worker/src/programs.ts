/**
 * Programs as one CPU holds them: compiled once per thread, cached by
 * program id. A `ProgramDef` arrives through the control plane before any
 * hook names the id, so a CPU never meets an id it cannot run.
 *
 * Native programs are JavaScript routines standing in for eBPF in tests of
 * the machinery itself (and in the bench's dispatch-only case); they get the
 * same (ctx, CpuContext) call as compiled programs.
 */
import { BpfError, Errno, requireEngine, type ArenaApi, type CompiledProgram, type CpuContext } from "@bpfsim/core";
import type { ProgramDef } from "./protocol.js";

/** A JavaScript routine with a program's calling convention. */
export type NativeProgram = (ctx: bigint, cpu: CpuContext) => bigint;

const natives = new Map<string, NativeProgram>([
  ["return0", () => 0n],
  ["xdp_pass", () => 2n],
  ["xdp_drop", () => 1n],
]);

/** Register a native routine under `name` (module load time, on every thread that runs it). */
export function registerNativeProgram(name: string, fn: NativeProgram): void {
  natives.set(name, fn);
}

/** This thread's compiled programs. */
export class ProgramCache {
  private readonly byId = new Map<number, CompiledProgram>();
  constructor(
    private readonly arena: ArenaApi,
    private readonly engine: string,
  ) {}

  /** Compile `def` unless already cached. Throws BpfError (EINVAL for an unknown native). */
  load(def: ProgramDef): CompiledProgram {
    const have = this.byId.get(def.id);
    if (have) return have;
    let p: CompiledProgram;
    if (def.kind === "native") {
      const fn = natives.get(def.name);
      if (!fn) throw new BpfError(Errno.EINVAL, `no native program '${def.name}'`);
      p = { run: fn };
    } else {
      p = requireEngine(this.engine).compile({ insns: def.insns, progType: def.progType, name: def.name }, this.arena);
    }
    this.byId.set(def.id, p);
    return p;
  }

  get(id: number): CompiledProgram | undefined {
    return this.byId.get(id);
  }

  delete(id: number): void {
    this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }
}
