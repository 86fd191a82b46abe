/**
 * Runs one corpus case on bpfsim's verifier and, when the machine allows
 * it, on the real kernel (through kernel-load.c built with gcc into a temp
 * directory).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { verify, type VerifierEnv, type VerifierResult, type MapInfo } from "../../packages/core/src/verifier/index.js";
import { progTypeFor, helperProto } from "@bpfsim/core";
import { hex } from "./asm.js";

export interface MapDef {
  type: number;
  key: number;
  value: number;
  max: number;
  flags?: number;
  spinLockOff?: number;
  /** Inner map template of a map of maps. */
  inner?: MapDef;
}

export interface Case {
  name: string;
  category: string;
  insns: Uint8Array;
  progType?: number;
  maps?: MapDef[];
  unpriv?: boolean;
  strict?: boolean;
  /** Expected verdict (written from Linux's rules, then checked against the kernel). */
  accept: boolean;
  /** A phrase the log must contain when rejected. */
  msg?: string;
  /** BTF func_info supplied (the kernel harness never has it: raw instructions). */
  funcInfo?: boolean;
  /** Explores the 1M-instruction budget: run without a log on bpfsim's side (the log would be 1M lines). */
  heavy?: boolean;
  /** Why the kernel on this machine cannot judge the case (it is then compared with `accept` only). */
  noKernel?: string;
}

export function envFor(c: Case, logLevel = 1): VerifierEnv {
  const pt = c.progType ?? 1;
  const ops = progTypeFor(pt);
  if (!ops) throw new Error(`no prog type ${pt}`);
  const info = (m: MapDef, i: number): MapInfo => ({
    mapType: m.type, keySize: m.key, valueSize: m.value, maxEntries: m.max, mapFlags: m.flags ?? 0,
    spinLockOff: m.spinLockOff ?? -1, id: i, ...(m.inner ? { innerMap: info(m.inner, 100 + i) } : {}),
  });
  const maps: MapInfo[] = (c.maps ?? []).map(info);
  return {
    progType: pt,
    progTypeOps: ops,
    maps: (imm64) => maps[Number(imm64 & 0xffffffffn)],
    mapValue: (imm64) => {
      const map = maps[Number(imm64 & 0xffffffffn)];
      return map ? { map, off: Number(imm64 >> 32n) } : undefined;
    },
    helpers: (id) => helperProto(id),
    privileged: !c.unpriv,
    strictAlignment: !!c.strict,
    logLevel,
    logSize: 1 << 24,
    hasFuncInfo: !!c.funcInfo,
  };
}

export function runOurs(c: Case, logLevel = 1, logSize?: number): VerifierResult {
  const env = envFor(c, c.heavy ? 0 : logLevel);
  return verify(c.insns, logSize === undefined ? env : { ...env, logSize });
}

export interface KernelVerdict {
  ok: boolean;
  errno: number;
  log: string;
}

let helperPath: string | null | undefined;
export let kernelSkipReason = "";

/** Builds the kernel loader once; null (with the reason) if gcc or bpf() is unavailable. */
export function kernelHelper(): string | null {
  if (helperPath !== undefined) return helperPath;
  helperPath = null;
  const src = join(dirname(fileURLToPath(import.meta.url)), "kernel-load.c");
  try {
    if (process.platform !== "linux") throw new Error("not Linux");
    if (process.getuid?.() !== 0) throw new Error("needs root for BPF_PROG_LOAD of all program types");
    const dir = mkdtempSync(join(tmpdir(), "verifier-kernel-"));
    const bin = join(dir, "kernel-load");
    execFileSync("gcc", ["-O2", "-o", bin, src], { stdio: "pipe" });
    if (!existsSync(bin)) throw new Error("gcc produced nothing");
    // r0 = 0; exit as a probe that bpf() works at all.
    const out = execFileSync(bin, ["1", "0", "0", "-", "b7000000000000009500000000000000"], { encoding: "utf8" });
    if (!out.startsWith("OK")) throw new Error(`bpf() refused a trivial program: ${out.split("\n")[0]}`);
    helperPath = bin;
  } catch (e) {
    kernelSkipReason = `kernel comparison skipped: ${(e as Error).message.split("\n")[0]}`;
  }
  return helperPath;
}

export function runKernel(c: Case, logLevel = 1, logSize?: number): KernelVerdict | null {
  const bin = kernelHelper();
  if (!bin) return null;
  // ":L" asks for BTF describing a 16-byte value with its bpf_spin_lock at 0.
  const maps = c.maps?.length
    ? c.maps.map((m) => `${m.type}:${m.key}:${m.value}:${m.max}:${m.flags ?? 0}${m.spinLockOff === 0 && m.value === 16 ? ":L" : ""}`).join(",")
    : "-";
  const flags = c.strict ? "1" : "0";
  const out = execFileSync(bin, [String(c.progType ?? 1), String(logLevel), flags, maps, hex(c.insns)], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
    env: {
      ...process.env,
      ...(logSize === undefined ? {} : { KERNEL_LOAD_LOG_SIZE: String(logSize) }),
      ...(c.funcInfo ? { KERNEL_LOAD_FUNC_INFO: "1" } : {}),
    },
  });
  const nl = out.indexOf("\n");
  const head = out.slice(0, nl);
  if (head.startsWith("MAPERR") || head.startsWith("BTFERR")) throw new Error(`${c.name}: kernel refused the map or BTF: ${head}`);
  return { ok: head === "OK", errno: head === "OK" ? 0 : Number(head.split(" ")[1]), log: out.slice(nl + 1) };
}
