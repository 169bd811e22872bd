#include "common/command_line.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/version_info.h"

namespace buildgate {
namespace {

std::size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Every name a user may type at this level: the app's options (long and
// short forms) and its subcommands.
std::vector<std::string> NamesOf(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
    for (const std::string& n : o->get_snames()) names.push_back("-" + n);
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

// The deepest subcommand the user reached (its options are the candidates).
const CLI::App* Deepest(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) return Deepest(*sub);
  return &app;
}

}  // namespace

std::string ClosestMatch(absl::string_view word, const std::vector<std::string>& candidates) {
  // Compare without the value of --flag=value.
  word = word.substr(0, word.find('='));
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    const std::size_t d = EditDistance(word, c);
    if (d < best_distance && d > 0) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

CLI::Option* AddDurationOption(CLI::App* app, const std::string& name, absl::Duration* into,
                               const std::string& help) {
  return app
      ->add_option_function<std::string>(
          name,
          [into, name](const std::string& text) {
            absl::Duration d;
            if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
              throw CLI::ValidationError(
                  name, "takes a duration such as 500ms, 2s or 1m30s, not \"" + text + "\"");
            }
            *into = d;
          },
          help + " (default " + absl::FormatDuration(*into) + ")")
      ->type_name("DURATION");
}

int ParseCommandLine(CLI::App& app, std::vector<std::string> args, std::ostream& out,
                     std::ostream& err, int usage_exit_code) {
  // `--flag=` means the empty value (--metrics_address= turns metrics off);
  // CLI11 would take the next argument as the value instead.
  std::vector<std::string> split;
  split.reserve(args.size() + 4);
  for (std::string& a : args) {
    if (absl::StartsWith(a, "--") && a.size() > 3 && a.back() == '=' &&
        a.find('=') == a.size() - 1) {
      split.push_back(a.substr(0, a.size() - 1));
      split.emplace_back();
    } else {
      split.push_back(std::move(a));
    }
  }
  args = std::move(split);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first.
  try {
    app.parse(args);
    return -1;
  } catch (const CLI::CallForVersion& e) {
    out << e.what();
    return 0;
  } catch (const CLI::CallForHelp&) {
    const CLI::App* at = Deepest(app);
    std::string help = at->help();
    if (at != &app) {  // "Usage: decide" -> "Usage: buildgate decide".
      const std::string usage = "Usage: " + at->get_name();
      if (const std::size_t pos = help.find(usage); pos != std::string::npos) {
        help.replace(pos, usage.size(), "Usage: " + app.get_name() + " " + at->get_name());
      }
    }
    out << help;
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    const CLI::App* at = Deepest(app);
    const std::string command =
        at == &app ? app.get_name() : absl::StrCat(app.get_name(), " ", at->get_name());
    err << command << ": " << e.what() << "\n";
    // Suggest the closest name for each argument nobody took.
    for (const std::string& extra : at->remaining()) {
      const std::string match = ClosestMatch(extra, NamesOf(*at));
      if (!match.empty())
        err << command << ": did you mean " << match << " (not " << extra << ")?\n";
    }
    err << "Run '" << command << " --help' for usage.\n";
    return usage_exit_code;
  }
}

std::string VersionLine(absl::string_view program) {
  return absl::StrCat(program, " ", kBuildgateVersion, " (git ", kBuildgateGitRevision, ")");
}

}  // namespace buildgate
