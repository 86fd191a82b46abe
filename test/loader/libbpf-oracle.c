// SPDX-License-Identifier: MIT
// Opens a BPF object with the system's libbpf and prints what libbpf sees,
// one line per map and program, for the loader tests to compare against:
//   map <name> <type> <key_size> <value_size> <max_entries> <map_flags>
//   prog <name> <section> <type> <expected_attach_type> <insn_cnt>
// With "load" as second argument it also loads the object into the kernel
// and prints each program's instructions after libbpf's linking:
//   insns <name> <hex of every 8-byte slot>
//   funcs <name> <insn>:<btf type id> ...        (func info the kernel kept)
//   lines <name> <insn>:<line>:<col> ...         (line info the kernel kept)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return 0;
}

static void print_btf_ext(struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), nf, nl;
	struct bpf_func_info *fi;
	struct bpf_line_info *li;

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return;
	nf = info.nr_func_info;
	nl = info.nr_line_info;
	fi = calloc(nf + 1, sizeof(*fi));
	li = calloc(nl + 1, sizeof(*li));
	memset(&info, 0, sizeof(info));
	info.nr_func_info = nf;
	info.func_info_rec_size = sizeof(*fi);
	info.func_info = (unsigned long)fi;
	info.nr_line_info = nl;
	info.line_info_rec_size = sizeof(*li);
	info.line_info = (unsigned long)li;
	len = sizeof(info);
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) {
		printf("funcs %s", bpf_program__name(prog));
		for (__u32 i = 0; i < nf; i++)
			printf(" %u:%u", fi[i].insn_off, fi[i].type_id);
		printf("\nlines %s", bpf_program__name(prog));
		for (__u32 i = 0; i < nl; i++)
			printf(" %u:%u:%u", li[i].insn_off, li[i].line_col >> 10, li[i].line_col & 0x3ff);
		printf("\n");
	}
	free(fi);
	free(li);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;

	if (argc < 2)
		return 2;
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		printf("error open %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_map(map, obj)
		printf("map %s %u %u %u %u %u\n", bpf_map__name(map), bpf_map__type(map),
		       bpf_map__key_size(map), bpf_map__value_size(map),
		       bpf_map__max_entries(map), bpf_map__map_flags(map));
	bpf_object__for_each_program(prog, obj)
		printf("prog %s %s %u %u %zu\n", bpf_program__name(prog),
		       bpf_program__section_name(prog), bpf_program__type(prog),
		       bpf_program__expected_attach_type(prog), bpf_program__insn_cnt(prog));
	if (argc > 2 && strcmp(argv[2], "load") == 0) {
		int err = bpf_object__load(obj);

		if (err) {
			printf("error load %d\n", err);
			return 1;
		}
		bpf_object__for_each_program(prog, obj) {
			const struct bpf_insn *insn = bpf_program__insns(prog);
			size_t n = bpf_program__insn_cnt(prog);
			const unsigned char *b = (const unsigned char *)insn;

			printf("insns %s ", bpf_program__name(prog));
			for (size_t i = 0; i < n * 8; i++)
				printf("%02x", b[i]);
			printf("\n");
			print_btf_ext(prog);
		}
	}
	bpf_object__close(obj);
	return 0;
}
