"""sched_ext: read the kernel's state (`state`) and switch schedulers (`switch`)."""
