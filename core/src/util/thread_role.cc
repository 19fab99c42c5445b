// Thread names and scheduling classes.
#include "util/thread_role.h"

#include <pthread.h>
#include <sched.h>

#include <string>
#include <thread>

namespace gateway {
namespace {

/// Whether a thread of this process may return from SCHED_IDLE to SCHED_BATCH. Linux allows it
/// only with CAP_SYS_NICE or an RLIMIT_NICE of 20; without either a thread put in SCHED_IDLE
/// would stay there, so Leftover is then never used. Probed once, on a short-lived thread.
bool may_leave_idle_class() {
  static const bool permitted = [] {
    bool ok = false;
    std::thread probe([&ok] {
      const sched_param normal{};
      if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &normal) != 0) return;
      ok = pthread_setschedparam(pthread_self(), SCHED_BATCH, &normal) == 0;
    });
    probe.join();
    return ok;
  }();
  return permitted;
}

}  // namespace

void name_this_thread(const char* name) {
  pthread_setname_np(pthread_self(), std::string(name).substr(0, 15).c_str());
}

void become_background_thread(const char* name) {
  name_this_thread(name);
  set_cpu_share(CpuShare::Fair);
}

void set_cpu_share(CpuShare share) {
  const bool leftover = share == CpuShare::Leftover && may_leave_idle_class();
  const sched_param normal{};
  pthread_setschedparam(pthread_self(), leftover ? SCHED_IDLE : SCHED_BATCH, &normal);
}

}  // namespace gateway
