#include "tests/testing/json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace buildgate::testing {

absl::Status ParseJsonObject(absl::string_view line) {
  google::protobuf::Struct object;
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(line), &object);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  return absl::OkStatus();
}

absl::Status EveryLineIsJsonObject(absl::string_view text, int* lines) {
  int n = 0;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (line.empty()) continue;
    ++n;
    absl::Status s = ParseJsonObject(line);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, " is not a JSON object (", s.message(), "): ",
                       line.substr(0, 200)));
    }
  }
  if (lines != nullptr) *lines = n;
  return absl::OkStatus();
}

}  // namespace buildgate::testing
