/**
 * BPF_PROG_TEST_RUN semantics per program type, bpfsim against the kernel:
 * default skb fields, ctx_in/ctx_out rules, XDP metadata, ENOSPC, flags and
 * cpu checks, types without test_run.
 */
import { describe, expect, it } from "vitest";
import { ProgType, SkBuff as S, XdpMd } from "@bpfsim/core";
import { kernelSession, kernelUnavailable, simSession } from "./oracle.js";
import { addi, call, exit, hexOf, ldx, mov, movr, progHex, st, stx } from "./insns.js";
import { insn } from "@bpfsim/core";

if (kernelUnavailable) console.log(`test-run-kernel: kernel comparison skipped: ${kernelUnavailable}`);

const ipv4 = "00112233445566778899aabb0800" + "450000280001000040060000c0a80001c0a80002" + "0102030405060708";
const eth = (proto: string, n: number) => "ffffffffffff" + "020000000001" + proto + "ab".repeat(n);
const ctx = (size: number, fields: [number, number][]): string => {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [off, v] of fields) dv.setUint32(off, v, true);
  return hexOf(b);
};
const ret = (off: number) => progHex(ldx(4, 0, 1, off), exit());

const lines: string[] = [];
const named: [string, number][] = [];
let nprog = 0;
function load(type: number, hexInsns: string): number {
  lines.push(`load ${type} 0 GPL 0 0 ${hexInsns}`);
  return nprog++;
}
function run(name: string, p: number, data: string, dso = 256, repeat = 1, ctxIn = "-", cso = 0, flags = 0, cpu = 0): void {
  named.push([name, lines.length]);
  lines.push(`run ${p} ${data} ${dso} ${repeat} ${ctxIn} ${cso} ${flags} ${cpu}`);
}

// skb defaults, read by tc and by socket filters
for (const [type, tname] of [[ProgType.SchedCls, "tc"], [ProgType.SocketFilter, "sk_filter"]] as const) {
  for (const f of ["len", "pkt_type", "mark", "queue_mapping", "protocol", "vlan_present", "vlan_tci", "priority", "ingress_ifindex", "ifindex", "tc_index", "hash", "napi_id", "gso_segs", "gso_size"] as const) {
    const p = load(type, ret(S[f]));
    run(`${tname} reads ${f} (ipv4)`, p, ipv4);
    run(`${tname} reads ${f} (802.3)`, p, eth("0010", 40));
  }
}
if (true) {
  const p = load(ProgType.SchedCls, ret(S.wire_len));
  run("tc wire_len", p, ipv4);
  const pm = load(ProgType.SchedCls, ret(S.mark));
  run("tc ctx_in mark", pm, ipv4, 256, 1, ctx(192, [[S.mark, 77], [S.priority, 3], [S.cb, 9]]), 192);
  run("tc ctx_in len is not settable", pm, ipv4, 256, 1, ctx(192, [[S.len, 1]]), 192);
  run("tc ctx_in ifindex 1", pm, ipv4, 256, 1, ctx(192, [[S.ifindex, 1]]), 192);
  run("tc ctx_in ifindex 7: ENODEV", pm, ipv4, 256, 1, ctx(192, [[S.ifindex, 7]]), 192);
  run("tc ctx_out too small: ENOSPC", pm, ipv4, 256, 1, ctx(192, [[S.mark, 1]]), 100);
  run("tc ctx_out only", pm, ipv4, 256, 1, "-", 192);
  run("tc wire_len below len: EINVAL", pm, ipv4, 256, 1, ctx(192, [[S.wire_len, 3]]), 192);
  run("tc flags: EINVAL", pm, ipv4, 256, 1, "-", 0, 1, 0);
  run("tc cpu: EINVAL", pm, ipv4, 256, 1, "-", 0, 0, 1);
  run("tc data too short: EINVAL", pm, "00112233445566778899aa");
  run("tc short ipv4: EINVAL", pm, eth("0800", 10));
  run("tc data_out too small: ENOSPC", pm, ipv4, 20);
  run("tc repeat", pm, ipv4, 256, 7);
  // Stores through a register: bpfsim's verifier still refuses BPF_ST into the context, which Linux 6.18 allows.
  const pw = load(ProgType.SchedCls, progHex(mov(2, 0x1234), stx(4, 1, 2, S.mark), mov(2, 5), stx(4, 1, 2, S.priority), mov(2, 6), stx(4, 1, 2, S.cb + 4), mov(0, 0), exit()));
  run("tc writes mark, priority, cb[1] into ctx_out", pw, ipv4, 256, 1, ctx(192, [[S.mark, 1]]), 192);
  const pkt = load(ProgType.SchedCls, progHex(ldx(4, 2, 1, S.data), ldx(4, 3, 1, S.data_end), movr(0, 3), insn(0x1f, 0, 2, 0, 0), exit()));
  run("tc data_end - data", pkt, ipv4);
}
// XDP
if (true) {
  const meta = load(ProgType.Xdp, progHex(ldx(4, 2, 1, XdpMd.data_meta), ldx(4, 3, 1, XdpMd.data), movr(0, 3), insn(0x1f, 0, 2, 0, 0), exit()));
  const len = eth("0800", 40).length / 2;
  run("xdp no ctx: no metadata", meta, eth("0800", 40));
  run("xdp meta 8", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data, 8], [XdpMd.data_end, len]]), 24);
  run("xdp meta 32", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data, 32], [XdpMd.data_end, len]]), 24);
  run("xdp meta 36", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data, 36], [XdpMd.data_end, len]]), 24);
  run("xdp meta 6: EINVAL", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data, 6], [XdpMd.data_end, len]]), 24);
  run("xdp data_end one short", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data_end, len - 1]]), 24);
  run("xdp data_meta set: EINVAL", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data_meta, 4], [XdpMd.data_end, len]]), 24);
  run("xdp egress_ifindex: EINVAL", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data_end, len], [XdpMd.egress_ifindex, 1]]), 24);
  run("xdp rx queue without ifindex: EINVAL", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data_end, len], [XdpMd.rx_queue_index, 1]]), 24);
  run("xdp ingress lo", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data_end, len], [XdpMd.ingress_ifindex, 1]]), 24);
  run("xdp ingress 9: ENODEV", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data_end, len], [XdpMd.ingress_ifindex, 9]]), 24);
  run("xdp data_out too small: ENOSPC", meta, eth("0800", 40), 10);
  run("xdp flags ON_CPU: EINVAL", meta, eth("0800", 40), 256, 1, "-", 0, 1, 0);
  run("xdp data too short", meta, "0011");
  const ing = load(ProgType.Xdp, ret(XdpMd.ingress_ifindex));
  run("xdp ingress_ifindex default", ing, eth("0800", 40));
  const rxq = load(ProgType.Xdp, ret(XdpMd.rx_queue_index));
  run("xdp rx_queue_index default", rxq, eth("0800", 40));
  const big = load(ProgType.Xdp, progHex(mov(0, 2), exit()));
  run("xdp largest linear frame", big, "00".repeat(3520), 4096);
  run("xdp frame past one page: fragments", meta, "ab".repeat(3600), 4096);
  run("xdp data_end before size: fragments", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data, 8], [XdpMd.data_end, 20]]), 24);
  run("xdp data_end past size: EINVAL", meta, eth("0800", 40), 256, 1, ctx(24, [[XdpMd.data_end, len + 1]]), 24);
  run("xdp meta 216", meta, eth("0800", 240), 512, 1, ctx(24, [[XdpMd.data, 216], [XdpMd.data_end, len + 200]]), 24);
  run("xdp meta 220: EINVAL", meta, eth("0800", 240), 512, 1, ctx(24, [[XdpMd.data, 220], [XdpMd.data_end, len + 200]]), 24);
}
// packet helpers
if (true) {
  const adj = (id: number, delta: number) => progHex(movr(6, 1), mov(2, delta), call(id), movr(7, 0), ldx(4, 2, 6, XdpMd.data), ldx(4, 3, 6, XdpMd.data_end), movr(0, 3), insn(0x1f, 0, 2, 0, 0), insn(0x67, 7, 0, 0, 16), insn(0x0f, 0, 7, 0, 0), exit());
  for (const d of [-14, -40, -300, 14, 26, 27]) {
    const p = load(ProgType.Xdp, adj(44, d));
    run(`xdp_adjust_head ${d}`, p, eth("0800", 26), 512);
    run(`xdp_adjust_head ${d} with metadata`, p, eth("0800", 26), 512, 1, ctx(24, [[XdpMd.data, 8], [XdpMd.data_end, 40]]), 24);
  }
  for (const d of [-10, -27, 8, 100, 3600]) {
    const p = load(ProgType.Xdp, adj(65, d));
    run(`xdp_adjust_tail ${d}`, p, eth("0800", 26), 4096);
  }
  for (const [flags, type] of [[0, ProgType.Xdp], [1, ProgType.Xdp], [0, ProgType.SchedCls], [1, ProgType.SchedCls], [2, ProgType.SchedCls]] as const) {
    const p = load(type, progHex(mov(1, 1), mov(2, flags), call(23), exit()));
    run(`redirect flags ${flags} type ${type}`, p, ipv4);
  }
  for (const [type, off, len] of [[ProgType.SocketFilter, 0, 8], [ProgType.SocketFilter, 20, 8], [ProgType.SocketFilter, 21, 8], [ProgType.SchedCls, 0, 16], [ProgType.SchedCls, 40, 2], [ProgType.SchedCls, -1, 4]] as const) {
    const p = load(type, progHex(st(8, 10, -16, 0x77), st(8, 10, -8, 0x77), movr(6, 1), mov(2, off), movr(3, 10), addi(3, -16), mov(4, len), call(26), movr(7, 0), ldx(4, 0, 10, -16), insn(0xaf, 0, 7, 0, 0), exit()));
    run(`skb_load_bytes type ${type} off ${off} len ${len}`, p, ipv4);
  }
}
// types without test_run, raw tracepoints, syscall programs
if (true) {
  for (const t of [ProgType.Kprobe, ProgType.Tracepoint, ProgType.PerfEvent]) {
    const p = load(t, progHex(mov(0, 0), exit()));
    run(`type ${t}: ENOTSUPP`, p, "-", 0, 0);
  }
  const raw = load(ProgType.RawTracepoint, progHex(ldx(8, 0, 1, 8), exit()));
  const args = "0700000000000000" + "0900000000000000";
  run("raw_tp args", raw, "-", 0, 0, args);
  run("raw_tp on cpu 1", raw, "-", 0, 0, args, 0, 1, 1);
  run("raw_tp cpu without flag: EINVAL", raw, "-", 0, 0, args, 0, 0, 1);
  run("raw_tp cpu out of range: ENXIO", raw, "-", 0, 0, args, 0, 1, 4096);
  run("raw_tp repeat: EINVAL", raw, "-", 0, 3, args);
  run("raw_tp data_in: EINVAL", raw, "00".repeat(20), 0, 0, args);
  run("raw_tp ctx too big: EINVAL", raw, "-", 0, 0, "00".repeat(104));
}

describe.skipIf(!!kernelUnavailable)("BPF_PROG_TEST_RUN against the kernel", () => {
  const kern = kernelUnavailable ? [] : kernelSession(lines);
  const sim = simSession(lines);
  it("every program loads on both", () => {
    const loads = lines.flatMap((l, i) => (l.startsWith("load") ? [[kern[i]!.split(" ")[0]!.startsWith("-"), sim[i]!.split(" ")[0]!.startsWith("-")]] : []));
    expect(loads.filter(([k, s]) => k || s)).toEqual([]);
  });
  it.each(named)("%s", (_name, i) => {
    const [kr, ...krest] = kern[i]!.split(" ");
    const [sr, ...srest] = sim[i]!.split(" ");
    expect(sr).toBe(kr);
    if (kr === "0" || kr === "-28") expect(srest.join(" ")).toBe(krest.join(" "));
  });
});
