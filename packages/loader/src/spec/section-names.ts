import { AttachType, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, ProgType } from "@bpfsim/core";

/**
 * libbpf's program section-name conventions, as a table.
 *
 * A section name selects the program type, the expected attach type, load
 * flags and, after a `/`, an attach point. Matching follows libbpf:
 *   - `name+`  matches `name` exactly or `name/<anything>` (the attach point);
 *   - `name/`  matches any `name/<anything>`;
 *   - otherwise the section name must be equal.
 * The first matching row wins, so more specific rows come first. A section
 * matching no row still yields a program of type Unspec (libbpf keeps it
 * so that the user can set the type by hand).
 */

export interface SectionDef {
  /** libbpf's SEC_DEF pattern. */
  pattern: string;
  type: ProgType;
  expectedAttachType: number;
  /** BPF_PROG_LOAD prog_flags implied by the name (sleepable, XDP frags). */
  progFlags: number;
}

const S = BPF_F_SLEEPABLE;
const F = BPF_F_XDP_HAS_FRAGS;
const P = ProgType;
const A = AttachType;

const def = (pattern: string, type: ProgType, expectedAttachType = 0, progFlags = 0): SectionDef => ({
  pattern,
  type,
  expectedAttachType,
  progFlags,
});

/** The table, in libbpf's order. */
export const sectionDefs: readonly SectionDef[] = [
  def("socket", P.SocketFilter),
  def("sk_reuseport/migrate", P.SkReuseport, A.SkReuseportSelectOrMigrate),
  def("sk_reuseport", P.SkReuseport, A.SkReuseportSelect),
  def("kprobe+", P.Kprobe),
  def("uprobe+", P.Kprobe),
  def("uprobe.s+", P.Kprobe, 0, S),
  def("kretprobe+", P.Kprobe),
  def("uretprobe+", P.Kprobe),
  def("uretprobe.s+", P.Kprobe, 0, S),
  def("kprobe.multi+", P.Kprobe, A.TraceKprobeMulti),
  def("kretprobe.multi+", P.Kprobe, A.TraceKprobeMulti),
  def("kprobe.session+", P.Kprobe, A.TraceKprobeSession),
  def("uprobe.multi+", P.Kprobe, A.TraceUprobeMulti),
  def("uretprobe.multi+", P.Kprobe, A.TraceUprobeMulti),
  def("uprobe.multi.s+", P.Kprobe, A.TraceUprobeMulti, S),
  def("uretprobe.multi.s+", P.Kprobe, A.TraceUprobeMulti, S),
  def("uprobe.session+", P.Kprobe, A.TraceUprobeSession),
  def("uprobe.session.s+", P.Kprobe, A.TraceUprobeSession, S),
  def("ksyscall+", P.Kprobe),
  def("kretsyscall+", P.Kprobe),
  def("usdt+", P.Kprobe),
  def("usdt.s+", P.Kprobe, 0, S),
  def("tc/ingress", P.SchedCls, A.TcxIngress),
  def("tc/egress", P.SchedCls, A.TcxEgress),
  def("tcx/ingress", P.SchedCls, A.TcxIngress),
  def("tcx/egress", P.SchedCls, A.TcxEgress),
  def("netkit/primary", P.SchedCls, A.NetkitPrimary),
  def("netkit/peer", P.SchedCls, A.NetkitPeer),
  def("tc", P.SchedCls),
  def("classifier", P.SchedCls),
  def("action", P.SchedAct),
  def("tracepoint+", P.Tracepoint),
  def("tp+", P.Tracepoint),
  def("tracepoint.s+", P.Tracepoint, 0, S),
  def("tp.s+", P.Tracepoint, 0, S),
  def("raw_tracepoint+", P.RawTracepoint),
  def("raw_tp+", P.RawTracepoint),
  def("raw_tracepoint.s+", P.RawTracepoint, 0, S),
  def("raw_tp.s+", P.RawTracepoint, 0, S),
  def("raw_tracepoint.w+", P.RawTracepointWritable),
  def("raw_tp.w+", P.RawTracepointWritable),
  def("tp_btf+", P.Tracing, A.TraceRawTp),
  def("tp_btf.s+", P.Tracing, A.TraceRawTp, S),
  def("fentry+", P.Tracing, A.TraceFentry),
  def("fmod_ret+", P.Tracing, A.ModifyReturn),
  def("fexit+", P.Tracing, A.TraceFexit),
  def("fentry.s+", P.Tracing, A.TraceFentry, S),
  def("fmod_ret.s+", P.Tracing, A.ModifyReturn, S),
  def("fexit.s+", P.Tracing, A.TraceFexit, S),
  def("freplace+", P.Ext),
  def("lsm+", P.Lsm, A.LsmMac),
  def("lsm.s+", P.Lsm, A.LsmMac, S),
  def("lsm_cgroup+", P.Lsm, A.LsmCgroup),
  def("iter+", P.Tracing, A.TraceIter),
  def("iter.s+", P.Tracing, A.TraceIter, S),
  def("syscall", P.Syscall, 0, S),
  def("xdp.frags/devmap", P.Xdp, A.XdpDevmap, F),
  def("xdp/devmap", P.Xdp, A.XdpDevmap),
  def("xdp.frags/cpumap", P.Xdp, A.XdpCpumap, F),
  def("xdp/cpumap", P.Xdp, A.XdpCpumap),
  def("xdp.frags", P.Xdp, A.Xdp, F),
  def("xdp", P.Xdp, A.Xdp),
  def("perf_event", P.PerfEvent),
  def("lwt_in", P.LwtIn),
  def("lwt_out", P.LwtOut),
  def("lwt_xmit", P.LwtXmit),
  def("lwt_seg6local", P.LwtSeg6local),
  def("sockops", P.SockOps, A.CgroupSockOps),
  def("sk_skb/stream_parser", P.SkSkb, A.SkSkbStreamParser),
  def("sk_skb/stream_verdict", P.SkSkb, A.SkSkbStreamVerdict),
  def("sk_skb/verdict", P.SkSkb, A.SkSkbVerdict),
  def("sk_skb", P.SkSkb),
  def("sk_msg", P.SkMsg, A.SkMsgVerdict),
  def("lirc_mode2", P.LircMode2, A.LircMode2),
  def("flow_dissector", P.FlowDissector, A.FlowDissector),
  def("cgroup_skb/ingress", P.CgroupSkb, A.CgroupInetIngress),
  def("cgroup_skb/egress", P.CgroupSkb, A.CgroupInetEgress),
  def("cgroup/skb", P.CgroupSkb),
  def("cgroup/sock_create", P.CgroupSock, A.CgroupInetSockCreate),
  def("cgroup/sock_release", P.CgroupSock, A.CgroupInetSockRelease),
  def("cgroup/sock", P.CgroupSock, A.CgroupInetSockCreate),
  def("cgroup/post_bind4", P.CgroupSock, A.CgroupInet4PostBind),
  def("cgroup/post_bind6", P.CgroupSock, A.CgroupInet6PostBind),
  def("cgroup/bind4", P.CgroupSockAddr, A.CgroupInet4Bind),
  def("cgroup/bind6", P.CgroupSockAddr, A.CgroupInet6Bind),
  def("cgroup/connect4", P.CgroupSockAddr, A.CgroupInet4Connect),
  def("cgroup/connect6", P.CgroupSockAddr, A.CgroupInet6Connect),
  def("cgroup/connect_unix", P.CgroupSockAddr, A.CgroupUnixConnect),
  def("cgroup/sendmsg4", P.CgroupSockAddr, A.CgroupUdp4Sendmsg),
  def("cgroup/sendmsg6", P.CgroupSockAddr, A.CgroupUdp6Sendmsg),
  def("cgroup/sendmsg_unix", P.CgroupSockAddr, A.CgroupUnixSendmsg),
  def("cgroup/recvmsg4", P.CgroupSockAddr, A.CgroupUdp4Recvmsg),
  def("cgroup/recvmsg6", P.CgroupSockAddr, A.CgroupUdp6Recvmsg),
  def("cgroup/recvmsg_unix", P.CgroupSockAddr, A.CgroupUnixRecvmsg),
  def("cgroup/getpeername4", P.CgroupSockAddr, A.CgroupInet4Getpeername),
  def("cgroup/getpeername6", P.CgroupSockAddr, A.CgroupInet6Getpeername),
  def("cgroup/getpeername_unix", P.CgroupSockAddr, A.CgroupUnixGetpeername),
  def("cgroup/getsockname4", P.CgroupSockAddr, A.CgroupInet4Getsockname),
  def("cgroup/getsockname6", P.CgroupSockAddr, A.CgroupInet6Getsockname),
  def("cgroup/getsockname_unix", P.CgroupSockAddr, A.CgroupUnixGetsockname),
  def("cgroup/sysctl", P.CgroupSysctl, A.CgroupSysctl),
  def("cgroup/getsockopt", P.CgroupSockopt, A.CgroupGetsockopt),
  def("cgroup/setsockopt", P.CgroupSockopt, A.CgroupSetsockopt),
  def("cgroup/dev", P.CgroupDevice, A.CgroupDevice),
  def("struct_ops+", P.StructOps),
  def("struct_ops.s+", P.StructOps, 0, S),
  def("sk_lookup", P.SkLookup, A.SkLookup),
  def("netfilter", P.Netfilter, A.Netfilter),
];

export interface SectionMatch {
  def: SectionDef | undefined;
  /** Text after `<prefix>/` for `+` and `/` patterns, e.g. the kprobe's function. */
  attachTo: string;
}

function matches(pattern: string, name: string): boolean {
  if (pattern.endsWith("/")) return name.startsWith(pattern);
  if (pattern.endsWith("+")) {
    const p = pattern.slice(0, -1);
    return name === p || name.startsWith(`${p}/`);
  }
  return name === pattern;
}

/** Looks a section name up in the libbpf table. */
export function matchSection(sectionName: string): SectionMatch {
  for (const d of sectionDefs) {
    if (!matches(d.pattern, sectionName)) continue;
    const prefix = d.pattern.replace(/[+/]$/, "");
    const attachTo = d.pattern.endsWith("+") || d.pattern.endsWith("/") ? sectionName.slice(prefix.length + 1) : "";
    return { def: d, attachTo };
  }
  return { def: undefined, attachTo: "" };
}
