import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureObjects, fixturesDir, openFile } from "./load-fixture.js";

/** The checked-in objects are the ones build.sh makes from the checked-in sources. */

function hasClang(): boolean {
  try {
    execFileSync("clang", ["--version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}
const clang = hasClang();
if (!clang) console.log("skipped fixture rebuild: clang is not installed");

const summary = (path: string) => {
  const s = openFile(path);
  return {
    maps: Object.entries(s.maps).map(([k, m]) => [k, m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]),
    programs: Object.values(s.programs).map((p) => [p.name, p.sectionName, p.type, p.expectedAttachType, p.subprograms.map((x) => x.name)]),
  };
};

describe("fixtures", () => {
  it("every C source has its object and every object is listed for the tests", () => {
    const files = readdirSync(fixturesDir);
    const sources = files.filter((f) => f.endsWith(".bpf.c")).map((f) => f.replace(/\.c$/, ".o"));
    expect(files.filter((f) => f.endsWith(".bpf.o")).sort()).toEqual(sources.sort());
    expect([...fixtureObjects].sort()).toEqual(sources.sort());
  });

  it.skipIf(!clang)("build.sh rebuilds objects with the same maps and programs", () => {
    const out = mkdtempSync(join(tmpdir(), "bpfsim-fixtures-"));
    execFileSync("sh", [join(fixturesDir, "build.sh")], { env: { ...process.env, OUT: out }, stdio: "pipe" });
    for (const f of fixtureObjects) expect(summary(join(out, f)), f).toEqual(summary(fixturesDir + f));
  });
});
