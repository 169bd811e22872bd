// The one way the engine names a protobuf enum value in text (reasons,
// errors, metric labels): its proto name, e.g. EnumName(v1::ARCH_ARM64) is
// "ARCH_ARM64". A value the proto does not define (a newer client, a bug)
// reads "UNKNOWN_ENUM_VALUE" instead of the empty string X_Name() returns.
// Header-only; thread-safe (descriptors are immutable).
#ifndef BUILDGATE_ENGINE_ENUM_NAMES_H_
#define BUILDGATE_ENGINE_ENUM_NAMES_H_

#include "absl/strings/string_view.h"
#include "google/protobuf/generated_enum_reflection.h"

namespace buildgate {

template <typename E>
absl::string_view EnumName(E value) {
  const google::protobuf::EnumValueDescriptor* v =
      google::protobuf::GetEnumDescriptor<E>()->FindValueByNumber(static_cast<int>(value));
  return v != nullptr ? absl::string_view(v->name()) : absl::string_view("UNKNOWN_ENUM_VALUE");
}

}  // namespace buildgate

#endif  // BUILDGATE_ENGINE_ENUM_NAMES_H_
