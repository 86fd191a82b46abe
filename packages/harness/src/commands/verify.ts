/**
 * `bpfsim verify <object.o|file.data|file.s|file.bin> [--log-level N] [--unpriv]
 * [--strict-alignment] [--prog-type T] [--stats]`: runs the verifier and
 * prints its log, as `bpftool prog load` / `veristat` would show it.
 *
 *  - ELF objects: maps are created and every program is loaded with
 *    BPF_PROG_LOAD in a throw-away machine (so map references resolve as
 *    after libbpf's load); the program type comes from the section name.
 *  - `.s` (assembler text), `.data` (conformance files, the `-- asm`
 *    section) and anything else (raw 8-byte instruction slots): verified
 *    directly as one program of `--prog-type` (default socket_filter);
 *    they cannot reference maps.
 *
 * Exit code: 0 if every program is accepted, 1 if any is rejected, 2 for a
 * usage or file error.
 */
import { readFileSync } from "node:fs";
import {
  BpfCmd, Kernel, ProgType, errnoName, helperProto, progTypeFor, verify, type Process, type VerifierResult,
} from "@bpfsim/core";
import { assemble, copyCollectionSpec, dataFileProgram, loadCollectionMaps, objectNameFromPath, openObject, parseDataFile, patchMapFds } from "@bpfsim/loader";
import { parseArgs, UsageError, type Command, type CommandContext } from "../cli.js";
import { isElfObject } from "./test-run-object.js";

interface Verdict {
  name: string;
  ok: boolean;
  errno: number;
  log: string;
  processed?: number;
  totalStates?: number;
  peakStates?: number;
  ms: number;
}

function progTypeArg(v: string | true | undefined): number {
  if (v === undefined) return ProgType.SocketFilter;
  if (v === true) throw new UsageError("--prog-type needs a value");
  if (/^\d+$/.test(v)) return Number(v);
  const want = v.replace(/-/g, "_").toLowerCase();
  for (let t = 0; t < 64; t++) if (progTypeFor(t)?.name === want) return t;
  throw new UsageError(`unknown program type '${v}'`);
}

function verifyRaw(ctx: CommandContext, path: string, bytes: Uint8Array, o: Opts): Verdict {
  const ops = progTypeFor(o.progType);
  if (!ops) throw new UsageError(`program type ${o.progType} is not supported`);
  const t0 = performance.now();
  const r: VerifierResult = verify(bytes, {
    progType: o.progType, progTypeOps: ops, maps: () => undefined, helpers: helperProto,
    privileged: !o.unpriv, strictAlignment: o.strict, logLevel: o.logLevel, logSize: 1 << 30,
  });
  void ctx;
  return {
    name: path, ok: r.ok, errno: r.errno, log: r.log, processed: r.processedInsns, totalStates: r.totalStates,
    peakStates: r.peakStates, ms: performance.now() - t0,
  };
}

function verifyObject(path: string, o: Opts): Verdict[] {
  const spec = copyCollectionSpec(openObject(new Uint8Array(readFileSync(path)), { name: objectNameFromPath(path) }));
  const k = Kernel.create({ ncpus: 1, size: 256 << 20 });
  const proc: Process = k.createProcess({ comm: "bpfsim", ...(o.unpriv ? { uid: 1000 } : {}) });
  k.arena.setMemlockLimit(proc.uid, Infinity);
  const out: Verdict[] = [];
  try {
    const maps = loadCollectionMaps(proc, spec);
    for (const [name, prog] of Object.entries(spec.programs)) {
      const logBuf = new Uint8Array(16 << 20);
      const t0 = performance.now();
      const ret = proc.bpf(BpfCmd.ProgLoad, {
        progType: prog.type, insns: patchMapFds(prog, maps.maps), license: prog.license, kernVersion: prog.kernVersion,
        progFlags: prog.flags | (o.strict ? 1 : 0), progName: name.slice(0, 15), expectedAttachType: prog.expectedAttachType,
        logLevel: Math.max(o.logLevel, 1), logSize: logBuf.length, logBuf,
      });
      const ms = performance.now() - t0;
      const log = new TextDecoder().decode(logBuf.subarray(0, Math.max(0, logBuf.indexOf(0))));
      const m = /processed (\d+) insns .* total_states (\d+) peak_states (\d+)/.exec(log);
      out.push({
        name: `${name} (${prog.sectionName})`, ok: ret >= 0, errno: ret < 0 ? -ret : 0,
        log: o.logLevel === 0 && ret >= 0 ? "" : log, ms,
        ...(m ? { processed: Number(m[1]), totalStates: Number(m[2]), peakStates: Number(m[3]) } : {}),
      });
      if (ret >= 0) proc.close(ret);
    }
  } finally {
    proc.exit();
  }
  return out;
}

interface Opts {
  logLevel: number;
  unpriv: boolean;
  strict: boolean;
  progType: number;
  stats: boolean;
}

export const verifyCommand: Command = {
  name: "verify",
  summary: "run the verifier on an object, assembler, .data or raw program and print its log",
  usage: "verify <object.o|file.s|file.data|file.bin> [--log-level N] [--unpriv] [--strict-alignment] [--prog-type T] [--stats]",
  help:
    "Exit code 0 when every program is accepted, 1 when one is rejected, 2 for usage or file errors.\n" +
    "--stats prints, per program, the verification time and the processed-instruction and state counts (as veristat does).",
  async run(ctx) {
    const args = parseArgs(ctx.argv, ["--log-level", "--prog-type"], ["--unpriv", "--strict-alignment", "--stats"]);
    if (args.positionals.length !== 1) throw new UsageError("give exactly one program file");
    const path = args.positionals[0]!;
    const lv = args.options.get("--log-level");
    if (lv !== undefined && (lv === true || !/^[0-2]$/.test(lv))) throw new UsageError("--log-level is 0, 1 or 2");
    const o: Opts = {
      logLevel: lv === undefined ? 1 : Number(lv),
      unpriv: args.options.has("--unpriv"),
      strict: args.options.has("--strict-alignment"),
      progType: progTypeArg(args.options.get("--prog-type")),
      stats: args.options.has("--stats"),
    };
    let verdicts: Verdict[];
    try {
      if (isElfObject(path)) verdicts = verifyObject(path, o);
      else {
        const text = path.endsWith(".s") || path.endsWith(".data") ? readFileSync(path, "utf8") : undefined;
        const bytes = path.endsWith(".s") ? assemble(text!) : path.endsWith(".data") ? dataFileProgram(parseDataFile(text!)) : new Uint8Array(readFileSync(path));
        verdicts = [verifyRaw(ctx, path, bytes, o)];
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      ctx.err(`bpfsim: ${path}: ${(e as Error).message}`);
      return 2;
    }
    for (const v of verdicts) {
      if (verdicts.length > 1) ctx.out(`== ${v.name}`);
      for (const l of v.log.trimEnd().split("\n")) if (l) ctx.out(l);
      ctx.out(v.ok ? `${v.name}: accepted` : `${v.name}: rejected (${errnoName(v.errno)})`);
      if (o.stats) {
        ctx.out(`  verification time ${v.ms.toFixed(1)} ms, insns processed ${v.processed ?? "?"}, total states ${v.totalStates ?? "?"}, peak states ${v.peakStates ?? "?"}`);
      }
    }
    return verdicts.every((v) => v.ok) ? 0 : 1;
  },
};
