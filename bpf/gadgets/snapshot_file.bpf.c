// snapshot_file: one record per open file descriptor of every process, from
// a task_file iterator: fd, file type (from the inode mode) and path.
#include "gadget/common.h"
#include "gadget/filter.h"
#include "snapshot_task.h"

#define PATH_MAX_LEN 256

struct file_entry {
	struct gadget_proc proc;
	__u64 ino;
	__u32 fd;
	__u16 mode;     // inode i_mode: type bits and permissions
	__u16 _pad;
	char path[PATH_MAX_LEN];
};
GADGET_EVENT(struct file_entry);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_entry);
} scratch SEC(".maps");

SEC("iter/task_file")
int snapshot_file(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct file_entry *e;
	__u32 zero = 0;

	if (!task || !file)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	snapshot_fill_proc(&e->proc, task);
	if (snapshot_discard(&e->proc))
		return 0;
	e->fd = ctx->fd;
	e->mode = BPF_CORE_READ(file, f_inode, i_mode);
	e->ino = BPF_CORE_READ(file, f_inode, i_ino);
	if (bpf_d_path((struct path *)&file->f_path, e->path, sizeof(e->path)) < 0)
		e->path[0] = 0;
	bpf_seq_write(seq, e, sizeof(*e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
