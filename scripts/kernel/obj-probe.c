// SPDX-License-Identifier: MIT
/*
 * obj-probe: what Linux answers for the object commands bpfsim models
 * (pin/get paths, GET_NEXT_ID/GET_FD_BY_ID flags, OBJ_GET_INFO_BY_FD
 * lengths, freeze). Usage: obj-probe BPFFS_DIR (a bpffs mount point).
 * Prints "name ret" lines, ret being the result or -errno.
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

static long bpf(int cmd, union bpf_attr *a)
{
	long r = syscall(__NR_bpf, cmd, a, sizeof(*a));
	return r < 0 ? -errno : r;
}

static long pin(int fd, const char *path, unsigned flags)
{
	union bpf_attr a = { 0 };
	a.bpf_fd = fd; a.pathname = (uintptr_t)path; a.file_flags = flags;
	return bpf(BPF_OBJ_PIN, &a);
}

static long get(const char *path, unsigned flags, int bpf_fd)
{
	union bpf_attr a = { 0 };
	a.bpf_fd = bpf_fd; a.pathname = (uintptr_t)path; a.file_flags = flags;
	return bpf(BPF_OBJ_GET, &a);
}

#define P(name, expr) printf("%-32s %ld\n", name, (long)(expr))

int main(int argc, char **argv)
{
	char p[4096], q[4096];
	const char *dir = argc > 1 ? argv[1] : "/sys/fs/bpf";
	union bpf_attr a = { 0 };
	struct bpf_map_info info;

	a.map_type = BPF_MAP_TYPE_ARRAY; a.key_size = 4; a.value_size = 8; a.max_entries = 4;
	int fd = bpf(BPF_MAP_CREATE, &a);
	P("create", fd >= 0 ? 0 : fd);

	snprintf(p, sizeof(p), "%s/probe_m", dir);
	unlink(p);
	P("pin", pin(fd, p, 0));
	P("pin_again", pin(fd, p, 0));
	P("pin_flags", pin(fd, p, 1));
	snprintf(q, sizeof(q), "%s/nodir/x", dir);
	P("pin_noparent", pin(fd, q, 0));
	snprintf(q, sizeof(q), "%s/probe_m/x", dir);
	P("pin_under_file", pin(fd, q, 0));
	P("pin_not_bpffs", pin(fd, "/tmp/bpfsim_probe_pin", 0));
	P("pin_badfd", pin(77, p, 0));
	P("pin_stdin", pin(0, "/tmp/x", 0));
	snprintf(q, sizeof(q), "%s/probe_trail/", dir);
	P("pin_trailing_slash", pin(fd, q, 0));
	P("get_dir", get(dir, 0, 0));
	snprintf(q, sizeof(q), "%s/none", dir);
	P("get_missing", get(q, 0, 0));
	P("get_rdwr", get(p, BPF_F_RDONLY | BPF_F_WRONLY, 0));
	P("get_bpffd", get(p, 0, 3));
	snprintf(q, sizeof(q), "%s/probe_m/", dir);
	P("get_trailing_slash", get(q, 0, 0));
	int ro = get(p, BPF_F_RDONLY, 0);
	P("get_ro", ro >= 0 ? 0 : ro);
	uint32_t k = 0; uint64_t v = 1;
	memset(&a, 0, sizeof(a));
	a.map_fd = ro; a.key = (uintptr_t)&k; a.value = (uintptr_t)&v;
	P("update_ro_fd", bpf(BPF_MAP_UPDATE_ELEM, &a));
	P("freeze_ro_fd", ({ union bpf_attr f = { 0 }; f.map_fd = ro; bpf(BPF_MAP_FREEZE, &f); }));
	unlink(p);

	memset(&a, 0, sizeof(a)); a.start_id = 0x7fffffff;
	P("next_id_intmax", bpf(BPF_MAP_GET_NEXT_ID, &a));
	memset(&a, 0, sizeof(a)); a.map_id = 0;
	P("fd_by_id_0", bpf(BPF_MAP_GET_FD_BY_ID, &a));
	memset(&a, 0, sizeof(a)); a.map_id = 1; a.open_flags = BPF_F_RDONLY | BPF_F_WRONLY;
	P("fd_by_id_rdwr", bpf(BPF_MAP_GET_FD_BY_ID, &a));
	memset(&a, 0, sizeof(a)); a.map_id = 1; a.open_flags = 4;
	P("fd_by_id_flag4", bpf(BPF_MAP_GET_FD_BY_ID, &a));
	memset(&a, 0, sizeof(a)); a.prog_id = 1; a.open_flags = BPF_F_RDONLY;
	P("prog_fd_by_id_rdonly", bpf(BPF_PROG_GET_FD_BY_ID, &a));

	char big[200] = { 0 };
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd; a.info.info_len = sizeof(big); a.info.info = (uintptr_t)big;
	P("info_long_zero", bpf(BPF_OBJ_GET_INFO_BY_FD, &a));
	P("info_len_out", a.info.info_len);
	big[150] = 1;
	a.info.info_len = sizeof(big);
	P("info_long_nonzero", bpf(BPF_OBJ_GET_INFO_BY_FD, &a));
	a.info.info_len = 8;
	P("info_short", bpf(BPF_OBJ_GET_INFO_BY_FD, &a));
	P("info_short_len", a.info.info_len);
	a.info.bpf_fd = 50; a.info.info_len = sizeof(info); a.info.info = (uintptr_t)&info;
	P("info_closed_fd", bpf(BPF_OBJ_GET_INFO_BY_FD, &a));
	a.info.bpf_fd = 1;
	P("info_stdout", bpf(BPF_OBJ_GET_INFO_BY_FD, &a));
	memset(&a, 0, sizeof(a)); a.map_fd = 1; a.key = (uintptr_t)&k; a.value = (uintptr_t)&v;
	P("lookup_stdout", bpf(BPF_MAP_LOOKUP_ELEM, &a));
	a.map_fd = 99;
	P("lookup_badfd", bpf(BPF_MAP_LOOKUP_ELEM, &a));
	memset(&a, 0, sizeof(a)); a.info.bpf_fd = fd; a.info.info_len = 0; a.info.info = 0;
	P("info_len0_null", bpf(BPF_OBJ_GET_INFO_BY_FD, &a));
	k = 3;
	memset(&a, 0, sizeof(a)); a.map_fd = fd; a.key = (uintptr_t)&k; a.value = 0;
	P("lookup_null_value_present", bpf(BPF_MAP_LOOKUP_ELEM, &a));
	k = 9;
	P("lookup_null_value_missing", bpf(BPF_MAP_LOOKUP_ELEM, &a));
	P("update_null_value", bpf(BPF_MAP_UPDATE_ELEM, &a));
	a.key = 0;
	P("lookup_null_key", bpf(BPF_MAP_LOOKUP_ELEM, &a));
	memset(&a, 0, sizeof(a)); a.map_fd = fd; a.key = (uintptr_t)&k; a.next_key = 0;
	P("next_null_nextkey", bpf(BPF_MAP_GET_NEXT_KEY, &a));
	P("unknown_cmd", ({ union bpf_attr z = { 0 }; bpf(200, &z); }));
	return 0;
}
