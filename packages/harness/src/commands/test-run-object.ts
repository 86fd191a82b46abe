/**
 * `bpfsim test-run <object.o> --prog <name> [--data <hex|@file>] [--repeat N]
 * [--engine interpreter|jit] [--data-size-out N]`: ELF objects for
 * `test-run`. The whole object is loaded with the loader's `loadCollection`
 * (maps created and initialised, relocations applied, prog-array slots
 * filled), so programs that use maps run as they would after libbpf's
 * bpf_object__load; then one program runs with BPF_PROG_TEST_RUN and the
 * output is what `bpftool prog run` prints. Ring buffer records the run
 * produced are listed too (bpftool would leave them in the ring).
 *
 * `test-run` hands an input to this module when it starts with the ELF
 * magic; everything else stays with the assembly and raw sources.
 */
import { readFileSync } from "node:fs";
import { Kernel, MapType, RingBuffer, type ProgTestRunAttr } from "@bpfsim/core";
import { copyCollectionSpec, loadCollection, objectNameFromPath, openObject } from "@bpfsim/loader";
import { parseArgs, UsageError, type CommandContext } from "../cli.js";
import { bytesArg, engineArg, hexDump, intArg, printTracePipe, testRunAndPrint } from "./test-run-common.js";

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** True if the file at `path` is an ELF object (unreadable files are left to test-run's own error). */
export function isElfObject(path: string): boolean {
  try {
    const b = readFileSync(path).subarray(0, 4);
    return ELF_MAGIC.every((x, i) => b[i] === x);
  } catch {
    return false;
  }
}

/** If the first positional argument is an ELF object, runs it and resolves to the exit code; else undefined. */
export function objectTestRun(ctx: CommandContext): Promise<number> | undefined {
  const path = ctx.argv.find((a) => !a.startsWith("-"));
  if (path === undefined || !isElfObject(path)) return undefined;
  return runObject(ctx);
}

async function runObject(ctx: CommandContext): Promise<number> {
  const args = parseArgs(ctx.argv, ["--prog", "--section", "--data", "--ctx", "--repeat", "--data-size-out", "--engine"]);
  if (args.positionals.length !== 1) throw new UsageError("give exactly one object file");
  const path = args.positionals[0]!;
  const spec = copyCollectionSpec(openObject(new Uint8Array(readFileSync(path)), { name: objectNameFromPath(path) }));
  const names = Object.keys(spec.programs);
  const want = (args.options.get("--prog") ?? args.options.get("--section")) as string | undefined;
  const name = want ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) throw new UsageError(`'${path}' has ${names.length} programs; choose one with --prog (${names.join(", ")})`);
  const chosen = spec.programs[name] ?? Object.values(spec.programs).find((p) => p.sectionName === name);
  if (!chosen) throw new UsageError(`no program '${name}' in '${path}' (programs: ${names.join(", ")})`);
  // Only the chosen program is loaded (libbpf's autoload off for the rest), with every map.
  for (const n of names) if (spec.programs[n] !== chosen) delete spec.programs[n];

  // Room for the object's ring buffers (256 MiB is common; each takes twice its size here, see ringbuf/ring.ts).
  let size = 64 << 20;
  for (const m of Object.values(spec.maps)) if (m.type === MapType.Ringbuf) size += 2 * m.maxEntries + (16 << 10);
  const k = Kernel.create({ ncpus: 1, size: Math.min(Math.ceil(size / 65536) * 65536, 4 * 1024 * 1024 * 1024 - 65536) });
  engineArg(k, args.options.get("--engine"));
  const proc = k.createProcess({ comm: "bpfsim" });
  // libbpf lifts RLIMIT_MEMLOCK before it creates maps; so does this loader.
  k.arena.setMemlockLimit(proc.uid, Infinity);
  try {
    const col = loadCollection(proc, spec, { logLevel: 1, logSize: 1 << 20 });
    const prog = Object.values(col.programs)[0]!;
    const data = bytesArg(args.options.get("--data") as string | undefined);
    const ctxIn = bytesArg(args.options.get("--ctx") as string | undefined);
    const dataSizeOut = intArg(args.options.get("--data-size-out"), "--data-size-out", data ? 65536 : 0);
    const a: ProgTestRunAttr = { progFd: prog.fd, repeat: intArg(args.options.get("--repeat"), "--repeat", 1) };
    if (data) Object.assign(a, { dataIn: data, dataOut: new Uint8Array(Math.max(dataSizeOut, 1)), dataSizeOut });
    if (ctxIn) a.ctxIn = ctxIn;
    testRunAndPrint(ctx, proc, a, dataSizeOut);
    for (const [mapName, m] of Object.entries(col.maps)) {
      if (m.spec.type !== MapType.Ringbuf) continue;
      const recs: string[] = [];
      const rb = new RingBuffer(proc, m.fd, (d) => void recs.push(...hexDump(d).map((l, i) => (i === 0 ? `  ${l}` : `  ${l}`))));
      const n = rb.consume();
      rb.free();
      if (n > 0) {
        ctx.out(`Ring buffer ${mapName}: ${n} record${n === 1 ? "" : "s"}`);
        for (const l of recs) ctx.out(l);
      }
    }
    printTracePipe(ctx, k);
    col.close();
    return 0;
  } finally {
    proc.exit();
  }
}
