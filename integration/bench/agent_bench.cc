// Helpers of integration/bench/agent.sh, which says what each figure means.
//
//   agent_bench submit SOCKET CLIENTS SECONDS
//       CLIENTS threads, each on its own connection, submit `/bin/true` jobs
//       back to back for SECONDS (the agent holds its queue: nothing runs).
//       Counts the submits acknowledged (the agent acknowledges only after
//       the job's record is fdatasync'ed) and prints
//       "submits=N seconds=S per_s=R errors=E".
//   agent_bench fill STATE FINISHED QUEUED
//       Writes the WAL of an agent state directory (nothing there yet) as
//       the agent would after FINISHED jobs ran and QUEUED more were
//       submitted: a QUEUED record for each, and STARTING, RUNNING and
//       EXITED records for the finished ones, with a result file in each
//       finished job's directory.
//
// Speaks the agent's protocol directly (agent/frame.h, api.proto), so the
// figure is the agent's and not a client library's.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "agent/api.pb.h"
#include "agent/frame.h"
#include "agent/job_dir.h"
#include "agent/records.h"
#include "io/env.h"
#include "io/loop.h"
#include "wal/wal.h"

namespace {

namespace api = warden::agent::api;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "agent_bench: %s\n", what.c_str());
  std::exit(1);
}

int Connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (fd < 0 || ::connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    Die("connect " + path + ": " + std::strerror(errno));
  }
  return fd;
}

bool Call(int fd, const api::Request& req, api::Reply* reply) {
  if (!warden::agent::SendFrame(fd, req.SerializeAsString()).ok()) return false;
  std::string msg;
  warden::Result<bool> got =
      warden::agent::RecvFrame(fd, warden::agent::kDefaultMaxMessageBytes, &msg);
  if (!got.ok() || !*got) return false;
  return reply->ParseFromString(msg);
}

int Submit(int argc, char** argv) {
  if (argc != 5) Die("usage: agent_bench submit SOCKET CLIENTS SECONDS");
  const std::string path = argv[2];
  const int clients = std::atoi(argv[3]);
  const double seconds = std::atof(argv[4]);
  std::atomic<uint64_t> acked{0}, errors{0};
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; c++) {
    threads.emplace_back([&, c] {
      const int fd = Connect(path);
      api::Request hello;
      hello.set_id(1);
      hello.mutable_hello()->set_version(api::VERSION_1);
      hello.mutable_hello()->set_client("agent_bench");
      api::Reply reply;
      if (!Call(fd, hello, &reply) || reply.has_error()) Die("handshake failed");
      api::Request req;
      api::JobSpec* spec = req.mutable_submit()->mutable_spec();
      spec->add_argv("/bin/true");
      spec->set_policy("default");
      spec->set_stdin_fd_index(-1);
      ready++;
      while (ready.load() < clients) std::this_thread::yield();
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        req.set_id(++n + 1);
        if (!Call(fd, req, &reply)) Die("client " + std::to_string(c) + ": connection lost");
        if (reply.has_error() && reply.error().code() != api::OK) {
          errors++;
          if (errors.load() == 1) {
            std::fprintf(stderr, "agent_bench: first error: %s\n", reply.error().message().c_str());
          }
        } else {
          acked.fetch_add(1, std::memory_order_relaxed);
        }
      }
      ::close(fd);
    });
  }
  while (ready.load() < clients) std::this_thread::yield();
  const Clock::time_point t0 = Clock::now();
  const uint64_t a0 = acked.load();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const uint64_t a1 = acked.load();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  for (std::thread& t : threads) t.join();
  std::printf("submits=%llu seconds=%.3f per_s=%.0f errors=%llu\n",
              static_cast<unsigned long long>(a1 - a0), elapsed, (a1 - a0) / elapsed,
              static_cast<unsigned long long>(errors.load()));
  return 0;
}

void Append(warden::wal::Wal* w, const api::JobEvent& ev) {
  warden::wal::Payload p;
  p.mutable_blob()->set_kind(warden::agent::kJobEventKind);
  p.mutable_blob()->set_data(ev.SerializeAsString());
  w->Append(p, [](warden::Result<uint64_t> seq) {
    if (!seq.ok()) Die("append: " + seq.status().ToString());
  });
}

int Fill(int argc, char** argv) {
  if (argc != 5) Die("usage: agent_bench fill STATE FINISHED QUEUED");
  const std::string state = argv[2];
  const uint64_t finished = std::strtoull(argv[3], nullptr, 10);
  const uint64_t queued = std::strtoull(argv[4], nullptr, 10);
  ::mkdir(state.c_str(), 0700);
  ::mkdir((state + "/jobs").c_str(), 0700);
  warden::Result<std::unique_ptr<warden::io::Loop>> loop = warden::io::Loop::Create();
  if (!loop.ok()) Die(loop.status().ToString());
  warden::wal::ReplayHandler handler;
  handler.on_snapshot = [](const std::string&, uint64_t) { return warden::Status::Ok(); };
  handler.on_record = [](uint64_t, const warden::wal::Payload&) {
    return warden::Status::Error(warden::Code::kFailedPrecondition, "the state is not empty");
  };
  warden::Result<std::unique_ptr<warden::wal::Wal>> w = warden::wal::Wal::Open(
      loop->get(), warden::io::PosixEnv(), state + "/wal", warden::wal::WalOptions{}, handler);
  if (!w.ok()) Die(w.status().ToString());
  const uint64_t now_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  const std::string result =
      R"({"status":"exited","exit_code":0,"job_exit":0,"wall_ms":3,"cpu_user_ms":0,)"
      R"("cpu_sys_ms":1,"max_rss_kib":1024,"stdout_truncated":false,"stderr_truncated":false,)"
      R"("policy_name":"default"})";
  uint64_t number = 1;
  auto spec_of = [&](api::JobSpec* spec) {
    spec->add_argv("/bin/true");
    spec->set_policy("default");
    spec->set_stdin_fd_index(-1);
    spec->set_submit_wall_ns(now_ns);
  };
  for (uint64_t i = 0; i < finished + queued; i++, number++) {
    const std::string id = warden::agent::MakeJobId(number);
    api::JobEvent ev;
    ev.set_job_id(id);
    ev.set_state(api::QUEUED);
    ev.set_wall_ns(now_ns);
    spec_of(ev.mutable_spec());
    Append(w->get(), ev);
    if (i < finished) {
      for (api::State s : {api::STARTING, api::RUNNING}) {
        api::JobEvent e2;
        e2.set_job_id(id);
        e2.set_state(s);
        e2.set_wall_ns(now_ns);
        Append(w->get(), e2);
      }
      api::JobEvent end;
      end.set_job_id(id);
      end.set_state(api::EXITED);
      end.set_wall_ns(now_ns);
      end.set_exit_code(0);
      end.set_result_json(result);
      Append(w->get(), end);
      const std::string dir = state + "/jobs/" + id;
      if (::mkdir(dir.c_str(), 0700) != 0) Die("mkdir " + dir);
      for (const char* name : {"stdout", "stderr", "began"}) {
        int fd = ::open((dir + "/" + name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ::close(fd);
      }
      int fd = ::open((dir + "/result").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0 || ::write(fd, result.data(), result.size()) < 0) Die("writing a result");
      ::close(fd);
    }
    if ((w->get())->queue_depth() >= 2048) {
      warden::Status st = (*loop)->RunUntil([&] { return (w->get())->queue_depth() == 0; }, 600000);
      if (!st.ok()) Die(st.ToString());
    }
  }
  warden::Status st = (*loop)->RunUntil([&] { return (w->get())->queue_depth() == 0; }, 600000);
  if (!st.ok()) Die(st.ToString());
  std::printf("filled %s: %llu finished, %llu queued\n", state.c_str(),
              static_cast<unsigned long long>(finished), static_cast<unsigned long long>(queued));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "submit") == 0) return Submit(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "fill") == 0) return Fill(argc, argv);
  Die("usage: agent_bench submit SOCKET CLIENTS SECONDS | fill STATE FINISHED QUEUED");
}
