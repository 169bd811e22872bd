#include "lint/message_subset.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"

namespace buildgate::lint {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::string Short(const Message& m) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintToString(m, &text);
  return text;
}

std::string ScalarText(const Message& m, const FieldDescriptor* f, int index) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.PrintFieldValueToString(m, f, index, &text);
  return text;
}

void Compare(const Message& expected, const Message& actual, const std::string& path,
             std::vector<std::string>* out);

bool Matches(const Message& expected, const Message& actual) {
  std::vector<std::string> sub;
  Compare(expected, actual, "", &sub);
  return sub.empty();
}

void Compare(const Message& expected, const Message& actual, const std::string& path,
             std::vector<std::string>* out) {
  std::vector<const FieldDescriptor*> fields;
  expected.GetReflection()->ListFields(expected, &fields);
  const auto* er = expected.GetReflection();
  const auto* ar = actual.GetReflection();
  for (const FieldDescriptor* f : fields) {
    const std::string at = path.empty() ? f->name() : absl::StrCat(path, ".", f->name());
    if (f->is_repeated()) {
      const int n = ar->FieldSize(actual, f);
      for (int i = 0; i < er->FieldSize(expected, f); ++i) {
        bool found = false;
        for (int j = 0; j < n && !found; ++j) {
          if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            found = Matches(er->GetRepeatedMessage(expected, f, i), ar->GetRepeatedMessage(actual, f, j));
          } else {
            found = ScalarText(expected, f, i) == ScalarText(actual, f, j);
          }
        }
        if (!found) {
          const std::string want = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
                                       ? Short(er->GetRepeatedMessage(expected, f, i))
                                       : ScalarText(expected, f, i);
          out->push_back(absl::StrCat(at, ": no element matches {", want, "}"));
        }
      }
      continue;
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Compare(er->GetMessage(expected, f), ar->GetMessage(actual, f), at, out);
      continue;
    }
    const bool present = !f->has_presence() || ar->HasField(actual, f);
    const std::string want = ScalarText(expected, f, -1);
    const std::string got = present ? ScalarText(actual, f, -1) : "(unset)";
    if (want != got) out->push_back(absl::StrCat(at, ": expected ", want, ", got ", got));
  }
}

}  // namespace

std::vector<std::string> SubsetMismatches(const Message& expected, const Message& actual) {
  std::vector<std::string> out;
  Compare(expected, actual, "", &out);
  return out;
}

}  // namespace buildgate::lint
