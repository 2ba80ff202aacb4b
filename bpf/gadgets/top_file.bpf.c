// top_file: reads and writes per (process, file). The read/write family of
// syscalls is traced at entry (the fd is resolved to its struct file through
// task->files) and at exit (the byte count returned is added to the file's
// counters). User space reads and clears the stats map every interval. A
// file met for the first time in an interval gets its full path
// (gadget/path.h: components leaf first).
#include "gadget/common.h"
#include "gadget/filter.h"
#include "gadget/path.h"

#define S_IFMT 0170000
#define S_IFREG 0100000
#define NAME_LEN 64

struct file_key {
	__u64 dev;
	__u64 ino;
	__u32 pid;
	__u32 _pad;
};

struct file_stat {
	struct gadget_proc proc;
	__u64 reads;
	__u64 writes;
	__u64 read_bytes;
	__u64 write_bytes;
	__u16 mode;     // inode i_mode: type bits and permissions
	__u16 _pad;
	__u32 path_size;      // bytes used in path, GADGET_PATH_TRUNCATED or'ed in
	char name[NAME_LEN];  // the file's dentry name
	char path[GADGET_PATH_MAX];
};

struct pending {
	struct file_key key;
	struct file *file;
	__u8 write;
};

const volatile bool all_files = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__uint(map_flags, BPF_F_NO_PREALLOC);  // values carry a path: allocate on use
	__type(key, struct file_key);
	__type(value, struct file_stat);
} stats SEC(".maps");

// a new entry is built here: it is too big for the stack
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_stat);
} fresh_stat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct pending);
} inflight SEC(".maps");

static __always_inline int on_enter(unsigned long fd, __u8 write)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pending p = {};
	struct fdtable *fdt;
	struct file **fds;
	struct file *file = NULL;
	struct inode *inode;
	__u16 mode;

	if (gadget_should_discard())
		return 0;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	mode = BPF_CORE_READ(inode, i_mode);
	if (!all_files && (mode & S_IFMT) != S_IFREG)
		return 0;
	p.key.pid = pid_tgid >> 32;
	p.key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	p.key.ino = BPF_CORE_READ(inode, i_ino);
	p.file = file;
	p.write = write;
	bpf_map_update_elem(&inflight, &tid, &p, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pending *p;
	struct file_stat *s, *fresh;
	struct file *file;
	__u32 zero = 0;

	p = bpf_map_lookup_elem(&inflight, &tid);
	if (!p)
		return 0;
	if (ret < 0)
		goto out;
	s = bpf_map_lookup_elem(&stats, &p->key);
	if (!s) {
		fresh = bpf_map_lookup_elem(&fresh_stat, &zero);
		if (!fresh)
			goto out;
		gadget_fill_proc(&fresh->proc);
		fresh->reads = fresh->writes = 0;
		fresh->read_bytes = fresh->write_bytes = 0;
		file = p->file;
		fresh->mode = BPF_CORE_READ(file, f_inode, i_mode);
		bpf_probe_read_kernel_str(fresh->name, sizeof(fresh->name),
					  BPF_CORE_READ(file, f_path.dentry, d_name.name));
		fresh->path_size = gadget_read_path(fresh->path, &file->f_path);
		bpf_map_update_elem(&stats, &p->key, fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&stats, &p->key);
		if (!s)
			goto out;
	}
	if (p->write) {
		__sync_fetch_and_add(&s->writes, 1);
		__sync_fetch_and_add(&s->write_bytes, ret);
	} else {
		__sync_fetch_and_add(&s->reads, 1);
		__sync_fetch_and_add(&s->read_bytes, ret);
	}
out:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

#define TRACE_SYSCALL(name, write)						\
SEC("tracepoint/syscalls/sys_enter_" #name)					\
int enter_##name(struct trace_event_raw_sys_enter *ctx)			\
{										\
	return on_enter(ctx->args[0], write);					\
}										\
SEC("tracepoint/syscalls/sys_exit_" #name)					\
int exit_##name(struct trace_event_raw_sys_exit *ctx)				\
{										\
	return on_exit(ctx->ret);						\
}

TRACE_SYSCALL(read, 0)
TRACE_SYSCALL(readv, 0)
TRACE_SYSCALL(pread64, 0)
TRACE_SYSCALL(preadv, 0)
TRACE_SYSCALL(preadv2, 0)
TRACE_SYSCALL(write, 1)
TRACE_SYSCALL(writev, 1)
TRACE_SYSCALL(pwrite64, 1)
TRACE_SYSCALL(pwritev, 1)
TRACE_SYSCALL(pwritev2, 1)

char LICENSE[] SEC("license") = "GPL";
