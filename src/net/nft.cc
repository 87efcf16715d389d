#include "net/nft.h"

#include <nftables/libnftables.h>

#include <memory>
#include <mutex>

namespace warden::net {
namespace {

std::mutex g_nft_mu;

struct CtxFree {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
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
  std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return Status::Error(Code::kResourceExhausted, what + ": nft_ctx_new failed");
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0) {
    return Status::Error(Code::kResourceExhausted, what + ": nft_ctx_buffer_* failed");
  }
  int r = nft_run_cmd_from_buffer(ctx.get(), commands.c_str());
  if (r != 0) {
    const char* err = nft_ctx_get_error_buffer(ctx.get());
    return NftError(what, err ? err : "");
  }
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  return std::string(out ? out : "");
}

}  // namespace

Status NftRun(const std::string& commands, const std::string& what) {
  return Run(commands, what).take_status();
}

Result<std::string> NftOutput(const std::string& command) { return Run(command, command); }

}  // namespace warden::net
