// Small helpers for absl::Status propagation (Abseil 20220623 on Debian 12
// has no RETURN_IF_ERROR / ASSIGN_OR_RETURN). Header-only; no state.
#ifndef BUILDGATE_ENGINE_STATUS_MACROS_H_
#define BUILDGATE_ENGINE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define BG_CONCAT_INNER_(a, b) a##b
#define BG_CONCAT_(a, b) BG_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define BG_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::absl::Status bg_status_ = (expr);          \
    if (!bg_status_.ok()) return bg_status_;     \
  } while (false)

// `lhs = value of expr` (an absl::StatusOr<T>), or return its error.
#define BG_ASSIGN_OR_RETURN(lhs, expr) \
  BG_ASSIGN_OR_RETURN_IMPL_(BG_CONCAT_(bg_statusor_, __LINE__), lhs, expr)
#define BG_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#endif  // BUILDGATE_ENGINE_STATUS_MACROS_H_
