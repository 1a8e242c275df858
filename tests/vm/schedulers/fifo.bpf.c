/* The smallest working scheduler: every runnable task goes to the global FIFO. */
#include "common.bpf.h"

SEC("struct_ops/fifo_enqueue")
void BPF_PROG(fifo_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SEC(".struct_ops.link")
struct sched_ext_ops ops = {
	.enqueue = (void *)fifo_enqueue,
	.name = OPS_NAME,
};
