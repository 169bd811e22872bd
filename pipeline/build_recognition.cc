#include "pipeline/internal/build_recognition.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grammar/expression.h"
#include "grammar/reference.h"

namespace buildgate::pipeline::internal {
namespace {

absl::string_view BaseName(absl::string_view word) {
  const std::size_t slash = word.rfind('/');
  return slash == absl::string_view::npos ? word : word.substr(slash + 1);
}

// "registry/acme/app:1.2" -> "registry/acme/app"; quotes dropped; a shell
// variable makes it unknown ("").
std::string CommandImageName(absl::string_view word) {
  absl::ConsumePrefix(&word, "\"");
  absl::ConsumeSuffix(&word, "\"");
  absl::ConsumePrefix(&word, "'");
  absl::ConsumeSuffix(&word, "'");
  if (absl::StrContains(word, '$') && !ContainsHarnessExpression(word)) return std::string();
  return std::string(ImageNameOf(word));
}

// The build command among one shell command's words, e.g. "docker build",
// and the image it tags into `*image`.
std::string BuildInWords(const std::vector<absl::string_view>& words, std::string* image) {
  std::string found;
  for (std::size_t i = 0; i < words.size() && found.empty(); ++i) {
    const absl::string_view tool = BaseName(words[i]);
    std::size_t j = i + 1;
    while (j < words.size() && absl::StartsWith(words[j], "-")) {  // Global flags.
      const bool takes_value =
          !absl::StrContains(words[j], '=') &&
          (words[j] == "-H" || words[j] == "--host" || words[j] == "--config" || words[j] == "-c" ||
           words[j] == "--context" || words[j] == "-l" || words[j] == "--log-level" ||
           words[j] == "--tlscacert" || words[j] == "--tlscert" || words[j] == "--tlskey" ||
           words[j] == "--storage-driver" || words[j] == "--root");
      j += takes_value ? 2 : 1;
    }
    const absl::string_view verb = j < words.size() ? words[j] : absl::string_view();
    if ((tool == "docker" || tool == "podman") && (verb == "build" || verb == "buildx")) {
      found = absl::StrCat(tool, verb == "buildx" ? " buildx build" : " build");
    } else if (tool == "docker" && verb == "image" && j + 1 < words.size() &&
               words[j + 1] == "build") {
      found = "docker image build";
    } else if (tool == "buildah" && (verb == "bud" || verb == "build")) {
      found = absl::StrCat("buildah ", verb);
    } else if (tool == "executor" && absl::StrContains(words[i], "kaniko")) {
      found = "kaniko executor";
    }
    if (found.empty()) continue;
    for (std::size_t k = i + 1; k + 1 < words.size(); ++k) {
      if (words[k] == "-t" || words[k] == "--tag" || words[k] == "--destination" ||
          words[k] == "-d") {
        *image = CommandImageName(words[k + 1]);
        break;
      }
      for (absl::string_view flag : {"--tag=", "--destination="}) {
        if (absl::StartsWith(words[k], flag))
          *image = CommandImageName(words[k].substr(flag.size()));
      }
      if (!image->empty()) break;
    }
  }
  return found;
}

}  // namespace

std::optional<BuildKind> BuildKindOfStepType(absl::string_view type) {
  if (absl::StartsWith(type, "BuildAndPush")) return BuildKind::kBuildAndPush;
  if (type == "Plugin") return BuildKind::kPlugin;
  if (type == "Run") return BuildKind::kRunCommand;
  if (ContainsHarnessExpression(type)) return BuildKind::kUnknownType;
  return std::nullopt;
}

ScriptBuild FindScriptBuild(absl::string_view script) {
  ScriptBuild out;
  for (absl::string_view segment : absl::StrSplit(script, absl::ByAnyChar("\n;&|"))) {
    const std::vector<absl::string_view> words =
        absl::StrSplit(segment, absl::ByAnyChar(" \t\r()"), absl::SkipEmpty());
    if (words.empty() || absl::StartsWith(words[0], "#") || words[0] == "echo" ||
        words[0] == "printf") {
      continue;
    }
    out.command = BuildInWords(words, &out.image);
    if (!out.command.empty()) return out;
  }
  return out;
}

bool IsRunStepBuild(const ScriptBuild& script_build, absl::string_view run_image) {
  // A Run step whose script builds nothing and that names no image (it runs
  // on the host or the stage's default image) builds nothing.
  return !script_build.command.empty() || !run_image.empty();
}

bool NeedsDockerDaemon(absl::string_view command) { return absl::StartsWith(command, "docker"); }

bool IsDockerInDockerImage(absl::string_view image) {
  absl::string_view name = image;
  for (absl::string_view prefix : {"docker.io/library/", "docker.io/", "library/"}) {
    if (absl::ConsumePrefix(&name, prefix)) break;
  }
  return absl::StartsWith(name, "docker:") && absl::StrContains(name, "dind");
}

}  // namespace buildgate::pipeline::internal
