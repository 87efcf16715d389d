// A small stand-in for libFuzzer's driver, for compilers without
// -fsanitize=fuzzer (gcc): `make test` replays each target's corpus through
// it and adds a short batch of blind mutations. Coverage-guided fuzzing is
// `make fuzz`, which links the same targets with clang's libFuzzer instead.
// Links with any target that defines LLVMFuzzerTestOneInput.
//
//   fuzz_bin [-runs=N] [-seed=S] [-max_len=B] CORPUS_DIR_OR_FILE...
//
// Replays every corpus file, then runs N random mutations of them (bit
// flips, byte edits, chunk copies between inputs, truncation). On a crash the
// input that caused it is in ./fuzz-crash-<seed> (written before each run,
// removed after a clean finish).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

void Collect(const std::string& path, std::vector<std::string>* inputs) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "fuzz: cannot stat %s\n", path.c_str());
    std::exit(2);
  }
  if (S_ISDIR(st.st_mode)) {
    DIR* d = opendir(path.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) Collect(path + "/" + n, inputs);
    return;
  }
  std::string data;
  if (ReadWhole(path, &data)) inputs->push_back(std::move(data));
}

std::string Mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng, size_t max_len) {
  std::string s = corpus[rng() % corpus.size()];
  int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits; ++i) {
    size_t pos = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 7) {
      case 0:  // flip a bit
        if (!s.empty()) s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
        break;
      case 1:  // random byte
        if (!s.empty()) s[pos] = static_cast<char>(rng() % 256);
        break;
      case 2:  // insert an interesting byte
        s.insert(pos, 1, "\"[]{}=,.#\n\\'0-9@/\x00\xff"[rng() % 20]);
        break;
      case 3:  // delete a range
        if (!s.empty()) s.erase(pos, 1 + rng() % 16);
        break;
      case 4: {  // copy a chunk from another input
        const std::string& o = corpus[rng() % corpus.size()];
        if (!o.empty()) {
          size_t from = rng() % o.size();
          s.insert(pos, o.substr(from, 1 + rng() % 64));
        }
        break;
      }
      case 5:  // duplicate a line-sized chunk in place
        if (!s.empty()) s.insert(pos, s.substr(pos, 1 + rng() % 40));
        break;
      case 6:  // truncate
        s.resize(pos);
        break;
    }
  }
  if (s.size() > max_len) s.resize(max_len);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  long runs = 10000;
  uint64_t seed = static_cast<uint64_t>(time(nullptr));
  size_t max_len = 64 << 10;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("-runs=", 0) == 0) runs = std::atol(a.c_str() + 6);
    else if (a.rfind("-seed=", 0) == 0) seed = std::strtoull(a.c_str() + 6, nullptr, 10);
    else if (a.rfind("-max_len=", 0) == 0) max_len = std::strtoul(a.c_str() + 9, nullptr, 10);
    else if (a[0] == '-') {
      std::fprintf(stderr, "fuzz: unknown flag %s\n", a.c_str());
      return 2;
    } else Collect(a, &corpus);
  }
  if (corpus.empty()) corpus.push_back("");
  for (const std::string& in : corpus) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  }
  std::printf("fuzz: replayed %zu corpus inputs; %ld mutations, seed %llu\n", corpus.size(), runs,
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  std::string crash_file = "fuzz-crash-" + std::to_string(seed);
  std::printf("fuzz: each input is saved to ./%s before it runs; after a crash it holds the crashing input\n",
              crash_file.c_str());
  std::fflush(stdout);
  for (long n = 0; n < runs; ++n) {
    std::string in = Mutate(corpus, rng, max_len);
    {
      std::ofstream f(crash_file, std::ios::binary | std::ios::trunc);
      f << in;
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  }
  unlink(crash_file.c_str());
  std::printf("fuzz: done, no crash\n");
  return 0;
}
