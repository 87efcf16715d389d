// The sandbox's first process: it builds the sandbox, then becomes its init
// (pid 1: reaps zombies, forwards signals) and forks the job.
#ifndef WARDEN_LAUNCH_CHILD_H_
#define WARDEN_LAUNCH_CHILD_H_

#include <signal.h>

#include "proto/plan.h"

namespace warden::launch {

// Signals warden forwards from its caller to the job.
inline constexpr int kForwardedSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// Signals init understands besides the forwarded ones. The parent sends them
// for timeouts; the job cannot (it runs under another uid without caps).
int TerminateAllSignal();  // init sends SIGTERM to every process in the sandbox
int KillAllSignal();       // init sends SIGKILL to every process, reaps, reports

// Entry point of the cloned process. Never returns.
[[noreturn]] void ChildMain(const Plan& plan);

}  // namespace warden::launch

#endif  // WARDEN_LAUNCH_CHILD_H_
