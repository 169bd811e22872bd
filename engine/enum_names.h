// The one way the engine names a protobuf enum value in text (reasons,
// errors, metric labels): its proto name, e.g. EnumName(v1::ARCH_ARM64) is
// "ARCH_ARM64". A value the proto does not define (a newer client, a bug)
// reads "UNKNOWN_ENUM_VALUE" instead of the empty string X_Name() returns.
// Header-only; thread-safe (descriptors are immutable).
#ifndef BUILDGATE_ENGINE_ENUM_NAMES_H_
#define BUILDGATE_ENGINE_ENUM_NAMES_H_

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/generated_enum_reflection.h"

namespace buildgate {

template <typename E>
absl::string_view EnumName(E value) {
  // Names by number, read once from the descriptor (an array lookup per call:
  // the remediation search names enums thousands of times per deny).
  static const std::vector<std::string>* const names = [] {
    const google::protobuf::EnumDescriptor* d = google::protobuf::GetEnumDescriptor<E>();
    int max = 0;
    for (int i = 0; i < d->value_count(); ++i) max = std::max(max, d->value(i)->number());
    auto* by_number = new std::vector<std::string>(static_cast<std::size_t>(max) + 1);
    for (int i = 0; i < d->value_count(); ++i) {
      if (d->value(i)->number() >= 0) (*by_number)[d->value(i)->number()] = d->value(i)->name();
    }
    return by_number;
  }();
  const int n = static_cast<int>(value);
  if (n < 0 || static_cast<std::size_t>(n) >= names->size() || (*names)[n].empty()) {
    return "UNKNOWN_ENUM_VALUE";
  }
  return (*names)[n];
}

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_ENUM_NAMES_H_
