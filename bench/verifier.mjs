// `pnpm bench verifier [--json]`: verification time and processed-instruction
// counts, printed like veristat, for generated programs (a ~4,000-instruction
// program made of bounded loops over a map value, and a straight-line one),
// with Linux's counts and wall time beside ours when the kernel lets us
// (root, gcc; Linux runs with BPF_LOG_STATS). Linux's time includes starting
// the loader process.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { verify, progTypeFor, helperProto } from "../packages/core/dist/index.js";

const slot = (code, dst = 0, src = 0, off = 0, imm = 0) => [code, dst, src, off, imm];
function encode(slots) {
  const b = new Uint8Array(slots.length * 8);
  const dv = new DataView(b.buffer);
  slots.forEach(([c, d, s, o, i], k) => {
    dv.setUint8(k * 8, c);
    dv.setUint8(k * 8 + 1, (s << 4) | d);
    dv.setInt16(k * 8 + 2, o, true);
    dv.setInt32(k * 8 + 4, i, true);
  });
  return b;
}

/** r6 = lookup(map0, key 0) or return 0. */
const prologue = [
  slot(0x7a, 10, 0, -8, 0), slot(0xbf, 2, 10), slot(0x07, 2, 0, 0, -8), slot(0x18, 1, 1, 0, 0), slot(0), slot(0x85, 0, 0, 0, 1),
  slot(0x55, 0, 0, 2, 0), slot(0xb7, 0, 0, 0, 0), slot(0x95), slot(0xbf, 6, 0), slot(0xb7, 7, 0, 0, 0),
];

/** `blocks` bounded loops of `iters` iterations, each reading value[r1 & 7] and branching on it. */
function loops(blocks, iters) {
  const s = [...prologue];
  for (let b = 0; b < blocks; b++) {
    s.push(
      slot(0xb7, 1, 0, 0, 0), //           r1 = 0
      slot(0xbf, 2, 1), //                 L: r2 = r1
      slot(0x57, 2, 0, 0, 7), //           r2 &= 7
      slot(0xbf, 3, 6), //                 r3 = r6
      slot(0x0f, 3, 2), //                 r3 += r2
      slot(0x71, 4, 3, 0), //              r4 = *(u8 *)(r3 + 0)
      slot(0x25, 4, 0, 1, 100), //         if r4 > 100 goto +1
      slot(0x0f, 7, 4), //                 r7 += r4
      slot(0x07, 7, 0, 0, 1), //           r7 += 1
      slot(0x07, 1, 0, 0, 1), //           r1 += 1
      slot(0xa5, 1, 0, -10, iters), //     if r1 < iters goto L
    );
  }
  s.push(slot(0xbf, 0, 7), slot(0x95));
  return encode(s);
}

/** Forward branches only: each diamond sets a register that is dead afterwards, so paths merge. */
function straight(n) {
  const s = [slot(0xb7, 0, 0, 0, 0)];
  while (s.length < n - 3) s.push(slot(0x61, 2, 1, 0), slot(0x25, 2, 0, 1, s.length), slot(0xb7, 3, 0, 0, s.length), slot(0x07, 0, 0, 0, 1));
  s.push(slot(0x95));
  return encode(s);
}

const MAP = { mapType: 2, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0, spinLockOff: -1 };
function ours(insns) {
  const env = {
    progType: 1, progTypeOps: progTypeFor(1), maps: () => MAP, helpers: helperProto,
    privileged: true, strictAlignment: false, logLevel: 0, logSize: 0,
  };
  verify(insns, env); // warm-up
  const t0 = performance.now();
  const r = verify(insns, env);
  return { ok: r.ok, ms: performance.now() - t0, processed: r.processedInsns, total: r.totalStates, peak: r.peakStates, msg: r.message };
}

function linuxRunner() {
  if (process.getuid?.() !== 0) return { why: "needs root" };
  const dir = mkdtempSync(join(tmpdir(), "verifier-bench-"));
  try {
    const bin = join(dir, "kernel-load");
    execFileSync("gcc", ["-O2", "-o", bin, fileURLToPath(new URL("../test/verifier/kernel-load.c", import.meta.url))], { stdio: "pipe" });
    return {
      dir,
      run(insns) {
        const hex = Buffer.from(insns).toString("hex");
        const t0 = performance.now();
        const out = execFileSync(bin, ["1", "4", "0", "2:4:8:4:0", hex], { encoding: "utf8", maxBuffer: 64 << 20 });
        const ms = performance.now() - t0;
        const m = /processed (\d+) insns .* total_states (\d+) peak_states (\d+)/.exec(out);
        return { ok: out.startsWith("OK"), ms, processed: m ? Number(m[1]) : NaN, total: m ? Number(m[2]) : NaN, peak: m ? Number(m[3]) : NaN };
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return { why: String(e.message).split("\n")[0] };
  }
}

export default async function main(args) {
  const progs = [
    ["loops_4k", loops(360, 16)],
    ["loops_deep", loops(40, 256)],
    ["straight_4k", straight(4000)],
  ];
  const linux = linuxRunner();
  const rows = [];
  for (const [name, insns] of progs) {
    const o = ours(insns);
    const l = linux.run ? linux.run(insns) : undefined;
    rows.push({ name, insns: insns.length / 8, ours: o, linux: l });
  }
  if (linux.dir) rmSync(linux.dir, { recursive: true, force: true });
  if (args.includes("--json")) {
    console.log(JSON.stringify({ rows, linux: linux.why ?? "ok" }, null, 2));
    return;
  }
  const pad = (s, n) => String(s).padEnd(n);
  console.log(pad("Program", 14) + pad("Insns", 7) + pad("Verdict", 9) + pad("Duration", 11) + pad("Insns processed", 17) + pad("Total states", 14) + pad("Peak states", 13) + "| Linux: verdict, duration, processed, total, peak");
  for (const r of rows) {
    const o = r.ours;
    const l = r.linux;
    console.log(
      pad(r.name, 14) + pad(r.insns, 7) + pad(o.ok ? "success" : "failure", 9) + pad(`${o.ms.toFixed(1)} ms`, 11) + pad(o.processed, 17) + pad(o.total, 14) + pad(o.peak, 13) +
        (l ? `| ${l.ok ? "success" : "failure"}, ${l.ms.toFixed(1)} ms, ${l.processed}, ${l.total}, ${l.peak}` : `| (${linux.why})`),
    );
  }
}
