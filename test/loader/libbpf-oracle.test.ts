import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { CollectionSpec } from "@bpfsim/loader";
import { benchDir, benchObjects, fixtureObjects, fixturesDir, haveBench, openFile } from "./load-fixture.js";

/**
 * libbpf as the oracle: a small C program (libbpf-oracle.c) opens each object
 * with the system's libbpf and prints its maps and programs; with root it
 * also loads the object into the running kernel and prints the instructions
 * after libbpf's subprogram linking and relocation. Our spec must agree.
 */

function buildOracle(): { bin?: string; reason?: string } {
  if (!existsSync("/usr/include/bpf/libbpf.h")) return { reason: "libbpf headers are not installed" };
  const dir = mkdtempSync(join(tmpdir(), "bpfsim-oracle-"));
  const bin = join(dir, "oracle");
  try {
    const srcFile = fileURLToPath(new URL("./libbpf-oracle.c", import.meta.url));
    execFileSync("gcc", ["-O1", "-o", bin, srcFile, "-lbpf"], { stdio: "pipe" });
    return { bin };
  } catch (e) {
    return { reason: `cannot build the libbpf oracle with gcc: ${(e as Error).message.split("\n")[0]}` };
  }
}

const oracle = buildOracle();
if (oracle.reason) console.log(`skipped libbpf comparison: ${oracle.reason}`);
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (oracle.bin && !isRoot) console.log("skipped kernel-load comparison: needs root for bpf()");

function run(path: string, load = false): string[] {
  try {
    return execFileSync(oracle.bin!, load ? [path, "load"] : [path], { encoding: "utf8", stdio: "pipe" }).trim().split("\n");
  } catch (e) {
    const out = (e as { stdout?: string }).stdout ?? "";
    return out.trim().split("\n");
  }
}

function ourRows(spec: CollectionSpec): string[] {
  return [
    ...Object.values(spec.maps).map((m) => `map ${m.name} ${m.type} ${m.keySize} ${m.valueSize} ${m.maxEntries} ${m.flags}`),
    ...Object.values(spec.programs).map((p) => `prog ${p.name} ${p.sectionName} ${p.type} ${p.expectedAttachType}`),
  ];
}

const all = [
  ...fixtureObjects.map((f) => fixturesDir + f),
  ...(haveBench ? benchObjects.map((f) => benchDir + f) : []),
];

describe.skipIf(!oracle.bin)("against libbpf", () => {
  it("maps and programs match what libbpf opens", () => {
    for (const path of all) {
      const lines = run(path);
      if (lines[0]?.startsWith("error open")) {
        // libbpf >= 1.0 rejects legacy `maps` sections; we still read them.
        expect(path.endsWith("legacy_maps.bpf.o")).toBe(true);
        continue;
      }
      // Drop the instruction count libbpf reports before linking; compare the rest.
      const theirs = lines.map((l) => (l.startsWith("prog ") ? l.split(" ").slice(0, 5).join(" ") : l));
      const ours = ourRows(openFile(path));
      // Section names newer than the installed libbpf (tcx/...) come back as type 0 there.
      const known = (l: string) => !/^prog \S+ (tcx|netkit)\//.test(l);
      expect(ours.filter(known), path).toEqual(theirs.filter(known));
    }
  });

  it.skipIf(!isRoot)("linked instructions equal libbpf's after a real load (map fds masked)", () => {
    // maps.bpf.o pins a map by name: keep it out of the kernel. CO-RE
    // relocations are resolved by libbpf against the kernel's BTF, not yet by us.
    const skip = ["/maps.bpf.o", "/sections.bpf.o", "/core_externs.bpf.o"];
    const loadable = all.filter((p) => !skip.some((s) => p.endsWith(s)));
    let compared = 0;
    for (const path of loadable) {
      const lines = run(path, true);
      if (lines.some((l) => l.startsWith("error"))) {
        console.log(`libbpf could not load ${path.split("/").pop()} into this kernel; not compared`);
        continue;
      }
      const spec = openFile(path);
      for (const l of lines.filter((x) => x.startsWith("insns "))) {
        const [, name, hex] = l.split(" ");
        const prog = spec.programs[name!]!;
        const theirs = Buffer.from(hex!, "hex");
        const ours = Buffer.from(prog.instructions);
        for (const r of prog.relocations) theirs.writeInt32LE(0, r.insnIndex * 8 + 4); // the map fd
        expect(ours.toString("hex"), `${path} ${name}`).toBe(theirs.toString("hex"));
        compared++;
        // The kernel rewrites instructions (offsets move), but keeps each function's
        // BTF type and, in order, the source positions of the line info it was given.
        const funcs = lines.find((x) => x.startsWith(`funcs ${name} `) || x === `funcs ${name}`);
        const linesOf = lines.find((x) => x.startsWith(`lines ${name} `) || x === `lines ${name}`);
        expect(funcs && linesOf, `${path} ${name}: kernel returned func and line info`).toBeTruthy();
        if (funcs && linesOf) {
          const kTypes = funcs.split(" ").slice(2).map((x) => Number(x.split(":")[1]));
          expect(prog.funcInfo.map((f) => f.typeId), `${path} ${name} func info`).toEqual(kTypes);
          const kPos = linesOf.split(" ").slice(2).map((x) => x.split(":").slice(1).join(":"));
          const ourPos = prog.lineInfo.map((l) => `${l.line}:${l.col}`);
          let j = 0;
          for (const pos of ourPos) if (pos === kPos[j]) j++;
          expect(j, `${path} ${name}: kernel line info is a subsequence of ours`).toBe(kPos.length);
          expect(kPos.length).toBeGreaterThan(0);
        }
      }
    }
    expect(compared).toBeGreaterThan(3);
  });
});
