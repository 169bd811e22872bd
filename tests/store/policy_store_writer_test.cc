// The policy store serves only what a writer finished (issue 21, item 7):
// each reproduced fault as a test against the store alone (no gRPC server,
// so these also run under ThreadSanitizer):
//  - a writer that stalls with half a file written and the file open;
//  - a Kubernetes ConfigMap "..data" swap storm read by a concurrent lister;
//  - a directory emptied one file at a time, and "..data" pointing at an
//    empty directory;
//  - a second file defining an org that is already served.
// Each check counts what it saw and prints the figures (the closing note of
// the issue quotes them). The 10 s and 60 s stalls are DISABLED_ (run them
// with --gtest_also_run_disabled_tests).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/policy_store.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

namespace fs = std::filesystem;

constexpr char kOrg[] = "acme";

// Revision `revision`; `with_override` adds a project override that forbids
// privileged. The text up to "overrides:" is itself a valid, looser policy:
// what a writer cut short at a line boundary leaves behind.
std::string Policy(const std::string& org, const std::string& revision, bool with_override) {
  std::string text = absl::StrCat("org_id: ", org, "\npolicy:\n  revision: \"", revision,
                                  "\"\n  root: ROOT_FORBIDDEN\n  privileged: PRIVILEGED_ALLOWED\n");
  if (with_override) {
    absl::StrAppend(
        &text,
        "overrides:\n  - project_id: payments\n    policy: {privileged: PRIVILEGED_FORBIDDEN}\n");
  }
  return text;
}

// Polls `condition` for up to 10 s.
bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

bool HasErrorContaining(const PolicySnapshot& snap, const std::string& text) {
  for (const auto& e : snap.file_errors) {
    if (absl::StrContains(e.error(), text)) return true;
  }
  return false;
}

class PolicyStoreWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDirectory("bg_writer");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Whole, by rename, as a careful writer does.
  void WriteWhole(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.parent_path() / (".tmp-" + path.filename().string());
    std::ofstream(tmp) << text;
    fs::rename(tmp, path);
  }
  PolicyStore Store(absl::Duration settle) {
    PolicyStoreOptions o;
    o.settle_time = settle;
    return PolicyStore(
        dir_.string(), [] { return absl::UnixEpoch(); }, o);
  }

  // A writer rewrites acme.yaml in place with revision 2: it writes the part
  // before the override, stalls for `stall` with the file open, then writes
  // the rest and closes it. Meanwhile a reader looks acme up without pause.
  // Returns how many lookups it made; fails if any saw the cut version or no
  // set, or if the whole file does not load after the close.
  int64_t RunStalledWriter(absl::Duration stall) {
    WriteWhole(dir_ / "acme.yaml", Policy(kOrg, "1", true));
    PolicyStore store = Store(absl::Milliseconds(100));
    store.Reload();
    store.StartWatching(absl::Milliseconds(5), nullptr);
    const int whole_scopes =
        store.Snapshot()->Find(kOrg)->info.scopes_size();  // With the override.
    std::atomic<bool> stop{false};
    std::atomic<int64_t> lookups{0}, cut_served{0}, missing{0};
    std::thread reader([&] {
      while (!stop.load()) {
        const auto snap = store.Snapshot();
        const StoredPolicySet* set = snap->Find(kOrg);
        if (set == nullptr) {
          ++missing;
        } else if (set->info.scopes_size() < whole_scopes) {
          ++cut_served;  // Revision 2 without its override: the cut file.
        }
        ++lookups;
      }
    });
    const std::string whole = Policy(kOrg, "2", true);
    const std::string cut = whole.substr(0, whole.find("overrides:"));
    const int fd = ::open((dir_ / "acme.yaml").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    EXPECT_EQ(::write(fd, cut.data(), cut.size()), static_cast<ssize_t>(cut.size()));
    absl::SleepFor(stall);
    const int64_t lookups_while_open = lookups.load();
    EXPECT_EQ(store.Snapshot()->Find(kOrg)->info.revision(), "1")
        << "the file still open was loaded";
    EXPECT_EQ(store.Snapshot()->pending_files.size(), 1u);
    const std::string rest = whole.substr(cut.size());
    EXPECT_EQ(::write(fd, rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
    ::close(fd);
    EXPECT_TRUE(Eventually([&] { return store.Snapshot()->Find(kOrg)->info.revision() == "2"; }))
        << "the finished file was not loaded";
    stop = true;
    reader.join();
    store.StopWatching();
    EXPECT_EQ(cut_served.load(), 0) << "lookups that saw the cut policy";
    EXPECT_EQ(missing.load(), 0) << "lookups that found no set";
    EXPECT_EQ(store.Snapshot()->Find(kOrg)->info.scopes_size(), whole_scopes);
    std::cout << "stall " << absl::FormatDuration(stall) << ": " << lookups_while_open
              << " lookups while the writer stalled, " << lookups.load() << " in all, "
              << cut_served.load() << " saw the cut policy, " << missing.load()
              << " found no set\n";
    return lookups.load();
  }

  fs::path dir_;
};

// Proves a file still open for writing is not loaded however long its writer
// stalls (10 settle times here), and loads once the writer has closed it.
TEST_F(PolicyStoreWriterTest, StalledWriterIsNeverLoaded) {
  EXPECT_GT(RunStalledWriter(absl::Seconds(1)), 0);
}

// The same with a 10 s and a 60 s stall (minutes: run by hand).
TEST_F(PolicyStoreWriterTest, DISABLED_StalledWriter10s) {
  EXPECT_GT(RunStalledWriter(absl::Seconds(10)), 0);
}
TEST_F(PolicyStoreWriterTest, DISABLED_StalledWriter60s) {
  EXPECT_GT(RunStalledWriter(absl::Seconds(60)), 0);
}

// Proves a file renamed into place loads at once: the rename is the writer's
// promise that it is finished, so no settle time applies.
TEST_F(PolicyStoreWriterTest, RenamedFileLoadsAtOnce) {
  WriteWhole(dir_ / "acme.yaml", Policy(kOrg, "1", false));
  PolicyStore store = Store(absl::Hours(1));
  store.Reload();
  WriteWhole(dir_ / "acme.yaml", Policy(kOrg, "2", false));
  store.Reload();
  EXPECT_EQ(store.Snapshot()->Find(kOrg)->info.revision(), "2");
  EXPECT_TRUE(store.Snapshot()->pending_files.empty());
}

// A ConfigMap volume as the kubelet writes it: "..data" -> a timestamped
// directory holding the files, and one "NAME -> ..data/NAME" symlink each.
class ConfigMapVolume {
 public:
  explicit ConfigMapVolume(fs::path dir) : dir_(std::move(dir)) {}

  // Publishes `files` as the next version: a new directory, "..data"
  // swapped to it by rename, the top-level symlinks added, the previous
  // directory deleted.
  void Swap(const std::map<std::string, std::string>& files) {
    const std::string version = absl::StrCat("..2026_12_07_00_00_00.", ++version_);
    fs::create_directory(dir_ / version);
    for (const auto& [name, text] : files) std::ofstream(dir_ / version / name) << text;
    fs::create_symlink(version, dir_ / "..data_tmp");
    fs::rename(dir_ / "..data_tmp", dir_ / "..data");
    for (const auto& [name, text] : files) {
      std::error_code ignored;
      fs::create_symlink(fs::path("..data") / name, dir_ / name, ignored);
    }
    if (!current_.empty()) fs::remove_all(dir_ / current_);
    current_ = version;
  }

 private:
  const fs::path dir_;
  int version_ = 0;
  std::string current_;
};

// Proves a reload reads one version of a ConfigMap: under a storm of
// "..data" swaps, every snapshot a concurrent lister sees holds all 25
// orgs at one revision (a set of files that existed together), and the store
// ends on the last version.
TEST_F(PolicyStoreWriterTest, ConfigMapSwapStormNeverMixesVersions) {
  ConfigMapVolume volume(dir_);
  constexpr int kOrgs = 25;
  auto version = [](int n) {
    std::map<std::string, std::string> files;
    for (int org = 0; org < kOrgs; ++org) {
      files[absl::StrCat("org-", org, ".yaml")] =
          Policy(absl::StrCat("org-", org), absl::StrCat(n), false);
    }
    return files;
  };
  volume.Swap(version(0));
  PolicyStore store = Store(absl::Hours(1));
  store.Reload();
  store.StartWatching(absl::Milliseconds(1), nullptr);
  std::atomic<bool> stop{false};
  // Listings checked, and of the distinct snapshots they saw, how many
  // paired revisions (or lacked an org).
  std::atomic<int64_t> listings{0}, snapshots{0}, mixed{0}, incomplete{0};
  std::set<std::string> revisions_seen;  // Lister thread only until joined.
  std::thread lister([&] {
    std::shared_ptr<const PolicySnapshot> last;
    while (!stop.load()) {
      const auto snap = store.Snapshot();
      ++listings;
      if (snap == last) continue;
      last = snap;
      ++snapshots;
      std::set<std::string> revisions;
      for (const auto& [org, set] : snap->sets) revisions.insert(set.info.revision());
      if (snap->sets.size() != kOrgs) ++incomplete;
      if (revisions.size() > 1) ++mixed;
      if (revisions.size() == 1) revisions_seen.insert(*revisions.begin());
    }
  });
  int swaps = 0;
  // 300 swaps (about 2 s here), or 10 s on a machine too busy for that.
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(10);
  while (swaps < 300 && std::chrono::steady_clock::now() < end) {
    volume.Swap(version(++swaps));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string last = absl::StrCat(swaps);
  EXPECT_TRUE(Eventually([&] {
    const auto snap = store.Snapshot();
    return snap->Find("org-0") != nullptr && snap->Find("org-0")->info.revision() == last &&
           snap->Find(absl::StrCat("org-", kOrgs - 1))->info.revision() == last;
  }));
  stop = true;
  lister.join();
  store.StopWatching();
  std::cout << "swap storm: " << swaps << " swaps in " << seconds << " s, " << listings.load()
            << " listings of " << snapshots.load() << " distinct snapshots: " << mixed.load()
            << " mixed revisions, " << incomplete.load() << " without every org; "
            << revisions_seen.size() << " versions served whole\n";
  EXPECT_EQ(mixed.load(), 0) << "snapshots pairing revisions that never existed together";
  EXPECT_EQ(incomplete.load(), 0);
  EXPECT_GT(revisions_seen.size(), 1u) << "the store did not follow the swaps";
  EXPECT_TRUE(store.Snapshot()->file_errors.empty());
}

// Proves a directory emptied one file at a time is a fault, not the
// deletion of every set: each set keeps serving, the fault names the
// directory, and it clears when files are back.
TEST_F(PolicyStoreWriterTest, DirectoryEmptiedFileByFileKeepsServing) {
  for (const char* org : {"acme", "globex", "initech"})
    WriteWhole(dir_ / absl::StrCat(org, ".yaml"), Policy(org, "1", false));
  PolicyStore store = Store(absl::Milliseconds(300));
  store.Reload();
  for (const char* org : {"acme", "globex", "initech"}) {
    fs::remove(dir_ / absl::StrCat(org, ".yaml"));
    store.Reload();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ReloadReport r = store.Reload();
  EXPECT_TRUE(r.dir_fault);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // Longer than the settle time.
  r = store.Reload();
  EXPECT_EQ(r.sets_removed, 0);
  auto snap = store.Snapshot();
  EXPECT_EQ(snap->sets.size(), 3u) << "an emptied directory answered NOT_FOUND";
  EXPECT_TRUE(HasErrorContaining(*snap, "no policy files"))
      << (snap->file_errors.empty() ? "" : snap->file_errors[0].error());
  // Refilled: the fault clears; a name that stays gone is then a deletion.
  WriteWhole(dir_ / "acme.yaml", Policy("acme", "2", false));
  WriteWhole(dir_ / "globex.yaml", Policy("globex", "2", false));
  store.Reload();
  snap = store.Snapshot();
  EXPECT_TRUE(snap->file_errors.empty());
  ASSERT_NE(snap->Find("acme"), nullptr);
  EXPECT_EQ(snap->Find("acme")->info.revision(), "2");
  EXPECT_NE(snap->Find("initech"), nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  store.Reload();
  EXPECT_EQ(store.Snapshot()->Find("initech"), nullptr);
  EXPECT_NE(store.Snapshot()->Find("globex"), nullptr);
}

// Proves the same for a ConfigMap volume: its top-level symlinks removed one
// at a time, then "..data" swapped to an empty directory; every set keeps
// serving and the fault is reported.
TEST_F(PolicyStoreWriterTest, ConfigMapEmptiedKeepsServing) {
  ConfigMapVolume volume(dir_);
  volume.Swap(
      {{"acme.yaml", Policy("acme", "1", false)}, {"globex.yaml", Policy("globex", "1", false)}});
  PolicyStore store = Store(absl::Milliseconds(100));
  store.Reload();
  ASSERT_EQ(store.Snapshot()->sets.size(), 2u);
  for (const char* name : {"acme.yaml", "globex.yaml"}) {
    fs::remove(dir_ / name);
    store.Reload();
    EXPECT_EQ(store.Snapshot()->sets.size(), 2u) << "after removing " << name;
  }
  volume.Swap({});
  EXPECT_TRUE(store.Reload().dir_fault);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  store.Reload();
  const auto snap = store.Snapshot();
  EXPECT_EQ(snap->sets.size(), 2u) << "an emptied ConfigMap answered NOT_FOUND";
  EXPECT_TRUE(HasErrorContaining(*snap, "no policy files in ..data"));
  // A ConfigMap version without one key deletes that key's set at once.
  volume.Swap({{"acme.yaml", Policy("acme", "2", false)}});
  store.Reload();
  EXPECT_TRUE(store.Snapshot()->file_errors.empty());
  ASSERT_NE(store.Snapshot()->Find("acme"), nullptr);
  EXPECT_EQ(store.Snapshot()->Find("acme")->info.revision(), "2");
  EXPECT_EQ(store.Snapshot()->Find("globex"), nullptr);
}

// Proves a new file defining an org that is already served, even one that
// sorts first, does not take the org over: the org keeps its last good
// definition, both files are named in the fault (and reported once), and
// removing the newcomer clears it.
TEST_F(PolicyStoreWriterTest, SecondFileForAnOrgKeepsTheLastGood) {
  WriteWhole(dir_ / "b.yaml", Policy(kOrg, "from-b", true));
  PolicyStore store = Store(absl::ZeroDuration());
  store.Reload();
  WriteWhole(dir_ / "0.yaml", Policy(kOrg, "from-0", false));
  ReloadReport r = store.Reload();
  auto snap = store.Snapshot();
  ASSERT_NE(snap->Find(kOrg), nullptr);
  EXPECT_EQ(snap->Find(kOrg)->info.revision(), "from-b")
      << "the file that sorts first took the org over";
  ASSERT_EQ(snap->file_errors.size(), 2u);
  for (const auto& e : snap->file_errors) {
    EXPECT_TRUE(absl::StrContains(e.error(), (dir_ / "0.yaml").string())) << e.error();
    EXPECT_TRUE(absl::StrContains(e.error(), (dir_ / "b.yaml").string())) << e.error();
  }
  EXPECT_EQ(r.new_errors.size(), 2u);
  EXPECT_FALSE(snap->Find(kOrg)->info.last_error().empty());
  // The served file changes meanwhile: still a conflict, the org stays put.
  WriteWhole(dir_ / "b.yaml", Policy(kOrg, "from-b-2", true));
  r = store.Reload();
  ASSERT_NE(store.Snapshot()->Find(kOrg), nullptr);
  EXPECT_EQ(store.Snapshot()->Find(kOrg)->info.revision(), "from-b");
  EXPECT_TRUE(r.new_errors.empty()) << "a lasting conflict is reported once";
  fs::remove(dir_ / "0.yaml");
  store.Reload();
  snap = store.Snapshot();
  ASSERT_NE(snap->Find(kOrg), nullptr);
  EXPECT_EQ(snap->Find(kOrg)->info.revision(), "from-b-2");
  EXPECT_TRUE(snap->file_errors.empty());
}

}  // namespace
}  // namespace buildgate
