/**
 * `bpfsim test-run <prog> --prog-type <type> [--data <hex|@file>] ...`:
 * loads one program into a fresh machine and runs it once (or --repeat N
 * times) with BPF_PROG_TEST_RUN, printing what `bpftool prog run` prints:
 * the return value, the average duration, and the data (and context) out,
 * then any bpf_trace_printk lines.
 *
 * Where the program comes from is pluggable: a `ProgramSource` recognises
 * its input and produces instructions. Built in: raw instruction bytes
 * (any file that is not text assembly) and assembly (.s/.asm). Other
 * sources (ELF objects) add themselves with `registerProgramSource`.
 */
import { readFileSync } from "node:fs";
import { BpfCmd, Kernel, progTypes, type ProgTestRunAttr } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";
import { parseArgs, UsageError, type Command } from "../cli.js";
import { bytesArg, engineArg, intArg, printTracePipe, testRunAndPrint } from "./test-run-common.js";
import { objectTestRun } from "./test-run-object.js";

export { hexDump } from "./test-run-common.js";

/** A program ready to load. */
export interface LoadableProgram {
  insns: Uint8Array;
  /** From the input itself (an ELF section name), when it says. */
  progType?: number;
  name?: string;
  license?: string;
}

/** An input format for `test-run`. */
export interface ProgramSource {
  readonly name: string;
  /** True if this source reads `path` (by extension or magic bytes). */
  accepts(path: string, head: Uint8Array): boolean;
  /** The program; `section` selects one when the input holds several. */
  load(path: string, bytes: Uint8Array, section?: string): LoadableProgram;
}

const textAsm: ProgramSource = {
  name: "assembly",
  accepts: (path) => /\.(s|asm)$/i.test(path),
  load: (_path, bytes) => ({ insns: assemble(new TextDecoder().decode(bytes)) }),
};

const rawBytes: ProgramSource = {
  name: "raw instructions",
  accepts: () => true,
  load: (path, bytes) => {
    if (bytes.length === 0 || bytes.length % 8 !== 0) throw new Error(`'${path}' is not raw eBPF: ${bytes.length} bytes is not a multiple of 8`);
    return { insns: bytes };
  },
};

const sources: ProgramSource[] = [textAsm];

/** Adds an input format, tried before the built-in ones (raw bytes is the last resort). */
export function registerProgramSource(s: ProgramSource): void {
  sources.unshift(s);
}

/** "xdp", "socket_filter", "tc" or a number -> Linux prog type. */
export function progTypeByName(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const name = s === "tc" ? "sched_cls" : s.replace(/-/g, "_");
  const t = progTypes.find((d) => d?.name === name);
  if (!t) throw new UsageError(`unknown program type '${s}' (known: ${progTypes.flatMap((d) => (d ? [d.name] : [])).join(", ")}, tc)`);
  return t.progType;
}

export const testRunCommand: Command = {
  name: "test-run",
  summary: "run a program once with BPF_PROG_TEST_RUN (like bpftool prog run)",
  usage:
    "test-run <prog.bin|prog.s|object.o> --prog-type <type> [--prog NAME] [--data <hex|@file>] [--ctx <hex|@file>] [--repeat N] " +
    "[--data-size-out N] [--ctx-size-out N] [--cpu N] [--engine interpreter|jit] [--section NAME]",
  async run(ctx) {
    const obj = objectTestRun(ctx); // ELF objects: test-run-object.ts
    if (obj) return obj;
    const args = parseArgs(ctx.argv, [
      "--prog-type", "--data", "--ctx", "--repeat", "--data-size-out", "--ctx-size-out", "--cpu", "--engine", "--section",
    ]);
    if (args.positionals.length !== 1) throw new UsageError("give exactly one program file");
    const path = args.positionals[0]!;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      throw new Error(`cannot read '${path}': ${(e as Error).message}`);
    }
    const src = sources.find((s) => s.accepts(path, bytes.subarray(0, 16))) ?? rawBytes;
    const section = args.options.get("--section") as string | undefined;
    const p = src.load(path, bytes, section);
    const typeOpt = args.options.get("--prog-type") as string | undefined;
    const progType = typeOpt !== undefined ? progTypeByName(typeOpt) : p.progType;
    if (progType === undefined) throw new UsageError("--prog-type is needed for this input");

    const data = bytesArg(args.options.get("--data") as string | undefined);
    const ctxIn = bytesArg(args.options.get("--ctx") as string | undefined);
    const cpuOpt = args.options.get("--cpu");
    const cpu = intArg(cpuOpt, "--cpu", 0);
    const k = Kernel.create({ ncpus: Math.max(cpu + 1, 1), size: 64 << 20 });
    engineArg(k, args.options.get("--engine"));
    const proc = k.createProcess({ comm: "bpfsim" });
    const logBuf = new Uint8Array(1 << 20);
    const fd = proc.bpf(BpfCmd.ProgLoad, {
      progType, insns: p.insns, license: p.license ?? "GPL", progName: (p.name ?? "").slice(0, 15).replace(/[^A-Za-z0-9_.]/g, "_"),
      logLevel: 1, logSize: logBuf.length, logBuf,
    });
    if (fd < 0) {
      const n = logBuf.indexOf(0);
      ctx.err(new TextDecoder().decode(logBuf.subarray(0, n < 0 ? logBuf.length : n)).trimEnd());
      throw new Error(`BPF_PROG_LOAD failed: errno ${-fd}`);
    }
    const dataSizeOut = intArg(args.options.get("--data-size-out"), "--data-size-out", data ? 65536 : 0);
    const ctxSizeOut = intArg(args.options.get("--ctx-size-out"), "--ctx-size-out", ctxIn ? ctxIn.length : 0);
    const a: ProgTestRunAttr = { progFd: fd, repeat: intArg(args.options.get("--repeat"), "--repeat", 1) };
    if (data) Object.assign(a, { dataIn: data, dataOut: new Uint8Array(Math.max(dataSizeOut, 1)), dataSizeOut });
    if (ctxIn) a.ctxIn = ctxIn;
    if (ctxSizeOut) a.ctxOut = new Uint8Array(ctxSizeOut);
    if (cpuOpt !== undefined) Object.assign(a, { cpu, flags: 1 });
    testRunAndPrint(ctx, proc, a, dataSizeOut, ctxSizeOut);
    printTracePipe(ctx, k);
    proc.exit();
    return 0;
  },
};
