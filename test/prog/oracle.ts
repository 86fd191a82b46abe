/**
 * The same line protocol answered twice: by the real kernel (probe/bpf-probe.c,
 * raw bpf() syscalls) and by bpfsim (`simSession`). Tests send one batch of
 * requests to both and compare the answers line by line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BpfCmd, Kernel, progInfo, setProgEngine, type Process } from "@bpfsim/core";

const probeSrc = fileURLToPath(new URL("./probe/bpf-probe.c", import.meta.url));

/** Why the kernel oracle cannot run here, or null when it can. */
export const kernelUnavailable: string | null = (() => {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root: bpf() needs CAP_BPF/CAP_SYS_ADMIN";
  const cc = spawnSync("cc", ["--version"]);
  if (cc.status !== 0) return "no C compiler";
  return null;
})();

let probeBin: string | undefined;

/** Answers of the real kernel, one per request line. */
export function kernelSession(lines: string[]): string[] {
  if (!probeBin) {
    const dir = mkdtempSync(join(tmpdir(), "bpfsim-probe-"));
    probeBin = join(dir, "bpf-probe");
    const r = spawnSync("cc", ["-O1", "-o", probeBin, probeSrc], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cannot build the kernel probe: ${r.stderr}`);
  }
  const r = spawnSync(probeBin, [], { input: lines.join("\n") + "\n", encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kernel probe failed: ${r.stderr}`);
  return r.stdout.split("\n").slice(0, lines.length);
}

const hex = (b: Uint8Array): string => (b.length ? Buffer.from(b).toString("hex") : "-");
const unhex = (s: string): Uint8Array => (s === "-" ? new Uint8Array(0) : Uint8Array.from(Buffer.from(s, "hex")));

/** A fresh bpfsim machine answering the probe protocol. */
export function simSession(lines: string[], engine: "interpreter" | "jit" = "interpreter"): string[] {
  const k = Kernel.create({ ncpus: 2, size: 64 << 20 });
  setProgEngine(k, engine);
  const p: Process = k.createProcess({ comm: "probe" });
  const maps: number[] = [];
  const progs: number[] = [];
  const out = lines.map((line) => {
    const [cmd, ...f] = line.split(" ");
    switch (cmd) {
      case "map": {
        const [mapType, keySize, valueSize, maxEntries] = f.map(Number) as [number, number, number, number];
        const fd = p.bpf(BpfCmd.MapCreate, { mapType, keySize, valueSize, maxEntries });
        if (fd >= 0) maps.push(fd);
        return String(fd);
      }
      case "load": {
        const [type, flags, lic, level, size, insnHex] = f as [string, string, string, string, string, string];
        const insns = unhex(insnHex);
        for (let at = 0; at + 16 <= insns.length; at += 8) {
          const src = insns[at + 1]! >> 4;
          if (insns[at] === 0x18 && (src === 1 || src === 2)) {
            const dv = new DataView(insns.buffer, at + 4, 4);
            const i = dv.getInt32(0, true);
            if (i >= 0 && i < maps.length) dv.setInt32(0, maps[i]!, true);
          }
        }
        const logSize = Number(size);
        const logBuf = logSize ? new Uint8Array(logSize) : null;
        const a = {
          progType: Number(type), progFlags: Number(flags), license: lic.replace(/_/g, " "), insns,
          logLevel: Number(level), logSize, logBuf, logTrueSize: 0,
        };
        const fd = p.bpf(BpfCmd.ProgLoad, a);
        if (fd >= 0) progs.push(fd);
        let log = "";
        if (logBuf) {
          const n = logBuf.indexOf(0);
          log = String.fromCharCode(...logBuf.subarray(0, n < 0 ? logBuf.length : n)).replace(/\n/g, "|");
        }
        return `${fd} ${a.logTrueSize} ${log}`;
      }
      case "run": {
        const [pi, data, dso, repeat, ctx, cso, flags, cpu] = f as string[];
        const dataIn = unhex(data!);
        const ctxIn = unhex(ctx!);
        const dataOut = new Uint8Array(Math.max(Number(dso), 1 << 12));
        const ctxOut = Number(cso) ? new Uint8Array(Number(cso)) : null;
        const a: Record<string, unknown> = {
          progFd: progs[Number(pi)]!, dataSizeOut: Number(dso), repeat: Number(repeat),
          flags: Number(flags), cpu: Number(cpu), retval: 0, ctxSizeOut: Number(cso),
        };
        if (dataIn.length) a.dataIn = dataIn;
        if (ctxIn.length) a.ctxIn = ctxIn;
        if (ctxOut) a.ctxOut = ctxOut;
        if (Number(dso)) a.dataOut = dataOut;
        const r = p.bpf(BpfCmd.ProgTestRun, a);
        const dsz = (a.dataSizeOut as number | undefined) ?? 0;
        const shown = Math.min(dsz, Number(dso));
        const csz = (a.ctxSizeOut as number | undefined) ?? 0;
        const cshown = ctxOut ? Math.min(csz, Number(cso)) : 0;
        return `${r} ${(a.retval as number) >>> 0} ${r === 0 || r === -28 ? dsz : 0} ${hex(dataOut.subarray(0, r === 0 || r === -28 ? shown : 0))} ${csz} ${hex(ctxOut ? ctxOut.subarray(0, cshown) : new Uint8Array(0))}`;
      }
      case "info": {
        const i = progInfo(p, progs[Number(f[0])]!);
        return `${i.tag} ${i.xlatedProgLen} ${i.mapIds.length}`;
      }
      case "update": {
        const [m, key, pi] = f.map(Number) as [number, number, number];
        const kb = new Uint8Array(new Uint32Array([key]).buffer);
        const vb = new Uint8Array(new Uint32Array([progs[pi]!]).buffer);
        return String(p.bpf(BpfCmd.MapUpdateElem, { mapFd: maps[m]!, key: kb, value: vb }));
      }
      case "lookup": {
        const [m, key] = f.map(Number) as [number, number];
        const kb = new Uint8Array(new Uint32Array([key]).buffer);
        const vb = new Uint8Array(8);
        const r = p.bpf(BpfCmd.MapLookupElem, { mapFd: maps[m]!, key: kb, value: vb });
        return r < 0 ? String(r) : new DataView(vb.buffer).getBigUint64(0, true).toString();
      }
      default:
        return "?";
    }
  });
  p.exit();
  return out;
}
