#include "common/input_error.h"

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace buildgate {
namespace {

// buildgate.v1.InputError field numbers.
constexpr int kFile = 2;
constexpr int kLine = 3;
constexpr int kColumn = 4;
constexpr int kField = 5;
constexpr int kValue = 6;

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(int number, absl::string_view s, std::string* out) {
  if (s.empty()) return;
  PutVarint(static_cast<uint64_t>(number) << 3 | 2, out);
  PutVarint(s.size(), out);
  out->append(s.data(), s.size());
}

void PutInt(int number, int v, std::string* out) {
  if (v <= 0) return;
  PutVarint(static_cast<uint64_t>(number) << 3, out);
  PutVarint(static_cast<uint64_t>(v), out);
}

bool GetVarint(absl::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// `status` with message `message`, its code and every payload kept.
absl::Status Rewrite(const absl::Status& status, absl::string_view message) {
  absl::Status out(status.code(), message);
  status.ForEachPayload([&out](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace

std::string QuoteValue(absl::string_view text) {
  const absl::string_view head = text.substr(0, kQuoteValueMax);
  std::string out = absl::StrCat("\"", absl::CEscape(head), "\"");
  if (head.size() < text.size()) absl::StrAppend(&out, "…(", text.size(), " bytes)");
  return out;
}

bool IsCredentialField(absl::string_view field) {
  const std::string lower = absl::AsciiStrToLower(field);
  for (absl::string_view word : {"password", "passwd", "secret", "token", "credential", "auth",
                                 "apikey", "api_key", "access_key", "private_key", "key_id"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

absl::Status LocatedError(absl::string_view file, int line, int column, absl::string_view field,
                          absl::string_view what, absl::StatusCode code) {
  std::string message(file);
  if (line != kNoPosition) absl::StrAppend(&message, ":", line, ":", column);
  absl::StrAppend(&message, ": ", field, field.empty() ? "" : ": ", what);
  InputLocation location;
  location.file = std::string(file);
  location.line = line > 0 ? line : 0;
  location.column = line > 0 && column > 0 ? column : 0;
  location.field = std::string(field);
  return SetInputLocation(absl::Status(code, message), location);
}

InputLocation GetInputLocation(const absl::Status& status) {
  if (status.ok()) return {};
  const auto payload = status.GetPayload(kInputErrorTypeUrl);
  if (!payload.has_value()) return {};
  return DecodeInputLocation(std::string(*payload)).value_or(InputLocation{});
}

absl::Status SetInputLocation(absl::Status status, const InputLocation& location) {
  if (status.ok()) return status;
  if (location.empty()) {
    status.ErasePayload(kInputErrorTypeUrl);
  } else {
    status.SetPayload(kInputErrorTypeUrl, absl::Cord(EncodeInputLocation(location)));
  }
  return status;
}

absl::Status WithValue(absl::Status status, absl::string_view raw) {
  InputLocation location = GetInputLocation(status);
  if (IsCredentialField(location.field)) return status;
  location.value = QuoteValue(raw);
  return SetInputLocation(std::move(status), location);
}

absl::Status WithFieldPrefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  InputLocation location = GetInputLocation(status);
  if (location.field.empty()) {
    absl::string_view bare = prefix;
    absl::ConsumeSuffix(&bare, ".");
    location.field = std::string(bare);
  } else {
    location.field = absl::StrCat(prefix, location.field);
  }
  return SetInputLocation(Rewrite(status, absl::StrCat(prefix, status.message())), location);
}

absl::Status WithField(const absl::Status& status, absl::string_view field) {
  if (status.ok()) return status;
  InputLocation location = GetInputLocation(status);
  location.field = std::string(field);
  if (IsCredentialField(field)) location.value.clear();
  return SetInputLocation(Rewrite(status, absl::StrCat(field, ": ", status.message())), location);
}

absl::Status WithFile(const absl::Status& status, absl::string_view file) {
  if (status.ok()) return status;
  InputLocation location = GetInputLocation(status);
  if (location.file.empty()) location.file = std::string(file);
  return SetInputLocation(Rewrite(status, absl::StrCat(file, ": ", status.message())), location);
}

absl::Status ReplaceFieldPrefix(const absl::Status& status, absl::string_view from,
                                absl::string_view to) {
  absl::string_view message = status.message();
  if (status.ok() || !absl::ConsumePrefix(&message, from)) return status;
  InputLocation location = GetInputLocation(status);
  absl::string_view field = location.field;
  if (absl::ConsumePrefix(&field, from)) location.field = absl::StrCat(to, field);
  return SetInputLocation(Rewrite(status, absl::StrCat(to, message)), location);
}

std::string EncodeInputLocation(const InputLocation& location) {
  std::string out;
  PutString(kFile, location.file, &out);
  PutInt(kLine, location.line, &out);
  PutInt(kColumn, location.column, &out);
  PutString(kField, location.field, &out);
  PutString(kValue, location.value, &out);
  return out;
}

std::optional<InputLocation> DecodeInputLocation(absl::string_view in) {
  InputLocation location;
  while (!in.empty()) {
    uint64_t tag = 0;
    if (!GetVarint(&in, &tag)) return std::nullopt;
    const uint64_t number = tag >> 3;
    switch (tag & 7) {
      case 0: {
        uint64_t v = 0;
        if (!GetVarint(&in, &v)) return std::nullopt;
        const int n = v > 0x7FFFFFFF ? 0 : static_cast<int>(v);
        if (number == kLine) location.line = n;
        if (number == kColumn) location.column = n;
        break;
      }
      case 2: {
        uint64_t size = 0;
        if (!GetVarint(&in, &size) || size > in.size()) return std::nullopt;
        const std::string s(in.substr(0, size));
        in.remove_prefix(size);
        if (number == kFile) location.file = s;
        if (number == kField) location.field = s;
        if (number == kValue) location.value = s;
        break;
      }
      case 1:
        if (in.size() < 8) return std::nullopt;
        in.remove_prefix(8);
        break;
      case 5:
        if (in.size() < 4) return std::nullopt;
        in.remove_prefix(4);
        break;
      default:
        return std::nullopt;
    }
  }
  return location;
}

}  // namespace buildgate
