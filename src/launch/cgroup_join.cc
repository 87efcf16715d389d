#include "launch/cgroup_join.h"

#include <utility>
#include <vector>

namespace warden::launch {

Status PlanCgroupSelfJoin(cgroup::JobCgroup* cgroup, Plan* plan) {
  if (cgroup == nullptr) return Status::Ok();
  WARDEN_ASSIGN_OR_RETURN(std::vector<cgroup::JobCgroup::SelfJoin> joins, cgroup->OpenSelfJoin());
  for (cgroup::JobCgroup::SelfJoin& j : joins) {
    plan->cgroup_joins.push_back({plan->KeepFd(std::move(j.fd)), plan->Keep(j.path)});
  }
  return Status::Ok();
}

}  // namespace warden::launch
