/*
 * Kernel oracle for BPF_F_LOCK on hash maps. Linux learns where a value's
 * struct bpf_spin_lock is from BTF, so this probe builds the BTF of
 *
 *   struct val { int a; struct bpf_spin_lock lock; int b[4]; };   (lock at offset 4)
 *
 * with libbpf, creates maps with it, and prints "name value" lines.
 *
 *   gcc -O2 -o hash-lock-probe scripts/maps/hash-lock-probe.c -lbpf && ./hash-lock-probe
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int btf_fd, key_id, val_id;

static int create(enum bpf_map_type type) {
  LIBBPF_OPTS(bpf_map_create_opts, o, .btf_fd = btf_fd, .btf_key_type_id = key_id, .btf_value_type_id = val_id);
  int fd = bpf_map_create(type, "lockprobe", 4, 24, 4, &o);
  return fd < 0 ? -errno : fd;
}

static int r(int ret) { return ret < 0 ? -errno : ret; }

int main(void) {
  struct btf *btf = btf__new_empty();
  int int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
  int lock_id = btf__add_struct(btf, "bpf_spin_lock", 4);
  btf__add_field(btf, "val", int_id, 0, 0);
  int arr_id = btf__add_array(btf, int_id, int_id, 4);
  val_id = btf__add_struct(btf, "val", 24);
  btf__add_field(btf, "a", int_id, 0, 0);
  btf__add_field(btf, "lock", lock_id, 32, 0);
  btf__add_field(btf, "b", arr_id, 64, 0);
  key_id = int_id;
  if (btf__load_into_kernel(btf)) { printf("btf_load %d\n", -errno); return 1; }
  btf_fd = btf__fd(btf);

  int e;
  printf("lock.create.hash %d\n", (e = create(BPF_MAP_TYPE_HASH)) < 0 ? e : 0);
  printf("lock.create.percpu_hash %d\n", (e = create(BPF_MAP_TYPE_PERCPU_HASH)) < 0 ? e : 0);
  printf("lock.create.lru_hash %d\n", (e = create(BPF_MAP_TYPE_LRU_HASH)) < 0 ? e : 0);
  printf("lock.create.lru_percpu_hash %d\n", (e = create(BPF_MAP_TYPE_LRU_PERCPU_HASH)) < 0 ? e : 0);

  int fd = create(BPF_MAP_TYPE_HASH);
  uint32_t v[6], out[6];
  int k = 1;
  for (int i = 0; i < 6; i++) v[i] = 0x100 + i;
  printf("lock.update_lock_missing %d\n", r(bpf_map_update_elem(fd, &k, v, BPF_F_LOCK)));
  memset(out, 0xff, sizeof(out));
  printf("lock.lookup_lock %d", r(bpf_map_lookup_elem_flags(fd, &k, out, BPF_F_LOCK)));
  for (int i = 0; i < 6; i++) printf(" %x", out[i]);
  printf("\n");
  memset(out, 0xff, sizeof(out));
  printf("lock.lookup_plain %d", r(bpf_map_lookup_elem_flags(fd, &k, out, 0)));
  for (int i = 0; i < 6; i++) printf(" %x", out[i]);
  printf("\n");
  v[0] = 0xaaaa;
  printf("lock.update_lock_existing %d\n", r(bpf_map_update_elem(fd, &k, v, BPF_F_LOCK)));
  printf("lock.update_lock_noexist %d\n", r(bpf_map_update_elem(fd, &k, v, BPF_F_LOCK | BPF_NOEXIST)));
  k = 2;
  printf("lock.update_lock_exist_missing %d\n", r(bpf_map_update_elem(fd, &k, v, BPF_F_LOCK | BPF_EXIST)));
  printf("lock.update_lock_bad %d\n", r(bpf_map_update_elem(fd, &k, v, BPF_F_LOCK | 8)));
  k = 1;
  memset(out, 0xff, sizeof(out));
  printf("lock.lookup_and_delete_lock %d", r(bpf_map_lookup_and_delete_elem_flags(fd, &k, out, BPF_F_LOCK)));
  for (int i = 0; i < 6; i++) printf(" %x", out[i]);
  printf("\n");
  printf("lock.lookup_after %d\n", r(bpf_map_lookup_elem_flags(fd, &k, out, BPF_F_LOCK)));
  close(fd);
  return 0;
}
