// How the gateway's own threads present themselves to the operator (names in top -H, ps -L) and
// to the scheduler.
#pragma once

namespace gateway {

/// Names the calling thread (at most 15 characters are kept).
void name_this_thread(const char* name);

/// Names the calling thread and marks it as background work (SCHED_BATCH): it keeps its fair
/// share of the CPU, but waking up it does not preempt a thread serving requests, so writing logs
/// and usage rows does not add to request latency on a busy core.
void become_background_thread(const char* name);

/// How much CPU a background thread asks for (its scheduling class).
enum class CpuShare {
  Leftover,  ///< SCHED_IDLE: only time no other thread wants; no latency cost to requests
  Fair,      ///< SCHED_BATCH: a fair share, without preempting request threads on wake-up
};

/// Sets the calling background thread's share. Leftover needs CAP_SYS_NICE or an RLIMIT_NICE of
/// 20 (systemd: LimitNICE=20) so that the thread can be given its fair share again; without them
/// it is the same as Fair.
void set_cpu_share(CpuShare share);

}  // namespace gateway
