// snapshot_process: one record per process (or per thread) from a task
// iterator: ids, credentials, mount namespace and cgroup of every task.
#include "gadget/common.h"
#include "gadget/filter.h"
#include "snapshot_task.h"

struct process_entry {
	struct gadget_proc proc;
};
GADGET_EVENT(struct process_entry);

const volatile bool show_threads = false;

SEC("iter/task")
int snapshot_process(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct process_entry e = {};

	if (!task)
		return 0;
	if (!show_threads && task->tgid != task->pid)
		return 0;
	snapshot_fill_proc(&e.proc, task);
	if (snapshot_discard(&e.proc))
		return 0;
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
