#include "client/exit_codes.h"

namespace buildgate {

int Worse(int a, int b) {
  auto rank = [](int code) {
    switch (code) {
      case kExitBadInput:
        return 6;
      case kExitUnavailable:
        return 5;
      case kExitInternal:
        return 4;
      case kExitDeny:
        return 3;
      case kExitAllowWithChanges:
        return 2;
      default:
        return 1;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace buildgate
