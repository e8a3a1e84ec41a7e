// SPDX-License-Identifier: GPL-2.0
/* `verify`: load an object through the kernel's verifier, then unload it. */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "log.h"
#include "maps.h"

int cmd_verify(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	const char *path = argc >= 1 ? argv[0] : obj_path();
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *p;

	if (!obj) {
		warn("cannot open %s: %s", path, strerror(errno));
		return 1;
	}
	if (bpf_object__load(obj)) {
		warn("%s: rejected by the kernel (verifier log above)", path);
		bpf_object__close(obj);
		return 1;
	}
	bpf_object__for_each_program (p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
		fprintf(o, "%s: program %s (%s) loaded: %u verified insns, %u xlated bytes\n", path,
			bpf_program__name(p), bpf_program__section_name(p), info.verified_insns,
			info.xlated_prog_len);
	}
	bpf_object__close(obj);
	return 0;
}
