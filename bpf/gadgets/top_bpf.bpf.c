// top_bpf: which processes hold each BPF program. A task_file iterator
// visits every open file; program fds ("bpf-prog") and link fds ("bpf_link")
// name the program they keep loaded. Run counts and times come from user
// space (BPF_ENABLE_STATS and the programs' info).
#include "gadget/common.h"
#include "gadget/filter.h"
#include "snapshot_task.h"

#define HOLDS_PROG 1
#define HOLDS_LINK 2

struct prog_owner {
	struct gadget_proc proc;
	__u32 prog_id;
	__u32 fd;
	__u32 kind;     // HOLDS_PROG or HOLDS_LINK
	__u32 _pad;
};
GADGET_EVENT(struct prog_owner);

static __always_inline bool name_is(const char *name, const char *want, int len)
{
	for (int i = 0; i < len; i++)
		if (name[i] != want[i])
			return false;
	return true;
}

SEC("iter/task_file")
int prog_owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct prog_owner o = {};
	struct bpf_prog *prog;
	struct bpf_link *link;
	char name[12] = {};

	if (!task || !file)
		return 0;
	bpf_probe_read_kernel_str(name, sizeof(name),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	if (name_is(name, "bpf-prog", 9)) {
		prog = BPF_CORE_READ(file, private_data);
		o.kind = HOLDS_PROG;
	} else if (name_is(name, "bpf_link", 9)) {
		link = BPF_CORE_READ(file, private_data);
		prog = BPF_CORE_READ(link, prog);
		o.kind = HOLDS_LINK;
	} else {
		return 0;
	}
	o.prog_id = BPF_CORE_READ(prog, aux, id);
	if (!o.prog_id)
		return 0;
	snapshot_fill_proc(&o.proc, task);
	if (snapshot_discard(&o.proc))
		return 0;
	o.fd = ctx->fd;
	bpf_seq_write(ctx->meta->seq, &o, sizeof(o));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
