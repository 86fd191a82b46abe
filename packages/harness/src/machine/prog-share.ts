/**
 * Compile once, instantiate per CPU: in threads mode with the JIT, the
 * machine compiles a program's WebAssembly.Module on its own thread when the
 * program is loaded or attached through it, and posts the module to every
 * CPU worker over the control plane (comlink, never the event rings). A
 * worker keeps it by program id and instantiates it on first use instead of
 * compiling (cpu-worker/cpu-context.ts). Compiling a program costs far more
 * than instantiating it, and N workers would otherwise each pay it.
 *
 * Sharing is an optimisation only: a program loaded by another process and
 * attached with bpf(), or an event that reaches a CPU before the module, is
 * compiled by that CPU as before. The interpreter engine has nothing to share.
 *
 * Context: the machine's thread (syscall context).
 */
import { compiledProg, JitProgram, ObjKind, type Kernel, type Process } from "@bpfsim/core";
import { control, type CpuHandle } from "./cpus-threads.js";

export class ProgramSharer {
  /** Program ids already posted (ids are never reused within a machine). */
  private readonly shared = new Set<number>();
  private pending: Promise<unknown>[] = [];

  constructor(
    private readonly kernel: Kernel,
    private readonly cpus: () => readonly CpuHandle[],
  ) {}

  /**
   * Compile the program behind `fd` in `proc` (once) and post its module to
   * every live CPU. Does nothing for a non-program fd or an interpreter
   * machine; a compile error is left for the CPUs to report when they run it.
   */
  share(proc: Process, fd: number): void {
    const handles = this.cpus();
    if (handles.length === 0) return;
    const k = this.kernel;
    const slot = proc.fds.get(fd);
    if (slot < 0) return;
    try {
      if (k.objects.kindOf(slot) !== ObjKind.Prog) return;
      const id = k.objects.idOf(slot);
      if (this.shared.has(id)) return;
      const prog = compiledProg(k, slot);
      if (!(prog instanceof JitProgram)) return;
      this.shared.add(id);
      for (const h of handles) {
        if (h.dead) continue;
        // A CPU that cannot take it (dying) compiles for itself if it runs again.
        this.pending.push(control(h, (c) => c.adoptProgram(id, prog.module, prog.arenaSize)).catch(() => undefined));
      }
    } catch {
      // Not compilable here: each CPU reports the same error when it runs it.
    } finally {
      k.objects.put(slot);
    }
  }

  /** Resolves when every module posted so far has been taken by its CPU. */
  async settled(): Promise<void> {
    while (this.pending.length > 0) {
      const p = this.pending;
      this.pending = [];
      await Promise.all(p);
    }
  }
}
