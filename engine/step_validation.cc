#include "engine/step_validation.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/input_error.h"
#include "common/status.h"
#include "engine/enum_names.h"
#include "input/limits.h"
#include "engine/policy.h"
#include "grammar/reference.h"
#include "grammar/registry.h"

namespace buildgate {
namespace {

// One table lookup per character for the checks below.
enum CharClass : unsigned char { kPlain = 0, kSpace = 1, kControl = 2, kSlash = 4 };

const std::array<unsigned char, 256>& CharClasses() {
  static const auto* table = [] {
    auto* t = new std::array<unsigned char, 256>{};
    for (int c = 0; c < 256; ++c) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c))) (*t)[c] |= kSpace;
      if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) (*t)[c] |= kControl;
    }
    (*t)['/'] |= kSlash;
    return t;
  }();
  return *table;
}

// The union of the classes of the characters in `s`. Most values are plain
// text, some with '/': those are answered eight bytes at a time; a value
// with a space or control character is classified byte by byte.
unsigned char Classes(const std::string& s) {
  using bytes::AnyByteBelow;
  using bytes::AnyByteIs;
  bool slash = false;
  for (std::size_t i = 0; i < s.size(); i += 8) {
    uint64_t x = 0x6161616161616161ull;  // 'a' pads the last word.
    std::memcpy(&x, s.data() + i, std::min<std::size_t>(8, s.size() - i));
    if (AnyByteBelow(x, 0x21) || AnyByteIs(x, 0x7f)) {
      const auto& table = CharClasses();
      unsigned char seen = 0;
      for (char c : s) seen |= table[static_cast<unsigned char>(c)];
      return seen;
    }
    slash = slash || AnyByteIs(x, '/');
  }
  return slash ? kSlash : kPlain;
}

// True when `s` holds a C1 control character (U+0080 to U+009F, UTF-8
// 0xC2 0x80-0x9F).
bool HasC1Control(absl::string_view s) {
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i + 1]);
    if (static_cast<unsigned char>(s[i]) == 0xC2 && c >= 0x80 && c <= 0x9F) return true;
  }
  return false;
}

absl::Status CheckUid(absl::string_view field, int64_t uid) {
  if (uid < 0 || uid > kMaxUid)
    return InvalidField(absl::StrCat("step.", field), "must be between 0 and 2147483647");
  return absl::OkStatus();
}

}  // namespace

v1::Destination DestinationOfKind(v1::StepKind kind) {
  switch (kind) {
    case v1::STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY:
      return v1::DESTINATION_DOCKER_REGISTRY;
    case v1::STEP_KIND_BUILD_AND_PUSH_ECR:
      return v1::DESTINATION_ECR;
    case v1::STEP_KIND_BUILD_AND_PUSH_GCR:
      return v1::DESTINATION_GCR;
    case v1::STEP_KIND_BUILD_AND_PUSH_GAR:
      return v1::DESTINATION_GAR;
    case v1::STEP_KIND_BUILD_AND_PUSH_ACR:
      return v1::DESTINATION_ACR;
    default:
      return v1::DESTINATION_UNSPECIFIED;
  }
}

absl::Status ValidateStep(const v1::BuildStep& step) {
  // Length and control characters for every string field; each field's
  // character classes are read once and kept for the checks below.
  enum Field { kOrg, kProject, kPipeline, kStage, kStep, kName, kImage, kConnector, kRegistry,
               kRepo, kDockerfile, kContext, kUsername, kPassword, kFieldCount };
  const std::pair<const char*, const std::string*> strings[kFieldCount] = {
      {"org_id", &step.org_id()},
      {"project_id", &step.project_id()},
      {"pipeline_id", &step.pipeline_id()},
      {"stage_id", &step.stage_id()},
      {"step_id", &step.step_id()},
      {"name", &step.name()},
      {"image", &step.image()},
      {"connector_ref", &step.connector_ref()},
      {"registry", &step.registry()},
      {"repo", &step.repo()},
      {"dockerfile", &step.dockerfile()},
      {"context", &step.context()},
      {"credentials.username", &step.credentials().username()},
      {"credentials.password", &step.credentials().password()}};
  unsigned char classes[kFieldCount];
  for (int i = 0; i < kFieldCount; ++i) {
    const auto& [field, value] = strings[i];
    if (value->size() > kMaxFieldLength) {
      return InvalidField(absl::StrCat("step.", field),
                          absl::StrCat("longer than ", kMaxFieldLength, " characters"));
    }
    classes[i] = Classes(*value);
    // Never echo credential values, even in errors.
    if (classes[i] & kControl)
      return InvalidField(absl::StrCat("step.", field), "contains control characters");
  }
  for (const int id : {kOrg, kProject, kPipeline, kStage, kStep}) {
    if (classes[id] & (kSpace | kSlash)) {
      return InvalidField(absl::StrCat("step.", strings[id].first),
                          "an identifier has no spaces or '/'");
    }
    if (HasC1Control(*strings[id].second)) {
      return InvalidField(absl::StrCat("step.", strings[id].first), "contains control characters");
    }
  }
  if (step.kind() == v1::STEP_KIND_UNSPECIFIED || !v1::StepKind_IsValid(step.kind())) {
    return InvalidField(
        "step.kind",
        "required: STEP_KIND_BUILD_AND_PUSH_DOCKER_REGISTRY, _ECR, _GCR, _GAR, _ACR "
        "or STEP_KIND_PLUGIN");
  }
  if (step.kind() == v1::STEP_KIND_PLUGIN) {
    if (step.image().empty()) return InvalidField("step.image", "required for a Plugin step");
    if (classes[kImage] & kSpace)
      return InvalidField("step.image", "an image reference has no spaces");
  } else if (!step.image().empty()) {
    return InvalidField("step.image",
                        "only a Plugin step names an image; Build and Push steps do not");
  }
  if (!v1::Builder_IsValid(step.requested_builder()))
    return InvalidField("step.requested_builder", "unknown builder");
  if (!v1::Arch_IsValid(step.arch()))
    return InvalidField("step.arch", "unknown architecture");
  if (!v1::Platform_IsValid(step.infrastructure().platform())) {
    return InvalidField("step.infrastructure.platform", "unknown platform");
  }
  if (!v1::InfrastructureType_IsValid(step.infrastructure().type())) {
    return InvalidField("step.infrastructure.type", "unknown infrastructure type");
  }
  if (!v1::OperatingSystem_IsValid(step.infrastructure().os())) {
    return InvalidField("step.infrastructure.os", "unknown operating system");
  }
  if (step.repo().empty())
    return InvalidField("step.repo", "required: the repository to build for");
  if (classes[kRepo] & kSpace) return InvalidField("step.repo", "a repository has no spaces");
  if (const std::string problem = RepositoryProblem(step.repo()); !problem.empty()) {
    return WithValue(
        InvalidField("step.repo", absl::StrCat(QuoteInput(step.repo()), ": ", problem)), step.repo());
  }
  if (classes[kRegistry] & kSpace) return InvalidField("step.registry", "a registry has no spaces");
  const v1::Destination dest = DestinationOfKind(step.kind());
  if (step.registry().empty() &&
      (dest == v1::DESTINATION_ECR || dest == v1::DESTINATION_GAR || dest == v1::DESTINATION_ACR)) {
    return InvalidField("step.registry", absl::StrCat("required for ", EnumName(step.kind())));
  }
  for (int i = 0; i < step.tags_size(); ++i) {
    const std::string& tag = step.tags(i);
    if (ContainsHarnessExpression(tag)) continue;  // Known only when the pipeline runs.
    if (const std::string problem = TagProblem(tag); !problem.empty()) {
      return WithValue(InvalidField(absl::StrCat("step.tags[", i, "]"),
                                    absl::StrCat(QuoteInput(tag), ": ", problem)),
                       tag);
    }
  }
  if (!step.credentials().password().empty() && step.credentials().username().empty()) {
    return InvalidField("step.credentials.username", "required when a password is given");
  }
  if (step.has_run_as_user()) {
    BG_RETURN_IF_ERROR(CheckUid("run_as_user", step.run_as_user()));
  }
  const auto& ctx = step.infrastructure().container_security_context();
  if (ctx.has_run_as_user()) {
    BG_RETURN_IF_ERROR(
        CheckUid("infrastructure.container_security_context.run_as_user", ctx.run_as_user()));
  }
  for (const auto* list : {&ctx.capabilities().add(), &ctx.capabilities().drop()}) {
    for (const std::string& cap : *list) {
      const bool ok = !cap.empty() && std::all_of(cap.begin(), cap.end(), [](char c) {
        return absl::ascii_isupper(static_cast<unsigned char>(c)) || c == '_';
      });
      if (!ok) {
        return InvalidField("step.infrastructure.container_security_context.capabilities",
                            "capabilities are UPPER_CASE names such as CHOWN or ALL");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckIdentifier(absl::string_view field, absl::string_view id) {
  const unsigned char classes = Classes(std::string(id));
  if ((classes & kControl) || HasC1Control(id)) {
    return InvalidField(field, "contains control characters");
  }
  if (classes & (kSpace | kSlash)) return InvalidField(field, "an identifier has no spaces or '/'");
  return absl::OkStatus();
}

}  // namespace buildgate
