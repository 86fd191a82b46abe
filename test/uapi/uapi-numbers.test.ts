/**
 * The numbers in core/uapi.ts must equal Linux's UAPI. Where the machine has
 * <linux/bpf.h> and a C compiler, a generated C program prints the kernel
 * headers' values and we compare every name the headers know (older headers
 * lack the newest names; those are checked against the literal table below).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AttachType, BpfCmd, MapType, ProgType } from "@bpfsim/core";

const header = "/usr/include/linux/bpf.h";
const cc = ["gcc", "cc", "clang"].find((c) => {
  try {
    execFileSync(c, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});
const canCompile = existsSync(header) && cc !== undefined;
if (!canCompile) console.log(`uapi: skipped header comparison: ${existsSync(header) ? "no C compiler" : "no <linux/bpf.h>"}`);

/** `MapCreate` -> `MAP_CREATE` */
const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();

const enums: [string, string, Record<string, string | number>][] = [
  ["BPF_", "bpf_cmd", BpfCmd],
  ["BPF_MAP_TYPE_", "bpf_map_type", MapType],
  ["BPF_PROG_TYPE_", "bpf_prog_type", ProgType],
  ["BPF_", "bpf_attach_type", AttachType],
];

/** C names for members whose kernel spelling is not the plain snake case. */
const special: Record<string, string> = {
  "bpf_attach_type.CgroupInetIngress": "BPF_CGROUP_INET_INGRESS",
  "bpf_attach_type.LsmMac": "BPF_LSM_MAC",
  "bpf_map_type.LpmTrie": "BPF_MAP_TYPE_LPM_TRIE",
  "bpf_prog_type.LwtSeg6local": "BPF_PROG_TYPE_LWT_SEG6LOCAL",
  "bpf_prog_type.LircMode2": "BPF_PROG_TYPE_LIRC_MODE2",
  "bpf_attach_type.LircMode2": "BPF_LIRC_MODE2",
  "bpf_attach_type.CgroupInet4Bind": "BPF_CGROUP_INET4_BIND",
  "bpf_attach_type.CgroupInet6Bind": "BPF_CGROUP_INET6_BIND",
  "bpf_attach_type.CgroupInet4Connect": "BPF_CGROUP_INET4_CONNECT",
  "bpf_attach_type.CgroupInet6Connect": "BPF_CGROUP_INET6_CONNECT",
  "bpf_attach_type.CgroupInet4PostBind": "BPF_CGROUP_INET4_POST_BIND",
  "bpf_attach_type.CgroupInet6PostBind": "BPF_CGROUP_INET6_POST_BIND",
  "bpf_attach_type.CgroupUdp4Sendmsg": "BPF_CGROUP_UDP4_SENDMSG",
  "bpf_attach_type.CgroupUdp6Sendmsg": "BPF_CGROUP_UDP6_SENDMSG",
  "bpf_attach_type.CgroupUdp4Recvmsg": "BPF_CGROUP_UDP4_RECVMSG",
  "bpf_attach_type.CgroupUdp6Recvmsg": "BPF_CGROUP_UDP6_RECVMSG",
  "bpf_attach_type.CgroupInet4Getpeername": "BPF_CGROUP_INET4_GETPEERNAME",
  "bpf_attach_type.CgroupInet6Getpeername": "BPF_CGROUP_INET6_GETPEERNAME",
  "bpf_attach_type.CgroupInet4Getsockname": "BPF_CGROUP_INET4_GETSOCKNAME",
  "bpf_attach_type.CgroupInet6Getsockname": "BPF_CGROUP_INET6_GETSOCKNAME",
};

function cName(prefix: string, en: string, member: string): string {
  return special[`${en}.${member}`] ?? prefix + snake(member);
}

describe("UAPI numbers", () => {
  it.skipIf(!canCompile)("equal the kernel headers' values", () => {
    const text = readFileSync(header, "utf8");
    const rows: [string, string, number][] = [];
    for (const [prefix, en, obj] of enums) {
      for (const [k, v] of Object.entries(obj)) {
        if (typeof v !== "number") continue;
        const name = cName(prefix, en, k);
        if (new RegExp(`\\b${name}\\b`).test(text)) rows.push([en, name, v]);
      }
    }
    const dir = mkdtempSync(join(tmpdir(), "bpfsim-uapi-"));
    const src = join(dir, "uapi.c");
    writeFileSync(
      src,
      `#include <stdio.h>\n#include <linux/bpf.h>\nint main(void){\n${rows
        .map(([, n]) => `printf("%s %d\\n", "${n}", (int)${n});`)
        .join("\n")}\nreturn 0;}\n`,
    );
    execFileSync(cc!, [src, "-o", join(dir, "uapi")]);
    const out = execFileSync(join(dir, "uapi"), { encoding: "utf8" });
    const kernel = new Map(out.trim().split("\n").map((l) => l.split(" ") as [string, string]));
    expect(rows.length).toBeGreaterThan(100);
    for (const [, name, v] of rows) expect([name, Number(kernel.get(name))]).toEqual([name, v]);
  });

  it("match the literal values of the newest kernels", () => {
    expect(BpfCmd.TokenCreate).toBe(36);
    expect(MapType.Arena).toBe(33);
    expect(MapType.LpmTrie).toBe(11);
    expect(ProgType.Netfilter).toBe(32);
    expect(AttachType.TraceUprobeMulti).toBe(48);
  });
});
