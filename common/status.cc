#include "common/status.h"

#include <string>

namespace buildgate {

absl::Status InvalidField(absl::string_view field, absl::string_view what) {
  InputLocation location;
  location.field = std::string(field);
  return SetInputLocation(absl::InvalidArgumentError(absl::StrCat(field, ": ", what)), location);
}

}  // namespace buildgate
