#include "store/policy_store.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

namespace fs = std::filesystem;

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDirectory("bg_store");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    // Write then rename, as a ConfigMap update would swap content atomically.
    const fs::path tmp = dir_ / (".tmp-" + name);
    std::ofstream(tmp) << text;
    fs::rename(tmp, dir_ / name);
  }
  static std::string Policy(const std::string& org, const std::string& revision) {
    return "org_id: " + org + "\npolicy: {revision: \"" + revision +
           "\", root: ROOT_FORBIDDEN, privileged: PRIVILEGED_ALLOWED}\n";
  }
  // Settle time 0: these tests write whole files by rename.
  PolicyStore Store() {
    PolicyStoreOptions o;
    o.settle_time = absl::ZeroDuration();
    return PolicyStore(dir_.string(), [] { return absl::UnixEpoch(); }, o);
  }

  fs::path dir_;
};

// Proves every policy file in the directory is loaded and keyed by org.
TEST_F(PolicyStoreTest, LoadsEveryFile) {
  Write("a.yaml", Policy("acme", "1"));
  Write("b.json", R"({"orgId": "globex", "policy": {"root": "ROOT_ALLOWED", "privileged": "PRIVILEGED_ALLOWED"}})");
  Write("notes.txt", "not a policy");
  PolicyStore store = Store();
  const ReloadReport r = store.Reload();
  EXPECT_EQ(r.files_read, 2);
  EXPECT_EQ(r.files_failed, 0);
  auto snap = store.Snapshot();
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->sets.size(), 2u);
  ASSERT_NE(snap->Find("acme"), nullptr);
  EXPECT_EQ(snap->Find("acme")->info.revision(), "1");
  EXPECT_TRUE(absl::EndsWith(snap->Find("globex")->info.source(), "/b.json"));
}

// Proves a broken change keeps the last good version and records the error;
// fixing the file clears it.
TEST_F(PolicyStoreTest, BrokenFileKeepsLastGoodVersion) {
  Write("a.yaml", Policy("acme", "1"));
  PolicyStore store = Store();
  store.Reload();
  Write("a.yaml", "org_id: acme\npolicy: {root: NOPE}\n");
  const ReloadReport r = store.Reload();
  EXPECT_EQ(r.files_failed, 1);
  ASSERT_EQ(r.new_errors.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r.new_errors[0].error(), "a.yaml:2:16: policy.root: unknown value"))
      << r.new_errors[0].error();
  auto snap = store.Snapshot();
  ASSERT_NE(snap->Find("acme"), nullptr);
  EXPECT_EQ(snap->Find("acme")->info.revision(), "1");
  EXPECT_FALSE(snap->Find("acme")->info.last_error().empty());
  ASSERT_EQ(snap->file_errors.size(), 1u);
  // Where in the file, as data (the same as the report's).
  const v1::InputError& detail = snap->file_errors[0].detail();
  EXPECT_TRUE(absl::EndsWith(detail.file(), "/a.yaml")) << detail.file();
  EXPECT_EQ(detail.line(), 2);
  EXPECT_EQ(detail.column(), 16);
  EXPECT_EQ(detail.field(), "policy.root");
  EXPECT_EQ(detail.message(), snap->file_errors[0].error());
  EXPECT_EQ(r.new_errors[0].detail().line(), 2);
  Write("a.yaml", Policy("acme", "2"));
  store.Reload();
  snap = store.Snapshot();
  EXPECT_EQ(snap->Find("acme")->info.revision(), "2");
  EXPECT_TRUE(snap->Find("acme")->info.last_error().empty());
  EXPECT_TRUE(snap->file_errors.empty());
}

// Proves a handle keeps its set alive across a reload that replaces it: the
// thread's snapshot copy moves on, the set the handle holds does not go
// (ASan would see a use after free), and nothing is kept once the handle goes.
TEST_F(PolicyStoreTest, HandleOutlivesTheReloadThatReplacesItsSet) {
  Write("a.yaml", Policy("acme", "1"));
  PolicyStore store = Store();
  store.Reload();
  EXPECT_FALSE(store.Lookup("nobody"));
  {
    PolicyHandle first = store.Lookup("acme");
    ASSERT_TRUE(first);
    Write("a.yaml", Policy("acme", "2"));
    store.Reload();
    PolicyHandle second = store.Lookup("acme");  // Refreshes this thread's snapshot copy.
    ASSERT_TRUE(second);
    EXPECT_EQ(first->revision(), "1");
    EXPECT_EQ(second->revision(), "2");
    EXPECT_GT(OwnersKeptForHandles(), 0u);
  }
  EXPECT_EQ(OwnersKeptForHandles(), 0u);
}

// Proves a file that never loaded is reported and serves nothing.
TEST_F(PolicyStoreTest, InvalidNewFileIsAnError) {
  Write("bad.yaml", "org_id: acme\npolicy: {privileged: PRIVILEGED_ALLOWED}\n");
  PolicyStore store = Store();
  store.Reload();
  auto snap = store.Snapshot();
  EXPECT_TRUE(snap->sets.empty());
  ASSERT_EQ(snap->file_errors.size(), 1u);
  EXPECT_TRUE(absl::StrContains(snap->file_errors[0].error(), "policy.root: required"));
}

// Proves deleting a file removes its set, and unchanged files are not re-read.
TEST_F(PolicyStoreTest, DeletionAndUnchangedFiles) {
  Write("a.yaml", Policy("acme", "1"));
  Write("b.yaml", Policy("globex", "1"));
  PolicyStore store = Store();
  store.Reload();
  auto before = store.Snapshot();
  ReloadReport idle = store.Reload();
  EXPECT_EQ(idle.files_read, 0);
  EXPECT_FALSE(idle.changed);
  EXPECT_EQ(store.Snapshot(), before) << "no change must not publish a new snapshot";
  fs::remove(dir_ / "b.yaml");
  ReloadReport r = store.Reload();
  EXPECT_EQ(r.sets_removed, 1);
  EXPECT_EQ(store.Snapshot()->Find("globex"), nullptr);
  EXPECT_NE(store.Snapshot()->Find("acme"), nullptr);
  // Old snapshots stay valid for readers that still hold them.
  EXPECT_NE(before->Find("globex"), nullptr);
}

// Proves two files for one org at the first load: no file order picks one,
// the org serves neither (it has no last good definition), both are errors.
TEST_F(PolicyStoreTest, DuplicateOrg) {
  Write("a.yaml", Policy("acme", "from-a"));
  Write("b.yaml", Policy("acme", "from-b"));
  PolicyStore store = Store();
  store.Reload();
  auto snap = store.Snapshot();
  EXPECT_EQ(snap->Find("acme"), nullptr);
  ASSERT_EQ(snap->file_errors.size(), 2u);
  EXPECT_TRUE(absl::StrContains(snap->file_errors[0].error(), "is defined by 2 files"));
}

// Proves the embedded default serves the shipped examples.
TEST(PolicyStoreEmbedded, ServesExamples) {
  PolicyStore store("", [] { return absl::UnixEpoch(); });
  store.Reload();
  auto snap = store.Snapshot();
  EXPECT_TRUE(snap->file_errors.empty());
  EXPECT_NE(snap->Find("acme"), nullptr);
  EXPECT_NE(snap->Find("globex"), nullptr);
  EXPECT_TRUE(absl::StartsWith(snap->Find("acme")->info.source(), "embedded:"));
}

// Proves the watcher picks up a change by itself.
TEST_F(PolicyStoreTest, WatcherReloads) {
  Write("a.yaml", Policy("acme", "1"));
  PolicyStore store = Store();
  store.Reload();
  std::atomic<int> reloads{0};
  store.StartWatching(absl::Milliseconds(20), [&](const ReloadReport&) { ++reloads; });
  Write("a.yaml", Policy("acme", "2"));
  for (int i = 0; i < 200 && store.Snapshot()->Find("acme")->info.revision() != "2"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  store.StopWatching();
  EXPECT_EQ(store.Snapshot()->Find("acme")->info.revision(), "2");
  EXPECT_GE(reloads.load(), 1);
}

// Proves the store reads files within its limits (the buildgated flags), not
// the defaults.
TEST_F(PolicyStoreTest, AppliesItsLimits) {
  Write("a.yaml", Policy("acme", "1"));
  Write("b.yaml", "org_id: globex\npolicy: {root: ROOT_ALLOWED, privileged: PRIVILEGED_ALLOWED,\n"
                  "  registry_allowlist: [a/*, b/*, c/*, d/*]}\n");
  PolicyStoreOptions o;
  o.settle_time = absl::ZeroDuration();
  o.limits.max_list_items = 3;
  PolicyStore store(dir_.string(), [] { return absl::UnixEpoch(); }, o);
  const ReloadReport r = store.Reload();
  ASSERT_EQ(r.new_errors.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r.new_errors[0].error(),
                                "policy.registry_allowlist: 4 items are too many (limit max_list_items = 3)"))
      << r.new_errors[0].error();
  EXPECT_NE(store.Snapshot()->Find("acme"), nullptr);
  EXPECT_EQ(store.Snapshot()->Find("globex"), nullptr);
}

// Proves a name that disappears is deleted only once it has stayed gone for
// the settle time (and is listed as pending meanwhile).
TEST_F(PolicyStoreTest, DeletionWaitsToSettle) {
  Write("a.yaml", Policy("acme", "1"));
  Write("b.yaml", Policy("globex", "1"));  // Emptying the directory would be a fault.
  PolicyStoreOptions o;
  o.settle_time = absl::Milliseconds(200);
  PolicyStore store(dir_.string(), [] { return absl::UnixEpoch(); }, o);
  store.Reload();
  fs::remove(dir_ / "a.yaml");
  ReloadReport r = store.Reload();
  EXPECT_EQ(r.sets_removed, 0);
  EXPECT_EQ(r.files_pending, 1);
  ASSERT_NE(store.Snapshot()->Find("acme"), nullptr);
  EXPECT_EQ(store.Snapshot()->pending_files.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  r = store.Reload();
  EXPECT_EQ(r.sets_removed, 1);
  EXPECT_EQ(store.Snapshot()->Find("acme"), nullptr);
  EXPECT_TRUE(store.Snapshot()->pending_files.empty());
}

// Proves a file changed in place (and closed) waits until it has settled,
// and the last good version serves meanwhile.
TEST_F(PolicyStoreTest, ChangeWaitsToSettle) {
  Write("a.yaml", Policy("acme", "1"));
  PolicyStoreOptions o;
  o.settle_time = absl::Milliseconds(200);
  PolicyStore store(dir_.string(), [] { return absl::UnixEpoch(); }, o);
  store.Reload();
  std::ofstream(dir_ / "a.yaml", std::ios::trunc) << Policy("acme", "2");
  EXPECT_EQ(store.Reload().files_pending, 1);
  EXPECT_EQ(store.Snapshot()->Find("acme")->info.revision(), "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  store.Reload();
  EXPECT_EQ(store.Snapshot()->Find("acme")->info.revision(), "2");
}

}  // namespace
}  // namespace buildgate
