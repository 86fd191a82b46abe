/**
 * The machine: N simulated CPUs, one arena, the hook table, event rings and
 * a clock, in either mode:
 *  - "threads": one worker thread per CPU, truly parallel (stress, load);
 *  - "stepped": all CPUs on this thread, a seeded scheduler choosing the CPU
 *    of every delivery (reproducible; see cpus-stepped.ts).
 *
 * The kernel (object table, processes, bpf()) lives in the arena; the
 * machine adds (all KERNEL_OWNER allocations) the hook table (hook-table.ts,
 * its offset published as the kernel root "events.hooks" so bpf() link
 * commands on any thread find it), one event ring per CPU (event-ring.ts),
 * one CPU statistics row and one context area per CPU. Programs are loaded
 * with BPF_PROG_LOAD in the machine's own process (`machine.proc`) or any
 * other; hooks refer to them by id. With the JIT, those loaded or attached through
 * the machine are compiled here once and posted to the CPUs (prog-share.ts).
 */
import {
  BpfCmd,
  BpfError,
  ER_CAPACITY,
  Errno,
  HC_WORDS,
  KERNEL_OWNER,
  Kernel,
  eventRingBytes,
  linkCreateHook,
  setHookTable,
  setProgEngine,
  type Arena,
  type Process,
  eventRingInit,
  hookCounter,
  hookGetOrCreate,
  hookTableBytes,
  hookTableInit,
  ringClose,
  ringPush,
  ringRoom,
  type EventDesc,
} from "@bpfsim/core";
import {
  CPU_STATS_BYTES,
  CS_BATCHES,
  CS_DELIVERIES,
  CS_FAULTS,
  CS_RUNS,
  CS_SLOTS,
  CS_STATE,
  CTX_AREA_BYTES,
  SteppedCpuRunner,
  CpuState,
  makeCpuContext,
  resolveProgramById,
  type CpuBoot,
  type CpuStats,
} from "@bpfsim/cpu-worker";
import { SteppedScheduler } from "./cpus-stepped.js";
import { startCpuThreads, statsOf, stopCpuThreads, type CpuHandle } from "./cpus-threads.js";
import { ProgramSharer } from "./prog-share.js";
import { attachTypeFor, hookKey, type HookSpec } from "./hooks.js";

/** A program to load: what BPF_PROG_LOAD takes, in short. */
export interface ProgramSource {
  progType: number;
  insns: Uint8Array;
  name?: string;
  license?: string;
}

export interface MachineOptions {
  cpus: number;
  mode?: "threads" | "stepped";
  /** Seed of the stepped scheduler and of bpf_get_prandom_u32. Default 1. */
  seed?: number;
  /** Arena bytes (multiple of 64 KiB). Default 64 MiB. */
  arenaSize?: number;
  /** Execution engine: "jit" (default) or "interpreter". */
  engine?: "jit" | "interpreter";
  /** Slots per CPU event ring (power of two). Default 1024. */
  ringSlots?: number;
  /** Bytes per event slot (header + payload). Default 1600: a full Ethernet frame fits. */
  slotBytes?: number;
  /** Slots a worker takes per batch. Default 256. */
  batch?: number;
  /** Hook table capacity. Default 64. */
  maxHooks?: number;
  /**
   * Stepped mode: what one scheduler step is, "event" (default) or
   * "instruction" (needs engine "interpreter"). See cpus-stepped.ts.
   */
  granularity?: "event" | "instruction";
}

/** A hook's results summed over CPUs (and per CPU). */
export interface HookCounters {
  events: bigint;
  runs: bigint;
  /** By action: XDP action, or tc action + 1, or [dropped, kept] for socket filters. */
  actions: bigint[];
  faults: bigint;
  perCpu: bigint[][];
}

export interface CpuFigures {
  cpu: number;
  deliveries: bigint;
  slots: bigint;
  batches: bigint;
  faults: bigint;
  runs: bigint;
  state: CpuState;
}

export class Machine {
  readonly ncpus: number;
  readonly mode: "threads" | "stepped";
  readonly seed: number;
  readonly engine: "jit" | "interpreter";
  readonly kernel: Kernel;
  readonly arena: Arena;
  /** The machine's own user-space process (loads programs, owns links made by `attach`). */
  readonly proc: Process;
  readonly hookTableOff: number;
  readonly statsOff: number;
  readonly ringOffs: number[] = [];
  /** Errors of CPUs that died, by CPU. */
  readonly cpuErrors = new Map<number, BpfError>();
  private threads: CpuHandle[] = [];
  private readonly sharer: ProgramSharer; // JIT modules compiled here, posted to the CPUs
  private runners: SteppedCpuRunner[] = [];
  private scheduler: SteppedScheduler | undefined;
  private deathListeners: ((cpu: number, err: BpfError) => void)[] = [];
  private down = false;

  private constructor(o: Required<MachineOptions>, kernel: Kernel) {
    this.ncpus = o.cpus;
    this.mode = o.mode;
    this.seed = o.seed;
    this.engine = o.engine;
    this.kernel = kernel;
    this.sharer = new ProgramSharer(kernel, () => (this.engine === "jit" ? this.threads : []));
    const arena = kernel.arena;
    this.arena = arena;
    const alloc = (bytes: number) => {
      const off = arena.alloc(bytes, KERNEL_OWNER);
      if (off < 0) throw new BpfError(Errno.ENOMEM, "machine boot: arena too small");
      arena.u8.fill(0, off, off + bytes);
      return off;
    };
    this.hookTableOff = alloc(hookTableBytes(o.maxHooks, o.cpus));
    hookTableInit(arena, this.hookTableOff, o.maxHooks, o.cpus);
    setHookTable(kernel, this.hookTableOff);
    setProgEngine(kernel, o.engine);
    this.proc = kernel.createProcess({ comm: "bpfsim", memlockLimit: Infinity });
    this.statsOff = alloc(o.cpus * CPU_STATS_BYTES);
    for (let c = 0; c < o.cpus; c++) {
      const r = alloc(eventRingBytes(o.ringSlots, o.slotBytes));
      eventRingInit(arena, r, o.ringSlots, o.slotBytes);
      this.ringOffs.push(r);
    }
  }

  /** Boot a machine. In threads mode, resolves once every CPU worker is online. */
  static async create(opts: MachineOptions): Promise<Machine> {
    const o: Required<MachineOptions> = {
      mode: "threads",
      seed: 1,
      arenaSize: 64 * 1024 * 1024,
      engine: "jit",
      ringSlots: 1024,
      slotBytes: 1600,
      batch: 256,
      maxHooks: 64,
      granularity: "event",
      ...opts,
    };
    if (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > 256) throw new BpfError(Errno.EINVAL, `cpus must be an integer in [1, 256], got ${o.cpus}`);
    if (o.mode !== "threads" && o.mode !== "stepped") throw new BpfError(Errno.EINVAL, `mode must be "threads" or "stepped"`);
    if (o.granularity === "instruction" && (o.mode !== "stepped" || o.engine !== "interpreter")) {
      throw new BpfError(Errno.EINVAL, `instruction granularity needs mode "stepped" and engine "interpreter"`);
    }
    const kernel = Kernel.create({ ncpus: o.cpus, size: o.arenaSize });
    const m = new Machine(o, kernel);
    const arena = kernel.arena;
    const boots: CpuBoot[] = [];
    for (let c = 0; c < o.cpus; c++) {
      const ctxOff = arena.alloc(CTX_AREA_BYTES, KERNEL_OWNER);
      if (ctxOff < 0) throw new BpfError(Errno.ENOMEM, "machine boot: arena too small");
      boots.push({
        memory: arena.memory, cpu: c, ncpus: o.cpus, ringOff: m.ringOffs[c]!, hookTableOff: m.hookTableOff,
        statsOff: m.statsOff, ctxOff, batch: o.batch,
      });
    }
    if (o.mode === "threads") {
      try {
        m.threads = await startCpuThreads(boots, (cpu, err) => m.cpuDied(cpu, err));
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw e instanceof BpfError ? e : new BpfError(Errno.EIO, `cannot start the CPU workers (built with \`pnpm build\`?): ${msg}`);
      }
    } else {
      let simNs = 0n;
      const clock = { monoNs: () => simNs, bootNs: () => simNs, taiNs: () => simNs, hz: 250 };
      m.runners = boots.map(
        (b) =>
          new SteppedCpuRunner({
            arena, cpu: b.cpu, ringOff: b.ringOff, hookTableOff: b.hookTableOff, statsOff: b.statsOff, ctxOff: b.ctxOff,
            cpuCtx: makeCpuContext({ kernel, cpu: b.cpu, clock, seed: o.seed }),
            resolveProgram: (id) => resolveProgramById(kernel, id),
          }),
      );
      m.scheduler = new SteppedScheduler(m.runners, o.seed, false, o.granularity);
      // Simulated time advances 1 µs per step.
      const step = m.scheduler.step.bind(m.scheduler);
      m.scheduler.step = () => {
        simNs += 1000n;
        return step();
      };
    }
    return m;
  }

  /** Stepped mode's scheduler (undefined in threads mode). */
  get stepped(): SteppedScheduler | undefined {
    return this.scheduler;
  }

  /** Be told when a CPU dies (its worker crashed or was terminated). */
  onCpuDeath(fn: (cpu: number, err: BpfError) => void): void {
    this.deathListeners.push(fn);
  }

  private cpuDied(cpu: number, err: BpfError): void {
    this.cpuErrors.set(cpu, err);
    Atomics.store(this.arena.i64, ((this.statsOff + cpu * CPU_STATS_BYTES) >>> 3) + CS_STATE, BigInt(CpuState.Dead));
    for (const f of this.deathListeners) f(cpu, err);
  }

  /**
   * BPF_PROG_LOAD in the machine's process; returns the program fd there.
   * Throws BpfError (with the verifier log in the message when it rejects).
   */
  loadProgram(src: ProgramSource): number {
    this.live();
    const logBuf = new Uint8Array(64 * 1024);
    const fd = this.proc.bpf(BpfCmd.ProgLoad, {
      progType: src.progType, insns: src.insns, license: src.license ?? "GPL", progName: src.name ?? "",
      logLevel: 1, logSize: logBuf.length, logBuf,
    });
    if (fd < 0) {
      const log = new TextDecoder().decode(logBuf.subarray(0, Math.max(0, logBuf.indexOf(0)))).trim();
      throw new BpfError(-fd, `BPF_PROG_LOAD ${src.name ?? ""}${log ? `:\n${log}` : ""}`);
    }
    this.sharer.share(this.proc, fd);
    return fd;
  }

  /** Resolves when the CPUs hold the JIT modules of every program loaded or attached through the machine. */
  programsShared(): Promise<void> {
    return this.sharer.settled();
  }

  /** Each CPU worker's own report (threads mode; undefined for a dead CPU, empty in stepped mode). */
  async workerStats(): Promise<(CpuStats | undefined)[]> {
    return Promise.all(this.threads.map((h) => statsOf(h)));
  }

  /** The hook id for an attach point, created on first use. */
  hookId(spec: HookSpec): number {
    const [type, target] = hookKey(spec);
    return hookGetOrCreate(this.arena, this.hookTableOff, type, target);
  }

  /**
   * Attach the program behind `progFd` (in `proc`, default the machine's
   * process) to a hook; returns the link fd in that process. Linux's rules
   * per hook apply (core/events/link-cmds.ts): one XDP program per
   * interface (EBUSY), several in order elsewhere, matching types (EINVAL).
   */
  attach(progFd: number, spec: HookSpec, proc: Process = this.proc): number {
    this.live();
    const [type, target] = hookKey(spec);
    this.sharer.share(proc, progFd);
    return linkCreateHook(proc, progFd, type, target, attachTypeFor(spec));
  }

  /**
   * Detach: close the link fd (the last reference takes the program off the
   * hook). After this returns, each CPU runs the program for at most the
   * event it is in the middle of.
   */
  detach(linkFd: number, proc: Process = this.proc): void {
    proc.close(linkFd);
  }

  /**
   * Push events to `cpu`'s ring, waiting for room when it is full (threads:
   * the CPU drains it; stepped: the scheduler runs until there is room).
   */
  async send(cpu: number, events: readonly EventDesc[]): Promise<void> {
    this.live();
    const ring = this.ringOff(cpu);
    const dead = this.cpuErrors.get(cpu);
    if (dead) throw new BpfError(Errno.EIO, `cpu ${cpu} is dead (${dead.message}); events not sent`);
    let from = 0;
    while (from < events.length) {
      from += ringPush(this.arena, ring, events, from);
      if (from >= events.length) break;
      if (this.scheduler) {
        this.scheduler.step();
      } else {
        if (this.cpuErrors.has(cpu)) throw new BpfError(Errno.EIO, `cpu ${cpu} is dead; ${events.length - from} events not delivered`);
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  /** Push without waiting; returns how many fitted. */
  trySend(cpu: number, events: readonly EventDesc[], from = 0): number {
    return ringPush(this.arena, this.ringOff(cpu), events, from);
  }

  private ringOff(cpu: number): number {
    const r = this.ringOffs[cpu];
    if (r === undefined) throw new BpfError(Errno.EINVAL, `no cpu ${cpu} (machine has ${this.ncpus})`);
    return r;
  }

  /**
   * Wait until every live CPU has processed everything pushed so far
   * (stepped: run the scheduler until all rings are empty).
   */
  async drain(): Promise<void> {
    if (this.scheduler) {
      this.scheduler.run();
      return;
    }
    for (;;) {
      let busy = false;
      for (let c = 0; c < this.ncpus; c++) {
        if (this.cpuErrors.has(c)) continue;
        if (ringRoom(this.arena, this.ringOffs[c]!) !== this.capacity(c)) busy = true;
      }
      if (!busy) return;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  private capacity(cpu: number): number {
    return this.arena.u32[(this.ringOffs[cpu]! + ER_CAPACITY) >>> 2]!;
  }

  /** A hook's results. */
  counters(hookId: number): HookCounters {
    const w = (word: number) => hookCounter(this.arena, this.hookTableOff, hookId, word);
    const perCpu: bigint[][] = [];
    for (let c = 0; c < this.ncpus; c++) {
      const row: bigint[] = [];
      for (let k = 0; k < HC_WORDS; k++) row.push(hookCounter(this.arena, this.hookTableOff, hookId, k, c));
      perCpu.push(row);
    }
    return { events: w(0), runs: w(1), actions: [2, 3, 4, 5, 6, 7, 8, 9, 10].map(w), faults: w(11), perCpu };
  }

  /** Per-CPU figures from the CPU statistics rows. */
  cpuFigures(): CpuFigures[] {
    const out: CpuFigures[] = [];
    for (let c = 0; c < this.ncpus; c++) {
      const b = (this.statsOff + c * CPU_STATS_BYTES) >>> 3;
      const g = (w: number) => Atomics.load(this.arena.i64, b + w);
      out.push({
        cpu: c, deliveries: g(CS_DELIVERIES), slots: g(CS_SLOTS), batches: g(CS_BATCHES), faults: g(CS_FAULTS),
        runs: g(CS_RUNS), state: Number(g(CS_STATE)) as CpuState,
      });
    }
    return out;
  }

  /** Test hook: terminate a CPU's worker abruptly (threads mode), as a crash would. */
  async killCpu(cpu: number): Promise<void> {
    const h = this.threads[cpu];
    if (!h) throw new BpfError(Errno.EINVAL, `no worker for cpu ${cpu}`);
    const err = new BpfError(Errno.EIO, `cpu ${cpu} terminated`);
    h.dead = err;
    await h.worker.terminate();
    this.cpuDied(cpu, err);
  }

  private live(): void {
    if (this.down) throw new BpfError(Errno.ESRCH, "machine is shut down");
  }

  /** Stop every CPU and release the arena. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.down) return;
    this.down = true;
    for (const r of this.ringOffs) ringClose(this.arena, r);
    if (this.threads.length) await stopCpuThreads(this.threads);
    this.proc.exit();
  }
}

/** Boot a machine (see `Machine`). */
export function createMachine(opts: MachineOptions): Promise<Machine> {
  return Machine.create(opts);
}
