#include "net/nft.h"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <memory>
#include <mutex>

namespace warden::net {
namespace {

std::mutex g_nft_mu;

// libnftables and what it drags in (libnftnl, libmnl, libxtables, libjansson,
// libgmp) are loaded on first use: most jobs never touch nftables, and
// resolving those libraries' symbols at every start costs milliseconds.
// The types come from the library's own header; only the binding is late.
struct NftApi {
  decltype(&nft_ctx_new) ctx_new = nullptr;
  decltype(&nft_ctx_free) ctx_free = nullptr;
  decltype(&nft_ctx_buffer_output) buffer_output = nullptr;
  decltype(&nft_ctx_buffer_error) buffer_error = nullptr;
  decltype(&nft_run_cmd_from_buffer) run_cmd = nullptr;
  decltype(&nft_ctx_get_output_buffer) output_buffer = nullptr;
  decltype(&nft_ctx_get_error_buffer) error_buffer = nullptr;
  std::string error;  // why loading failed; empty when it worked
};

template <typename F>
bool Bind(void* lib, const char* name, F* out, std::string* error) {
  *out = reinterpret_cast<F>(::dlsym(lib, name));
  if (*out == nullptr && error->empty()) error->assign(std::string("libnftables lacks ") + name);
  return *out != nullptr;
}

// Thread-safe (a function-local static).
const NftApi& Api() {
  static NftApi api = [] {
    NftApi a;
    void* lib = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* e = ::dlerror();
      a.error = std::string("cannot load libnftables.so.1 (") + (e ? e : "unknown error") +
                "): install the libnftables1 package";
      return a;
    }
    Bind(lib, "nft_ctx_new", &a.ctx_new, &a.error);
    Bind(lib, "nft_ctx_free", &a.ctx_free, &a.error);
    Bind(lib, "nft_ctx_buffer_output", &a.buffer_output, &a.error);
    Bind(lib, "nft_ctx_buffer_error", &a.buffer_error, &a.error);
    Bind(lib, "nft_run_cmd_from_buffer", &a.run_cmd, &a.error);
    Bind(lib, "nft_ctx_get_output_buffer", &a.output_buffer, &a.error);
    Bind(lib, "nft_ctx_get_error_buffer", &a.error_buffer, &a.error);
    return a;  // the library stays loaded for the life of the process
  }();
  return api;
}

struct CtxFree {
  void operator()(nft_ctx* c) const { Api().ctx_free(c); }
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// nft reports errors as text; keep the first line that says "Error" and map
// the common errno texts to Status codes.
Status NftError(const std::string& what, const std::string& err_text) {
  std::string text = Trim(err_text);
  size_t pos = text.find("Error:");
  std::string line = pos == std::string::npos ? text : text.substr(pos);
  size_t nl = line.find('\n');
  if (nl != std::string::npos) line.resize(nl);
  if (line.size() > 300) line.resize(300);
  Code code = Code::kIoError;
  if (text.find("Operation not permitted") != std::string::npos) {
    code = Code::kPermissionDenied;
  } else if (text.find("No such file or directory") != std::string::npos) {
    code = Code::kNotFound;
  } else if (text.find("not supported") != std::string::npos) {
    code = Code::kUnavailable;
  } else if (text.find("syntax error") != std::string::npos) {
    code = Code::kInternal;  // we generate the text: a syntax error is our bug
  }
  return Status::Error(code, what + ": nftables: " + (line.empty() ? "failed" : line));
}

Result<std::string> Run(const std::string& commands, const std::string& what) {
  std::lock_guard<std::mutex> lock(g_nft_mu);
  const NftApi& nft = Api();
  if (!nft.error.empty()) return Status::Error(Code::kUnavailable, what + ": " + nft.error);
  std::unique_ptr<nft_ctx, CtxFree> ctx(nft.ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return Status::Error(Code::kResourceExhausted, what + ": nft_ctx_new failed");
  if (nft.buffer_output(ctx.get()) != 0 || nft.buffer_error(ctx.get()) != 0) {
    return Status::Error(Code::kResourceExhausted, what + ": nft_ctx_buffer_* failed");
  }
  int r = nft.run_cmd(ctx.get(), commands.c_str());
  if (r != 0) {
    const char* err = nft.error_buffer(ctx.get());
    return NftError(what, err ? err : "");
  }
  const char* out = nft.output_buffer(ctx.get());
  return std::string(out ? out : "");
}

}  // namespace

Status NftRun(const std::string& commands, const std::string& what) {
  return Run(commands, what).take_status();
}

Result<std::string> NftOutput(const std::string& command) { return Run(command, command); }

void PreloadNftables() { (void)Api(); }

}  // namespace warden::net
