/**
 * The default scenario's XDP program, in eBPF assembly (the conformance
 * syntax of packages/loader's assembler). In C it would read:
 *
 *   struct flow_key { __u32 saddr, daddr; __u16 sport, dport; __u8 proto, v6, pad[2]; };
 *   struct flow_val { __u64 packets, bytes; };
 *   PERCPU_HASH flows (flow_key -> flow_val), ARRAY config[1] (u64 sample mask),
 *   PERF_EVENT_ARRAY events
 *
 *   SEC("xdp") int xdp_flows(struct xdp_md *ctx) {
 *     if (data + 64 > data_end) return XDP_PASS;
 *     parse Ethernet, IPv4 (IHL 5) or IPv6 -> key (IPv6: low 32 bits of each address)
 *     v = bpf_map_lookup_elem(&flows, &key);
 *     if (v) { v->packets++; v->bytes += len; n = v->packets; }
 *     else   { bpf_map_update_elem(&flows, &key, &(struct flow_val){1, len}, BPF_ANY); n = 1; }
 *     mask = config[0] ?: 63;
 *     if ((n & mask) == 1) {           // first packet of a flow, then every mask+1
 *       struct { __u32 len, cpu; __u8 hdr[56]; } s = { len, bpf_get_smp_processor_id() };
 *       memcpy(s.hdr, data, 56);
 *       bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &s, sizeof(s));
 *     }
 *     return XDP_PASS;
 *   }
 *
 * Stack: key at r10-16, new value at r10-32, sample at r10-96, config key at r10-100.
 */
export const FLOW_KEY_SIZE = 16;
export const FLOW_VALUE_SIZE = 16;
export const SAMPLE_SIZE = 64;
export const DEFAULT_SAMPLE_MASK = 63;

export function xdpFlowsAsm(fds: { flows: number; config: number; events: number }): string {
  const copyHdr = [0, 8, 16, 24, 32, 40, 48].map((o) => `ldxdw %r4, [%r2+${o}]\nstxdw [%r10-${88 - o}], %r4`).join("\n");
  return `
mov %r6, %r1
ldxw %r2, [%r6+0]
ldxw %r3, [%r6+4]
mov %r4, %r2
add %r4, 64
jgt %r4, %r3, pass
stdw [%r10-16], 0
stdw [%r10-8], 0
ldxh %r5, [%r2+12]
jeq %r5, 0x0008, ipv4
jeq %r5, 0xdd86, ipv6
ja pass
ipv4:
ldxb %r7, [%r2+23]
ldxw %r8, [%r2+26]
stxw [%r10-16], %r8
ldxw %r8, [%r2+30]
stxw [%r10-12], %r8
ldxh %r8, [%r2+34]
stxh [%r10-8], %r8
ldxh %r8, [%r2+36]
stxh [%r10-6], %r8
stxb [%r10-4], %r7
ja count
ipv6:
ldxb %r7, [%r2+20]
ldxw %r8, [%r2+34]
stxw [%r10-16], %r8
ldxw %r8, [%r2+50]
stxw [%r10-12], %r8
ldxh %r8, [%r2+54]
stxh [%r10-8], %r8
ldxh %r8, [%r2+56]
stxh [%r10-6], %r8
stxb [%r10-4], %r7
stb [%r10-3], 1
count:
mov %r9, %r3
sub %r9, %r2
lddw %r1, map_fd ${fds.flows}
mov %r2, %r10
add %r2, -16
call 1
jne %r0, 0, hit
stdw [%r10-32], 1
stxdw [%r10-24], %r9
lddw %r1, map_fd ${fds.flows}
mov %r2, %r10
add %r2, -16
mov %r3, %r10
add %r3, -32
mov %r4, 0
call 2
mov %r7, 1
ja sample
hit:
ldxdw %r7, [%r0+0]
add %r7, 1
stxdw [%r0+0], %r7
ldxdw %r8, [%r0+8]
add %r8, %r9
stxdw [%r0+8], %r8
sample:
stw [%r10-100], 0
lddw %r1, map_fd ${fds.config}
mov %r2, %r10
add %r2, -100
call 1
mov %r8, ${DEFAULT_SAMPLE_MASK}
jeq %r0, 0, havemask
ldxdw %r8, [%r0+0]
jne %r8, 0, havemask
mov %r8, ${DEFAULT_SAMPLE_MASK}
havemask:
and %r7, %r8
jne %r7, 1, pass
call 8
stxw [%r10-92], %r0
stxw [%r10-96], %r9
ldxw %r2, [%r6+0]
ldxw %r3, [%r6+4]
mov %r4, %r2
add %r4, 64
jgt %r4, %r3, pass
${copyHdr}
mov %r1, %r6
lddw %r2, map_fd ${fds.events}
lddw %r3, 0xffffffff
mov %r4, %r10
add %r4, -96
mov %r5, ${SAMPLE_SIZE}
call 25
pass:
mov %r0, 2
exit
`;
}
