#include "policy/shebang.h"

#include <vector>

namespace warden::policy {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::optional<Shebang> ParseShebang(std::string_view head) {
  head = head.substr(0, kShebangMaxBytes);
  if (head.size() < 2 || head[0] != '#' || head[1] != '!') return std::nullopt;
  std::string_view line = head.substr(2);
  const size_t newline = line.find('\n');
  const bool cut = newline == std::string_view::npos && head.size() == kShebangMaxBytes;
  line = line.substr(0, newline);
  size_t i = 0;
  while (i < line.size() && IsBlank(line[i])) ++i;
  size_t end = i;
  while (end < line.size() && !IsBlank(line[end])) ++end;
  Shebang s;
  // An interpreter that runs up to the kernel's limit may be cut short:
  // running a different, shorter path would be wrong, so there is none.
  if (cut && end == line.size()) return s;
  s.interpreter = std::string(line.substr(i, end - i));
  size_t a = end;
  while (a < line.size() && IsBlank(line[a])) ++a;
  size_t b = line.size();
  while (b > a && IsBlank(line[b - 1])) --b;
  if (b > a) {
    s.arg = std::string(line.substr(a, b - a));
    s.has_arg = true;
  }
  return s;
}

std::string ShebangProgramName(const Shebang& shebang) {
  std::string interp = Basename(shebang.interpreter);
  while (!interp.empty() && interp.back() == '\r') interp.pop_back();
  if (interp != "env") return interp;
  // env's argument: options ("-S", "-i"), assignments, then the program.
  std::vector<std::string> words;
  size_t i = 0;
  const std::string& a = shebang.arg;
  while (i < a.size()) {
    while (i < a.size() && (IsBlank(a[i]) || a[i] == '\r')) ++i;
    size_t start = i;
    while (i < a.size() && !IsBlank(a[i]) && a[i] != '\r') ++i;
    if (i > start) words.push_back(a.substr(start, i - start));
  }
  for (const std::string& w : words) {
    if (w.starts_with("-") || w.find('=') != std::string::npos) continue;
    return Basename(w);
  }
  return "";
}

}  // namespace warden::policy
