/** Direct packet access: ranges learned from comparisons with data_end. */
import * as a from "./asm.js";
import { category, ret0, XDP, TC, SOCKET, ARRAY8, lookupChecked } from "./corpus-util.js";

const { ok, bad } = category("packet");
const X = { progType: XDP };
const T = { progType: TC };

/** r2 = data, r3 = data_end (xdp_md); for tc the __sk_buff offsets 76/80. */
const xdpPtrs: a.Slot[] = [a.ldx("w", 2, 1, 0), a.ldx("w", 3, 1, 4)];
const tcPtrs: a.Slot[] = [a.ldx("w", 2, 1, 76), a.ldx("w", 3, 1, 80)];
/** r4 = r2 + n; if r4 > r3 goto out (skip `body` then return 0). */
const guard = (n: number, body: a.Slot[]): a.Slot[] => [a.movr(4, 2), a.add(4, n), a.jmpr("jgt", 4, 3, body.length), ...body, ...ret0];

export const pktCases = [
  bad("read without check", "invalid access to packet, off=0 size=1", [...xdpPtrs, a.ldx("b", 0, 2, 0), a.exit()], X),
  ok("read inside checked range", [...xdpPtrs, ...guard(14, [a.ldx("b", 0, 2, 13)])], X),
  bad("read one past checked range", "invalid access to packet, off=14 size=1", [...xdpPtrs, ...guard(14, [a.ldx("b", 0, 2, 14)])], X),
  ok("dword read inside range", [...xdpPtrs, ...guard(16, [a.ldx("dw", 0, 2, 8)])], X),
  bad("dword straddling range end", "invalid access to packet", [...xdpPtrs, ...guard(14, [a.ldx("dw", 0, 2, 8)])], X),
  ok("write inside range", [...xdpPtrs, ...guard(8, [a.st("w", 2, 4, 0)])], X),
  ok("access through the checked pointer", [...xdpPtrs, ...guard(14, [a.ldx("b", 0, 4, -1)])], X),
  bad("access on the taken edge", "invalid access to packet", [
    ...xdpPtrs, a.movr(4, 2), a.add(4, 14), a.jmpr("jgt", 4, 3, 2), a.mov(0, 0), a.exit(), a.ldx("b", 0, 2, 0), a.exit(),
  ], X),
  ok("data_end < data+n form", [
    ...xdpPtrs, a.movr(4, 2), a.add(4, 14), a.jmpr("jlt", 3, 4, 1), a.ldx("b", 0, 2, 13), ...ret0,
  ], X),
  ok("data+n <= data_end taken edge", [
    ...xdpPtrs, a.movr(4, 2), a.add(4, 14), a.jmpr("jle", 4, 3, 2), a.mov(0, 0), a.exit(), a.ldx("b", 0, 2, 13), a.exit(),
  ], X),
  ok("data_end >= data+n taken edge", [
    ...xdpPtrs, a.movr(4, 2), a.add(4, 14), a.jmpr("jge", 3, 4, 2), a.mov(0, 0), a.exit(), a.ldx("b", 0, 2, 13), a.exit(),
  ], X),
  ok("data+n >= data_end fall-through", [
    ...xdpPtrs, a.movr(4, 2), a.add(4, 14), a.jmpr("jge", 4, 3, 1), a.ldx("b", 0, 2, 12), ...ret0,
  ], X),
  ok("data+n < data_end taken edge", [
    ...xdpPtrs, a.movr(4, 2), a.add(4, 14), a.jmpr("jlt", 4, 3, 2), a.mov(0, 0), a.exit(), a.ldx("b", 0, 2, 12), a.exit(),
  ], X),
  ok("copy made before the check", [...xdpPtrs, a.movr(5, 2), ...guard(14, [a.ldx("b", 0, 5, 13)])], X),
  bad("variable offset without check", "invalid access to packet", [
    ...xdpPtrs, ...guard(14, [a.ldx("b", 5, 2, 0), a.addr(2, 5), a.ldx("b", 0, 2, 0)]),
  ], X),
  ok("variable offset then check", [
    ...xdpPtrs, a.movr(4, 2), a.add(4, 1), a.jmpr("jgt", 4, 3, 7), a.ldx("b", 5, 2, 0), a.addr(2, 5), a.movr(4, 2), a.add(4, 4),
    a.jmpr("jgt", 4, 3, 1), a.ldx("w", 0, 2, 0), a.mov(0, 0), ...ret0,
  ], X),
  bad("unbounded offset on packet", "math between pkt pointer and register with unbounded min value is not allowed", [
    a.movr(6, 1), ...lookupChecked(0), a.ldx("dw", 5, 0, 0), a.ldx("w", 2, 6, 0), a.addr(2, 5), ...ret0,
  ], { ...X, maps: [ARRAY8] }),
  bad("arithmetic on data_end", "R3 pointer arithmetic on pkt_end prohibited", [...xdpPtrs, a.add(3, 1), ...ret0], X),
  bad("deref data_end", "R3 invalid mem access 'pkt_end'", [...xdpPtrs, a.ldx("b", 0, 3, 0), a.exit()], X),
  ok("data_meta before data", [
    a.ldx("w", 2, 1, 8), a.ldx("w", 3, 1, 0), a.movr(4, 2), a.add(4, 4), a.jmpr("jgt", 4, 3, 1), a.ldx("w", 0, 2, 0), ...ret0,
  ], X),
  bad("data_meta without check", "invalid access to packet", [a.ldx("w", 2, 1, 8), a.ldx("w", 0, 2, 0), a.exit()], X),
  bad("jmp32 compare gives no range", "invalid access to packet", [
    ...xdpPtrs, a.movr(4, 2), a.add(4, 14), a.jmp32r("jgt", 4, 3, 1), a.ldx("b", 0, 2, 0), ...ret0,
  ], X),
  ok("tc reads packet", [...tcPtrs, ...guard(14, [a.ldx("h", 0, 2, 12)])], T),
  ok("tc writes packet", [...tcPtrs, ...guard(14, [a.st("h", 2, 12, 8)])], T),
  bad("socket filter has no packet pointers", "invalid bpf_context access off=76 size=4", [...tcPtrs, ...ret0], { progType: SOCKET }),
  bad("strict alignment: ip_align", "misaligned packet access off 2+0+0+0 size 4", [...xdpPtrs, ...guard(14, [a.ldx("w", 0, 2, 0)])], { ...X, strict: true }),
  ok("strict alignment: aligned after ip_align", [...xdpPtrs, ...guard(14, [a.ldx("w", 0, 2, 2)])], { ...X, strict: true }),
  ok("no strict alignment: unaligned ok", [...xdpPtrs, ...guard(14, [a.ldx("w", 0, 2, 1)])], X),
  bad("strict alignment: map value", "misaligned value access off 0+1+0 size 4", [...lookupChecked(0), a.add(0, 1), a.ldx("w", 0, 0, 0), a.exit()], { maps: [ARRAY8], strict: true }),
  ok("no strict alignment: map value", [...lookupChecked(0), a.add(0, 1), a.ldx("w", 0, 0, 0), a.exit()], { maps: [ARRAY8] }),
  ok("pkt compare with scalar when privileged", [...xdpPtrs, a.jmpi("jeq", 2, 0, 0), ...ret0], X),
  ok("packet pointer spilled and filled", [...xdpPtrs, ...guard(8, [a.stx("dw", 10, -8, 2), a.ldx("dw", 5, 10, -8), a.ldx("b", 0, 5, 7)])], X),
];
