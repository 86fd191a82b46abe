import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { btfDumpRaw, BtfKind, parseBtf, parseElf } from "@bpfsim/loader";
import { benchDir, benchObjects, fixtureObjects, fixturesDir, haveBench, readObject } from "./load-fixture.js";

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
