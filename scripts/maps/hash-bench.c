/*
 * Linux's side of `pnpm bench hash`: time BPF_MAP_UPDATE_ELEM and
 * BPF_MAP_LOOKUP_ELEM through bpf() on a 1M-entry u32 -> u64 HASH and an
 * LRU_HASH under eviction. Prints "name ops_per_second". Needs root.
 *
 *   gcc -O2 -o hash-bench scripts/maps/hash-bench.c && ./hash-bench
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }

static int create(uint32_t type, uint32_t max) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type; a.key_size = 4; a.value_size = 8; a.max_entries = max;
  return sys_bpf(BPF_MAP_CREATE, &a);
}

static int elem(int cmd, int fd, uint32_t *k, uint64_t *v) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd; a.key = (uintptr_t)k; a.value = (uintptr_t)v;
  return sys_bpf(cmd, &a);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void) {
  const uint32_t N = 1 << 20;
  int fd = create(BPF_MAP_TYPE_HASH, N);
  if (fd < 0) { printf("error %d\n", -errno); return 1; }
  uint64_t v = 1;
  double t0 = now();
  for (uint32_t k = 0; k < N; k++) elem(BPF_MAP_UPDATE_ELEM, fd, &k, &v);
  double t1 = now();
  uint32_t x = 1;
  for (uint32_t i = 0; i < N; i++) { x = x * 1103515245 + 12345; uint32_t k = x & (N - 1); elem(BPF_MAP_LOOKUP_ELEM, fd, &k, &v); }
  double t2 = now();
  printf("hash_update_fill %.0f\n", N / (t1 - t0));
  printf("hash_lookup_random %.0f\n", N / (t2 - t1));
  close(fd);
  fd = create(BPF_MAP_TYPE_LRU_HASH, 1 << 16);
  t0 = now();
  for (uint32_t k = 0; k < N; k++) elem(BPF_MAP_UPDATE_ELEM, fd, &k, &v);
  t1 = now();
  printf("lru_update_evicting %.0f\n", N / (t1 - t0));
  close(fd);
  return 0;
}
