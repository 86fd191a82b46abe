// Kernel oracle for link and attach errno (BPF_LINK_CREATE, BPF_PROG_ATTACH/DETACH,
// BPF_RAW_TRACEPOINT_OPEN, BPF_LINK_DETACH). Prints "name errno" lines (0 = success).
// Run by link-oracle.test.ts inside a fresh network namespace (unshare -n), so the
// programs attach to that namespace's loopback, never the host's.
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static long bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }
static int load(int type, int eat) {
  struct bpf_insn insns[2] = { { .code = 0xb7, .dst_reg = 0, .imm = type == BPF_PROG_TYPE_XDP ? 2 : 0 }, { .code = 0x95 } };
  union bpf_attr a; memset(&a, 0, sizeof(a));
  a.prog_type = type; a.insns = (unsigned long)insns; a.insn_cnt = 2; a.license = (unsigned long)"GPL"; a.expected_attach_type = eat;
  return bpf(BPF_PROG_LOAD, &a);
}
#define R(name, expr) do { long r = (expr); printf("%s %d\n", name, r < 0 ? errno : 0); } while (0)
static int lc(int prog, int ifindex, int at, int flags) { union bpf_attr a; memset(&a, 0, sizeof(a)); a.link_create.prog_fd = prog; a.link_create.target_ifindex = ifindex; a.link_create.attach_type = at; a.link_create.flags = flags; return bpf(BPF_LINK_CREATE, &a); }
static int pa(int cmd, int prog, int ifindex, int at) { union bpf_attr a; memset(&a, 0, sizeof(a)); a.target_fd = ifindex; a.attach_bpf_fd = prog; a.attach_type = at; return bpf(cmd, &a); }
int main(void) {
  int xp = load(BPF_PROG_TYPE_XDP, BPF_XDP), sp = load(BPF_PROG_TYPE_SOCKET_FILTER, 0), cp = load(BPF_PROG_TYPE_SCHED_CLS, 46), rp = load(BPF_PROG_TYPE_RAW_TRACEPOINT, 0);
  int l = lc(xp, 1, BPF_XDP, 0);
  R("xdp_first", l);
  R("xdp_second", lc(xp, 1, BPF_XDP, 0));
  R("xdp_wrong_type", lc(sp, 1, BPF_XDP, 0));
  R("xdp_bad_fd", lc(99, 1, BPF_XDP, 0));
  R("xdp_flags", lc(xp, 1, BPF_XDP, 1 << 20));
  R("xdp_no_dev", lc(xp, 9999, BPF_XDP, 0));
  R("tcx_attach", pa(BPF_PROG_ATTACH, cp, 1, 46));
  R("tcx_attach_again", pa(BPF_PROG_ATTACH, cp, 1, 46));
  R("tcx_detach", pa(BPF_PROG_DETACH, cp, 1, 46));
  R("tcx_detach_again", pa(BPF_PROG_DETACH, cp, 1, 46));
  union bpf_attr a; memset(&a, 0, sizeof(a)); a.raw_tracepoint.name = (unsigned long)""; a.raw_tracepoint.prog_fd = rp;
  R("raw_empty", bpf(BPF_RAW_TRACEPOINT_OPEN, &a));
  memset(&a, 0, sizeof(a)); a.raw_tracepoint.name = (unsigned long)"no_such_tp_xyz"; a.raw_tracepoint.prog_fd = rp;
  R("raw_unknown", bpf(BPF_RAW_TRACEPOINT_OPEN, &a));
  memset(&a, 0, sizeof(a)); a.link_detach.link_fd = l;
  R("detach", bpf(BPF_LINK_DETACH, &a));
  R("detach_again", bpf(BPF_LINK_DETACH, &a));
  R("detach_prog_fd", ({ memset(&a, 0, sizeof(a)); a.link_detach.link_fd = xp; bpf(BPF_LINK_DETACH, &a); }));
  return 0;
}
