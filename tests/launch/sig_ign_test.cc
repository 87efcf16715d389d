// The SigIgn parser (launch/sig_ign.h): the mask of the one well-formed
// line, every signal for anything else.
#include "launch/sig_ign.h"

#include <signal.h>

#include <string>

#include "test_util.h"

namespace warden::launch {
namespace {

TEST_CASE("sig_ign: the mask of a real status text", "[launch]") {
  const std::string status =
      "Name:\twarden\nUmask:\t0022\nState:\tR (running)\nSigQ:\t0/513361\n"
      "SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\n"
      "SigIgn:\t0000000000001006\nSigCgt:\t0000000000000000\nCapInh:\t0000000000000000\n";
  const uint64_t mask = ParseSigIgn(status);
  CHECK(mask == 0x1006);
  CHECK((mask >> (SIGPIPE - 1) & 1) == 1);
  CHECK((mask >> (SIGINT - 1) & 1) == 1);
  CHECK((mask >> (SIGTERM - 1) & 1) == 0);
}

TEST_CASE("sig_ign: edge cases", "[launch]") {
  CHECK(ParseSigIgn("SigIgn:\t0000000000000000\n") == 0);
  CHECK(ParseSigIgn("SigIgn:\tffffffffffffffff\n") == kAllSignals);
  CHECK(ParseSigIgn("SigIgn:\tFFFFFFFFFFFFFFFE") == 0xfffffffffffffffeULL);  // no final newline
  CHECK(ParseSigIgn("SigIgn: 1\n") == 1);                                 // short, space
  CHECK(ParseSigIgn("x\nSigIgn:1000\ny\n") == 0x1000);                    // no blank at all
  // Every malformed line is "all signals", never a guess.
  for (const char* bad : {
           "",                                      // nothing
           "SigCgt:\t0000000000000000\n",           // no SigIgn line
           "SigIgn:\t\n",                           // no digits
           "SigIgn:\n",                             // no value
           "SigIgn:",                               // cut short
           "SigIgn:\t0x1000\n",                     // a prefix strtoull took
           "SigIgn:\t-1\n",                         // a sign strtoull took
           "SigIgn:\t+1\n",                         // a sign strtoull took
           "SigIgn:\t00000000000000001\n",          // 17 digits
           "SigIgn:\t10000000000000000\n",          // overflow (strtoull: ULLONG_MAX)
           "SigIgn:\t0000000000001000 \n",          // trailing blank
           "SigIgn:\t0000000000001000x\n",          // trailing text
           "SigIgn:\t00000000 00001000\n",          // a blank inside
           "XSigIgn:\t0000000000001000\n",          // another key
           " SigIgn:\t0000000000001000\n",          // not at the start of its line
           "SigIgn:\t0\nSigIgn:\t1\n",              // two lines: which?
       }) {
    INFO("\"" << bad << "\"");
    CHECK(ParseSigIgn(bad) == kAllSignals);
  }
  // A NUL byte is not a digit.
  CHECK(ParseSigIgn(std::string("SigIgn:\t10\0" "0\n", 13)) == kAllSignals);
}

TEST_CASE("sig_ign: this process's ignored signals", "[launch]") {
  struct sigaction old_action, ign;
  ign = {};
  ign.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGUSR2, &ign, &old_action) == 0);
  const uint64_t mask = IgnoredSignals();
  REQUIRE(::sigaction(SIGUSR2, &old_action, nullptr) == 0);
  CHECK(mask != kAllSignals);
  CHECK((mask >> (SIGUSR2 - 1) & 1) == 1);
  CHECK((IgnoredSignals() >> (SIGUSR2 - 1) & 1) == (old_action.sa_handler == SIG_IGN ? 1 : 0));
}

}  // namespace
}  // namespace warden::launch
