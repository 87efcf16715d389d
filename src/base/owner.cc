#include "base/owner.h"

#include <unistd.h>

#include <string>

#include "base/file.h"

namespace warden::base {
namespace {

constexpr size_t kMaxStatBytes = 4096;

// Reads (state, starttime) from /proc/<pid>/stat. The command name may hold
// spaces and parentheses, so fields are counted after the last ')'.
bool ReadStat(pid_t pid, char* state, uint64_t* start_time) {
  Result<std::string> stat = ReadFile("/proc/" + std::to_string(pid) + "/stat", kMaxStatBytes);
  if (!stat.ok()) return false;
  size_t close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return false;
  std::string rest = stat->substr(close + 2);
  // rest: "S ppid pgrp ..." ; starttime is field 22 overall, 20th here.
  size_t pos = 0;
  for (size_t field = 1; field < 20; ++field) {
    pos = rest.find(' ', pos);
    if (pos == std::string::npos) return false;
    ++pos;
  }
  size_t end = rest.find(' ', pos);
  std::string digits = rest.substr(pos, end == std::string::npos ? end : end - pos);
  if (digits.empty() || digits.size() > 20) return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *state = rest[0];
  *start_time = v;
  return true;
}

}  // namespace

Owner SelfOwner() {
  Owner o;
  o.pid = ::getpid();
  char state = 0;
  ReadStat(o.pid, &state, &o.start_time);
  return o;
}

bool OwnerAlive(const Owner& owner) {
  char state = 0;
  uint64_t start = 0;
  if (!ReadStat(owner.pid, &state, &start)) return false;
  if (state == 'Z' || state == 'X') return false;
  return start == owner.start_time;
}

bool PidAlive(pid_t pid) {
  char state = 0;
  uint64_t start = 0;
  return ReadStat(pid, &state, &start) && state != 'Z' && state != 'X';
}

}  // namespace warden::base
