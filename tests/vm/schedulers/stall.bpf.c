/* A scheduler that never dispatches tasks named "stallme" (everything else runs from the global
 * FIFO), so once such a task is runnable the kernel's watchdog ejects the scheduler after
 * timeout_ms: an ejection nobody asked for. */
#include "common.bpf.h"

static __always_inline bool is_stallme(struct task_struct *p)
{
	const char want[] = "stallme";

	for (int i = 0; i < sizeof(want); i++)
		if (p->comm[i] != want[i])
			return false;
	return true;
}

SEC("struct_ops/stall_enqueue")
void BPF_PROG(stall_enqueue, struct task_struct *p, u64 enq_flags)
{
	if (is_stallme(p))
		return; /* dropped: the task stays runnable and never runs */
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SEC(".struct_ops.link")
struct sched_ext_ops ops = {
	.enqueue = (void *)stall_enqueue,
	.timeout_ms = 2000,
	.name = OPS_NAME,
};
