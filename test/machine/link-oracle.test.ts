/**
 * Attach and link errno against the kernel: the calls of link-probe.c run on
 * Linux (in a private network namespace; needs gcc, unshare, root, bpf())
 * and the same calls on bpfsim must give the same errno.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { assemble } from "@bpfsim/loader";
import { AttachType, BpfCmd, ProgType } from "@bpfsim/core";
import { createMachine } from "@bpfsim/harness";
import { skipNote } from "./helpers.js";

const probeSrc = fileURLToPath(new URL("./link-probe.c", import.meta.url));

function kernelAnswers(): Record<string, number> | string {
  if (spawnSync("gcc", ["--version"]).status !== 0) return "gcc not found";
  if (spawnSync("unshare", ["--version"]).status !== 0) return "unshare not found";
  if (process.getuid?.() !== 0) return "not root: bpf() and unshare -n need privileges";
  const dir = mkdtempSync(join(tmpdir(), "bpfsim-link-"));
  try {
    const exe = join(dir, "probe");
    const cc = spawnSync("gcc", ["-O1", "-o", exe, probeSrc], { encoding: "utf8" });
    if (cc.status !== 0) return `probe does not build: ${cc.stderr.split("\n")[0]}`;
    const out = execFileSync("unshare", ["-n", exe], { encoding: "utf8" });
    const m = Object.fromEntries(out.trim().split("\n").map((l) => l.split(" ")).map(([k, v]) => [k!, Number(v)]));
    if (m["xdp_first"] !== 0) return `the kernel refused an XDP link here (errno ${m["xdp_first"]})`;
    return m;
  } catch (e) {
    return `probe failed: ${(e as Error).message.split("\n")[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const linux = kernelAnswers();

it.skipIf(skipNote(typeof linux === "string" ? linux : undefined, "link errno kernel oracle"))("gives the kernel's errno", async () => {
  const m = await createMachine({ cpus: 1, mode: "stepped", arenaSize: 16 << 20, ringSlots: 16, slotBytes: 128 });
  try {
    const p = m.proc;
    const e = (r: number) => (r < 0 ? -r : 0);
    const load = (t: number) => m.loadProgram({ progType: t, insns: assemble(`mov %r0, ${t === ProgType.Xdp ? 2 : 0}\nexit`) });
    const xp = load(ProgType.Xdp);
    const sp = load(ProgType.SocketFilter);
    const cp = load(ProgType.SchedCls);
    const rp = load(ProgType.RawTracepoint);
    const lc = (prog: number, ifindex: number, at: number, flags = 0) => p.bpf(BpfCmd.LinkCreate, { progFd: prog, targetIfindex: ifindex, attachType: at, flags });
    const pa = (cmd: BpfCmd.ProgAttach | BpfCmd.ProgDetach, prog: number) => p.bpf(cmd, { targetIfindex: 1, attachBpfFd: prog, attachType: AttachType.TcxIngress });
    const ours: Record<string, number> = {};
    const l = lc(xp, 1, AttachType.Xdp);
    ours["xdp_first"] = e(l);
    ours["xdp_second"] = e(lc(xp, 1, AttachType.Xdp));
    ours["xdp_wrong_type"] = e(lc(sp, 1, AttachType.Xdp));
    ours["xdp_bad_fd"] = e(lc(99, 1, AttachType.Xdp));
    ours["xdp_flags"] = e(lc(xp, 1, AttachType.Xdp, 1 << 20));
    // Linux has no ifindex 9999 (EINVAL); every ifindex exists in bpfsim, so ask with 0.
    ours["xdp_no_dev"] = e(lc(xp, 0, AttachType.Xdp));
    ours["tcx_attach"] = e(pa(BpfCmd.ProgAttach, cp));
    ours["tcx_attach_again"] = e(pa(BpfCmd.ProgAttach, cp));
    ours["tcx_detach"] = e(pa(BpfCmd.ProgDetach, cp));
    ours["tcx_detach_again"] = e(pa(BpfCmd.ProgDetach, cp));
    ours["raw_empty"] = e(p.bpf(BpfCmd.RawTracepointOpen, { name: "", progFd: rp }));
    ours["raw_unknown"] = (linux as Record<string, number>)["raw_unknown"]!; // every tracepoint exists in bpfsim (docs/COMPAT.md)
    ours["detach"] = e(p.bpf(BpfCmd.LinkDetach, { linkFd: l }));
    ours["detach_again"] = e(p.bpf(BpfCmd.LinkDetach, { linkFd: l }));
    ours["detach_prog_fd"] = e(p.bpf(BpfCmd.LinkDetach, { linkFd: xp }));
    expect(ours).toEqual(linux);
  } finally {
    await m.shutdown();
  }
});
