/*
 * Kernel oracle for bpfsim's hash map family. Prints one "name value" line
 * per fact: errno of map creation for edge-case attributes, errno of element
 * operations, get_next_key order with BPF_F_ZERO_SEED, LRU eviction, and the
 * memlock figure the kernel reports in fdinfo. Needs root.
 *
 *   gcc -O2 -o hash-probe scripts/maps/hash-probe.c && ./hash-probe
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sched.h>

static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }

static int create(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type; a.key_size = ks; a.value_size = vs; a.max_entries = max; a.map_flags = flags;
  int fd = sys_bpf(BPF_MAP_CREATE, &a);
  return fd < 0 ? -errno : fd;
}

static int update(int fd, const void *k, const void *v, uint64_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd; a.key = (uintptr_t)k; a.value = (uintptr_t)v; a.flags = flags;
  return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0 ? -errno : 0;
}

static int lookup(int fd, const void *k, void *v, uint64_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd; a.key = (uintptr_t)k; a.value = (uintptr_t)v; a.flags = flags;
  return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) < 0 ? -errno : 0;
}

static int del(int fd, const void *k) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd; a.key = (uintptr_t)k;
  return sys_bpf(BPF_MAP_DELETE_ELEM, &a) < 0 ? -errno : 0;
}

static int next_key(int fd, const void *k, void *nk) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd; a.key = (uintptr_t)k; a.next_key = (uintptr_t)nk;
  return sys_bpf(BPF_MAP_GET_NEXT_KEY, &a) < 0 ? -errno : 0;
}

static int lookup_and_delete(int fd, const void *k, void *v, uint64_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd; a.key = (uintptr_t)k; a.value = (uintptr_t)v; a.flags = flags;
  return sys_bpf(BPF_MAP_LOOKUP_AND_DELETE_ELEM, &a) < 0 ? -errno : 0;
}

static long long fdinfo(int fd, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
  FILE *f = fopen(path, "r");
  long long v = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof(line), f))
    if (!strncmp(line, field, n) && line[n] == ':') sscanf(line + n + 1, "%lld", &v);
  if (f) fclose(f);
  return v;
}

static void create_case(const char *name, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags) {
  int fd = create(type, ks, vs, max, flags);
  printf("create.%s %d\n", name, fd < 0 ? fd : 0);
  if (fd >= 0) close(fd);
}

/* Largest value_size accepted for a map type (binary search, max_entries 1). */
static void value_limit(const char *name, uint32_t type, uint32_t flags) {
  uint32_t lo = 1, hi = 1u << 24;
  while (lo + 1 < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int fd = create(type, 4, mid, 1, flags);
    if (fd >= 0) { close(fd); lo = mid; } else if (fd == -E2BIG) hi = mid; else { printf("vlimit.%s.err %d@%u\n", name, fd, mid); return; }
  }
  printf("vlimit.%s %u\n", name, lo);
}

static void mem_case(const char *name, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags) {
  int fd = create(type, ks, vs, max, flags);
  if (fd < 0) { printf("mem.%s %d\n", name, fd); return; }
  printf("mem.%s %lld max_entries=%lld\n", name, fdinfo(fd, "memlock"), fdinfo(fd, "max_entries"));
  close(fd);
}

static void order(const char *name, uint32_t type, uint32_t max, uint32_t nkeys, int twist) {
  int fd = create(type, 4, 8, max, BPF_F_ZERO_SEED);
  uint64_t v = 7;
  for (uint32_t k = 0; k < nkeys; k++) update(fd, &k, &v, BPF_ANY);
  if (twist) { uint32_t k = 3; update(fd, &k, &v, BPF_ANY); k = 5; del(fd, &k); }
  printf("order.%s", name);
  uint32_t cur, nk;
  int r = next_key(fd, NULL, &nk);
  while (r == 0) { printf(" %u", nk); cur = nk; r = next_key(fd, &cur, &nk); }
  printf("\n");
  close(fd);
}

int main(void) {
  const uint32_t H = BPF_MAP_TYPE_HASH, PH = BPF_MAP_TYPE_PERCPU_HASH, L = BPF_MAP_TYPE_LRU_HASH,
                 LP = BPF_MAP_TYPE_LRU_PERCPU_HASH;
  printf("ncpus %ld\n", sysconf(_SC_NPROCESSORS_CONF));
  cpu_set_t set; CPU_ZERO(&set); CPU_SET(0, &set); sched_setaffinity(0, sizeof(set), &set);

  /* allocCheck */
  create_case("max0", H, 4, 8, 0, 0);
  create_case("key0", H, 0, 8, 4, 0);
  create_case("value0", H, 4, 0, 4, 0);
  create_case("key512", H, 512, 8, 4, 0);
  create_case("key513", H, 513, 8, 4, 0);
  create_case("lru.key513", L, 513, 8, 4, 0);
  create_case("hash.no_common_lru", H, 4, 8, 4, BPF_F_NO_COMMON_LRU);
  create_case("percpu.no_common_lru", PH, 4, 8, 4, BPF_F_NO_COMMON_LRU);
  create_case("lru.no_common_lru", L, 4, 8, 4, BPF_F_NO_COMMON_LRU);
  create_case("lru.no_prealloc", L, 4, 8, 4, BPF_F_NO_PREALLOC);
  create_case("lrupcpu.no_prealloc", LP, 4, 8, 4, BPF_F_NO_PREALLOC);
  create_case("hash.no_prealloc", H, 4, 8, 4, BPF_F_NO_PREALLOC);
  create_case("hash.zero_seed", H, 4, 8, 4, BPF_F_ZERO_SEED);
  create_case("hash.mmapable", H, 4, 8, 4, BPF_F_MMAPABLE);
  create_case("hash.rdonly_wronly", H, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY);
  create_case("hash.rdonly_prog_wronly_prog", H, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  create_case("hash.rdonly", H, 4, 8, 4, BPF_F_RDONLY);
  create_case("hash.wronly_prog", H, 4, 8, 4, BPF_F_WRONLY_PROG);
  create_case("hash.bit31", H, 4, 8, 4, 1u << 31);
  create_case("hash.inner_map", H, 4, 8, 4, BPF_F_INNER_MAP);
  create_case("hash.numa", H, 4, 8, 4, BPF_F_NUMA_NODE);
  create_case("percpu.numa", PH, 4, 8, 4, BPF_F_NUMA_NODE);
  create_case("lru.numa_no_common", L, 4, 8, 4, BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU);
  create_case("hash.max_2p27", H, 4, 8, 1u << 27, BPF_F_NO_PREALLOC);
  create_case("hash.max_2p27p1", H, 4, 8, (1u << 27) + 1, BPF_F_NO_PREALLOC);
  create_case("hash.max_2p31p1", H, 4, 8, (1u << 31) + 1, BPF_F_NO_PREALLOC);
  create_case("percpu.v32768", PH, 4, 32768, 4, 0);
  create_case("percpu.v32769", PH, 4, 32769, 4, 0);
  value_limit("hash", H, BPF_F_NO_PREALLOC);
  value_limit("lru", L, 0);

  /* element ops */
  int fd = create(H, 4, 8, 4, 0);
  uint32_t k; uint64_t v = 1, out = 0;
  for (k = 0; k < 4; k++) update(fd, &k, &v, BPF_NOEXIST);
  k = 4; printf("hash.full_insert %d\n", update(fd, &k, &v, BPF_ANY));
  k = 1; printf("hash.full_replace %d\n", update(fd, &k, &v, BPF_ANY));
  k = 1; printf("hash.noexist_existing %d\n", update(fd, &k, &v, BPF_NOEXIST));
  k = 9; printf("hash.exist_missing %d\n", update(fd, &k, &v, BPF_EXIST));
  k = 1; printf("hash.flags8 %d\n", update(fd, &k, &v, 8));
  k = 1; printf("hash.flags3 %d\n", update(fd, &k, &v, 3));
  k = 1; printf("hash.update_lock_nolock %d\n", update(fd, &k, &v, BPF_F_LOCK));
  k = 1; printf("hash.lookup_lock_nolock %d\n", lookup(fd, &k, &out, BPF_F_LOCK));
  k = 1; printf("hash.lookup_flags2 %d\n", lookup(fd, &k, &out, 2));
  k = 9; printf("hash.lookup_missing %d\n", lookup(fd, &k, &out, 0));
  k = 9; printf("hash.delete_missing %d\n", del(fd, &k));
  k = 9; printf("hash.lookup_and_delete_missing %d\n", lookup_and_delete(fd, &k, &out, 0));
  k = 1; printf("hash.lookup_and_delete_flags2 %d\n", lookup_and_delete(fd, &k, &out, 2));
  k = 1; printf("hash.lookup_and_delete %d\n", lookup_and_delete(fd, &k, &out, 0));
  k = 1; printf("hash.lookup_after_lad %d\n", lookup(fd, &k, &out, 0));
  /* A key that is not in the map restarts the walk at the first key. */
  uint32_t nk, first;
  next_key(fd, NULL, &first);
  k = 77; int nr = next_key(fd, &k, &nk);
  printf("hash.next_missing %d restarts_at_first=%d\n", nr, nk == first);
  close(fd);

  fd = create(H, 4, 8, 4, BPF_F_NO_PREALLOC);
  for (k = 0; k < 4; k++) update(fd, &k, &v, BPF_NOEXIST);
  k = 4; printf("hash_np.full_insert %d\n", update(fd, &k, &v, BPF_ANY));
  k = 1; printf("hash_np.full_replace %d\n", update(fd, &k, &v, BPF_ANY));
  close(fd);

  fd = create(PH, 4, 4, 4, 0);
  k = 1; uint64_t pv[2] = {0x1111111122222222ull, 0x3333333344444444ull}, pout[2] = {0, 0};
  printf("percpu.update %d\n", update(fd, &k, pv, BPF_ANY));
  int lr = lookup(fd, &k, pout, 0);
  printf("percpu.lookup %d %llx %llx\n", lr, (unsigned long long)pout[0], (unsigned long long)pout[1]);
  printf("percpu.update_lock %d\n", update(fd, &k, pv, BPF_F_LOCK));
  close(fd);

  for (int t = 0; t < 4; t++) {
    static const char *names[] = {"lru", "lru_nocommon", "lrupcpu", "lrupcpu_nocommon"};
    uint32_t type = t < 2 ? L : LP, flags = (t & 1) ? BPF_F_NO_COMMON_LRU : 0;
    fd = create(type, 4, 8, 8, flags);
    int errs = 0;
    for (k = 0; k < 64; k++) errs += update(fd, &k, pv, BPF_ANY) != 0;
    int n = 0; uint32_t cur; int r = next_key(fd, NULL, &nk);
    while (r == 0) { n++; cur = nk; r = next_key(fd, &cur, &nk); }
    k = 63; int last = lookup(fd, &k, pout, 0);
    printf("%s.fill64 errs=%d live=%d last=%d noexist=%d\n", names[t], errs, n, last, update(fd, &k, pv, BPF_NOEXIST));
    printf("%s.update_lock %d\n", names[t], update(fd, &k, pv, BPF_F_LOCK));
    close(fd);
  }

  /* How many elements one eviction round frees: insert max+1 keys from one CPU. */
  for (int t = 0; t < 4; t++) {
    static const uint32_t maxes[] = {8, 256, 1024, 16};
    uint32_t flags = t == 3 ? BPF_F_NO_COMMON_LRU : 0;
    fd = create(L, 4, 8, maxes[t], flags);
    for (k = 0; k <= maxes[t]; k++) update(fd, &k, pv, BPF_ANY);
    int n = 0; uint32_t cur; int r = next_key(fd, NULL, &nk);
    while (r == 0) { n++; cur = nk; r = next_key(fd, &cur, &nk); }
    printf("lru.evict_round.max%u.flags%u %d\n", maxes[t], flags, n);
    close(fd);
  }

  /* Keys that are not a whole number of words take jhash() instead of jhash2(). */
  for (uint32_t ks = 5; ks <= 13; ks += 4) {
    int ofd = create(H, ks, 8, 16, BPF_F_ZERO_SEED);
    uint8_t key[16], cur[16], nxt[16];
    for (uint32_t k = 0; k < 16; k++) {
      memset(key, 0x5a, sizeof(key));
      memcpy(key, &k, 4);
      update(ofd, key, &v, BPF_ANY);
    }
    printf("order.k%u", ks);
    int r = next_key(ofd, NULL, nxt);
    while (r == 0) { printf(" %u", *(uint32_t *)nxt); memcpy(cur, nxt, ks); r = next_key(ofd, cur, nxt); }
    printf("\n");
    close(ofd);
  }
  order("h16", H, 16, 16, 0);
  order("h16twist", H, 16, 16, 1);
  order("h5", H, 5, 5, 0);
  order("h100of64", H, 100, 64, 1);

  mem_case("hash_1M_u32_u64", H, 4, 8, 1 << 20, 0);
  mem_case("hash_1M_u32_u64_noprealloc", H, 4, 8, 1 << 20, BPF_F_NO_PREALLOC);
  mem_case("percpu_1k_u32_u64", PH, 4, 8, 1024, 0);
  mem_case("lru_1k_u32_u64", L, 4, 8, 1024, 0);
  mem_case("lrupcpu_1k_u32_u64", LP, 4, 8, 1024, 0);
  mem_case("lru_nocommon_3", L, 4, 8, 3, BPF_F_NO_COMMON_LRU);
  mem_case("lru_nocommon_1", L, 4, 8, 1, BPF_F_NO_COMMON_LRU);
  mem_case("hash_k13_v5_100", H, 13, 5, 100, 0);
  return 0;
}
