// absl::Status helpers shared by every layer: the one way to say "this field
// is invalid" and the propagation macros (Abseil 20220623 on Debian 12 has no
// RETURN_IF_ERROR / ASSIGN_OR_RETURN). No state; thread-safe.
#ifndef BUILDGATE_COMMON_STATUS_H_
#define BUILDGATE_COMMON_STATUS_H_

#include <utility>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/input_error.h"

namespace buildgate {

// kInvalidArgument "FIELD: WHAT", e.g. InvalidField("step.repo", "required").
// Every hand-written input check reports through this, so every error names
// the field first and reads the same way; the field is also carried as data
// (common/input_error.h).
// Out of line and cold: the checks that call it run on every request, and
// the error path, inlined at each of their returns, would crowd the path
// that passes.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE absl::Status InvalidField(absl::string_view field,
                                                                     absl::string_view what);

}  // namespace buildgate

#define BG_CONCAT_INNER_(a, b) a##b
#define BG_CONCAT_(a, b) BG_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define BG_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status bg_status_ = (expr);      \
    if (!bg_status_.ok()) return bg_status_; \
  } while (false)

// `lhs = value of expr` (an absl::StatusOr<T>), or return its error.
// `lhs` may declare a variable: BG_ASSIGN_OR_RETURN(auto x, F());
#define BG_ASSIGN_OR_RETURN(lhs, expr) \
  BG_ASSIGN_OR_RETURN_IMPL_(BG_CONCAT_(bg_statusor_, __LINE__), lhs, expr)
#define BG_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#endif  // BUILDGATE_COMMON_STATUS_H_
