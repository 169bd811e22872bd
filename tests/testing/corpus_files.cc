#include "tests/testing/corpus_files.h"

#include <algorithm>
#include <filesystem>

#include "common/file.h"
#include "input/proto_text.h"

namespace buildgate::testing {

std::vector<CorpusCase> LoadCorpusFiles(const std::string& dir, std::vector<std::string>* errors) {
  std::vector<CorpusCase> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    CorpusCase c;
    c.name = entry.path().filename().string();
    auto text = ReadFileToString(entry.path().string());
    absl::Status status = text.ok() ? ParseYamlToMessage(*text, entry.path().string(), &c.data)
                                    : text.status();
    if (!status.ok()) {
      if (errors) errors->push_back(status.ToString());
      continue;
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const CorpusCase& a, const CorpusCase& b) { return a.name < b.name; });
  return out;
}

}  // namespace buildgate::testing
