// Kernel oracle for BPF_MAP_TYPE_PERF_EVENT_ARRAY's syscall-side errno.
// Prints "name errno" lines (0 = success). Built and run by perf-array-oracle.test.ts.
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }

static int create(unsigned ks, unsigned vs, unsigned max, unsigned flags) {
  union bpf_attr a; memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY; a.key_size = ks; a.value_size = vs; a.max_entries = max; a.map_flags = flags;
  return bpf(BPF_MAP_CREATE, &a);
}
static int elem(int cmd, int fd, unsigned key, unsigned *val, unsigned long long flags) {
  union bpf_attr a; memset(&a, 0, sizeof(a));
  a.map_fd = fd; a.key = (unsigned long)&key; a.value = (unsigned long)val; a.flags = flags;
  return bpf(cmd, &a);
}
#define R(name, expr) do { long r = (expr); printf("%s %d\n", name, r < 0 ? errno : 0); } while (0)

int main(void) {
  R("create_ok", create(4, 4, 2, 0));
  R("create_max0", create(4, 4, 0, 0));
  R("create_value8", create(4, 8, 2, 0));
  R("create_key8", create(8, 4, 2, 0));
  R("create_mmapable", create(4, 4, 2, BPF_F_MMAPABLE));
  int fd = create(4, 4, 2, 0);
  int other = create(4, 4, 2, 0);
  struct perf_event_attr pa; memset(&pa, 0, sizeof(pa));
  pa.size = sizeof(pa); pa.type = PERF_TYPE_SOFTWARE; pa.config = PERF_COUNT_SW_BPF_OUTPUT; pa.sample_type = PERF_SAMPLE_RAW; pa.sample_period = 1; pa.wakeup_events = 1;
  int pfd = syscall(__NR_perf_event_open, &pa, -1, 0, -1, 0);
  if (pfd < 0) { printf("perf_event_open %d\n", errno); return 0; }
  unsigned v = pfd, out = 0, mapv = other;
  R("update_ok", elem(BPF_MAP_UPDATE_ELEM, fd, 0, &v, BPF_ANY));
  R("update_noexist", elem(BPF_MAP_UPDATE_ELEM, fd, 1, &v, BPF_NOEXIST));
  R("update_range", elem(BPF_MAP_UPDATE_ELEM, fd, 2, &v, BPF_ANY));
  R("update_mapfd", elem(BPF_MAP_UPDATE_ELEM, fd, 1, &mapv, BPF_ANY));
  R("lookup", elem(BPF_MAP_LOOKUP_ELEM, fd, 0, &out, 0));
  R("delete_ok", elem(BPF_MAP_DELETE_ELEM, fd, 0, 0, 0));
  R("delete_empty", elem(BPF_MAP_DELETE_ELEM, fd, 0, 0, 0));
  R("delete_range", elem(BPF_MAP_DELETE_ELEM, fd, 5, 0, 0));
  return 0;
}
