import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { btfDumpRaw, BtfKind, btfString, encodeBtf, parseBtf, parseElf } from "@bpfsim/loader";
import { benchDir, benchObjects, fixtureObjects, fixturesDir, haveBench, openFile, readObject } from "./load-fixture.js";

/** bpftool as the oracle for the BTF parser: our dump of every object's .BTF equals `bpftool btf dump file X format raw`. */

function bpftool(): string | undefined {
  for (const bin of ["bpftool", "/usr/sbin/bpftool"]) {
    try {
      execFileSync(bin, ["version"], { stdio: "pipe" });
      return bin;
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}
const bin = bpftool();
if (!bin) console.log("skipped BTF comparison with bpftool: bpftool is not installed");

const paths = [...fixtureObjects.map((f) => fixturesDir + f), ...(haveBench ? benchObjects.map((f) => benchDir + f) : [])];
const rawBtf = (path: string) => parseBtf(parseElf(readObject(path)).sectionByName(".BTF")!.data);

describe("BTF", () => {
  it.skipIf(!bin)("parses every object's .BTF exactly as bpftool dumps it", () => {
    for (const path of paths) {
      const theirs = execFileSync(bin!, ["btf", "dump", "file", path, "format", "raw"], { encoding: "utf8" }).trimEnd().split("\n");
      expect(btfDumpRaw(rawBtf(path)), path).toEqual(theirs);
    }
  });

  it("btf_kinds.bpf.o has the kinds clang 14 emits, with their details", () => {
    const btf = rawBtf(`${fixturesDir}btf_kinds.bpf.o`);
    const kinds = new Set(btf.types.map((t) => t.kind));
    for (const k of [BtfKind.Union, BtfKind.Enum, BtfKind.Float, BtfKind.Fwd, BtfKind.DeclTag, BtfKind.TypeTag, BtfKind.Const, BtfKind.Volatile, BtfKind.FuncProto, BtfKind.Func, BtfKind.Var, BtfKind.Datasec]) {
      expect(kinds.has(k), BtfKind[k]).toBe(true);
    }
    const value = btf.types.find((t) => t.name === "value" && t.kind === BtfKind.Struct);
    expect(value?.kind).toBe(BtfKind.Struct);
    if (value?.kind !== BtfKind.Struct) return;
    expect(value.members.filter((m) => m.bitfieldSize).map((m) => [m.name, m.bitOffset, m.bitfieldSize])).toEqual([
      ["low", 64, 3],
      ["mid", 67, 9],
      ["high", 76, 20],
    ]);
    const tag = btf.types.find((t) => t.kind === BtfKind.DeclTag && t.name === "bits");
    expect(tag).toMatchObject({ type: value.id, componentIdx: 3 });
  });
});

describe("encodeBtf", () => {
  it("round-trips every object's BTF, DATASEC fix-ups included", () => {
    for (const path of paths) {
      const spec = openFile(path);
      const lineStrings = Object.values(spec.programs).flatMap((p) => p.lineInfo.flatMap((l) => [l.fileName, l.lineText]));
      const enc = encodeBtf(spec.btf!, lineStrings);
      const back = parseBtf(enc.bytes);
      expect(back.types, path).toEqual(spec.btf!.types);
      for (const p of Object.values(spec.programs)) {
        for (const l of p.lineInfo) expect(btfString(back, enc.offsetOf(l.lineText))).toBe(l.lineText);
      }
    }
  });

  it.skipIf(!bin)("bpftool reads the encoded (fixed-up) BTF as we dump it", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfsim-btf-"));
    for (const f of ["globals.bpf.o", "btf_kinds.bpf.o", "core_externs.bpf.o"]) {
      const spec = openFile(fixturesDir + f);
      const file = join(dir, `${f}.btf`);
      writeFileSync(file, encodeBtf(spec.btf!).bytes);
      const theirs = execFileSync(bin!, ["btf", "dump", "file", file, "format", "raw"], { encoding: "utf8" }).trimEnd().split("\n");
      expect(theirs, f).toEqual(btfDumpRaw(spec.btf!));
    }
  });
});
