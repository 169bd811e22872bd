// Policy store faults under concurrent load, against the real server: the
// directory moved away, deleted, replaced by a file; a policy file replaced
// by a dangling symlink; a file read while still being written; a
// Kubernetes ConfigMap "..data" swap. For each: zero failed or wrong
// decisions while the fault lasts, the fault visible in GetServerStatus,
// metrics and the buildgate.v1.PolicyStore health entry, and recovery.
#include <fcntl.h>
#include <stdio.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/buildgate_client.h"
#include "engine/enum_names.h"
#include "input/proto_text.h"
#include "gtest/gtest.h"
#include "service/server.h"
#include "tests/testing/subprocess.h"

namespace buildgate {
namespace {

namespace fs = std::filesystem;

// A project id and org of realistic length.
constexpr char kOrg[] = "acme-corporation-platform-engineering-emea";
constexpr char kProject[] = "payments-platform-production-eu-west-1";

// Revision `revision`; with `deny_project` the project's override forbids
// privileged, which denies the Buildah step below (root is forbidden too).
std::string Policy(const std::string& revision, bool deny_project) {
  std::string text = absl::StrCat("org_id: ", kOrg, "\npolicy:\n  revision: \"", revision,
                                  "\"\n  root: ROOT_FORBIDDEN\n  privileged: PRIVILEGED_ALLOWED\n");
  if (deny_project) {
    absl::StrAppend(&text, "overrides:\n  - project_id: ", kProject,
                    "\n    policy: {privileged: PRIVILEGED_FORBIDDEN}\n");
  }
  return text;
}

v1::BuildStep BuildahStep() {
  v1::BuildStep step;
  const absl::Status s = ParseYamlToMessage(
      absl::StrCat("org_id: ", kOrg, "\nproject_id: ", kProject,
                   "\nstep_id: build_and_push_the_payments_service_image_to_docker_hub\n"
                   "kind: STEP_KIND_PLUGIN\nimage: plugins/buildah-docker:1.1.0-linux-amd64\n"
                   "repo: acme/payments-api\ntags: [<+pipeline.sequenceId>]\nprivileged: true\n"
                   "run_as_user: 1000\n"),
      "step.yaml", &step);
  EXPECT_TRUE(s.ok()) << s;
  return step;
}

class StoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::FreshTestDirectory("bg_faults");
    dir_ = root_ / "policies";
  }
  void TearDown() override {
    StopLoad();
    client_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
    fs::remove_all(root_);
  }

  void WriteWhole(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.parent_path() / (".tmp-" + path.filename().string());
    std::ofstream(tmp) << text;
    fs::rename(tmp, path);
  }

  void Start(absl::Duration settle) {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_address = "";
    o.decision_log = "";
    o.policy_dir = dir_.string();
    o.reload_interval = absl::Milliseconds(20);
    o.store.settle_time = settle;
    auto s = BuildGateServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
    ClientOptions c;
    c.target = absl::StrCat("127.0.0.1:", server_->tcp_port());
    c.max_attempts = 1;
    client_ = *BuildGateClient::Create(c);
  }

  // Two threads decide the Buildah step for kOrg without pause, counting
  // failures and which (revision, verdict) pairs they saw.
  void StartLoad() {
    for (int t = 0; t < 2; ++t) {
      load_.emplace_back([this] {
        ClientOptions c;
        c.target = absl::StrCat("127.0.0.1:", server_->tcp_port());
        c.max_attempts = 1;
        auto client = *BuildGateClient::Create(c);
        v1::PolicySource src;
        src.set_org_id(kOrg);
        const v1::BuildStep step = BuildahStep();
        while (!stop_.load()) {
          auto r = client->Decide(src, step);
          std::lock_guard<std::mutex> lock(mu_);
          if (!r.ok()) {
            ++failed_;
            last_error_ = r.status().ToString();
          } else {
            ++seen_[absl::StrCat(r->decision().policy_revision(), " ",
                                 EnumName(r->decision().verdict()))];
          }
        }
      });
    }
  }
  // Stops the load; returns how many calls it made.
  int StopLoad() {
    stop_ = true;
    for (auto& t : load_) t.join();
    load_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    int calls = failed_;
    for (const auto& [what, n] : seen_) calls += n;
    return calls;
  }
  int failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }
  std::map<std::string, int> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  v1::GetServerStatusResponse Status() {
    auto s = client_->ServerStatus();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : v1::GetServerStatusResponse();
  }
  // The buildgate.v1.PolicyStore health entry.
  bool StoreHealthy() {
    auto health = client_->Health(kStoreHealthService);
    EXPECT_TRUE(health.ok()) << health.status();
    return health.ok() && *health == "SERVING";
  }
  // Polls `condition` for up to 5 s.
  bool Eventually(const std::function<bool()>& condition) {
    for (int i = 0; i < 250; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
  }
  bool ServesRevision(const std::string& revision) {
    v1::PolicySource src;
    src.set_org_id(kOrg);
    auto r = client_->Decide(src, BuildahStep());
    return r.ok() && r->decision().policy_revision() == revision;
  }
  bool HasFault(const std::string& text) {
    const v1::GetServerStatusResponse status = Status();
    for (const auto& e : status.file_errors()) {
      if (absl::StrContains(e.error(), text)) return true;
    }
    return false;
  }

  fs::path root_;
  fs::path dir_;
  std::unique_ptr<BuildGateServer> server_;
  std::unique_ptr<BuildGateClient> client_;
  std::vector<std::thread> load_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  int failed_ = 0;
  std::string last_error_;
  std::map<std::string, int> seen_;
};

// Proves moving the policy directory away, deleting it (rm -rf), or putting a
// file in its place is a fault, not a deletion: the set keeps serving, the fault
// shows in status, metrics and store health, and clears when the directory is
// back.
TEST_F(StoreFaultTest, DirectoryGoneKeepsServing) {
  fs::create_directories(dir_);
  WriteWhole(dir_ / "acme.yaml", Policy("1", false));
  // `rm -rf` empties the directory before it removes it; the settle time
  // keeps that moment from counting as a deletion.
  Start(absl::Milliseconds(300));
  StartLoad();
  EXPECT_TRUE(StoreHealthy());

  fs::rename(dir_, root_ / "moved-away");
  EXPECT_TRUE(Eventually([&] { return HasFault("cannot read policy directory"); }));
  EXPECT_FALSE(StoreHealthy());
  EXPECT_EQ(Status().policy_sets(), 1);
  EXPECT_TRUE(absl::StrContains(server_->metrics().Scrape(), "buildgate_policy_file_errors 1"));
  fs::rename(root_ / "moved-away", dir_);
  EXPECT_TRUE(Eventually([&] { return Status().file_errors().empty(); }));
  EXPECT_TRUE(StoreHealthy());

  fs::remove_all(dir_);
  EXPECT_TRUE(Eventually([&] { return HasFault("cannot read policy directory"); }));
  std::ofstream(dir_) << "a file where the directory was\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(HasFault("cannot read policy directory"));
  EXPECT_EQ(Status().policy_sets(), 1);
  fs::remove(dir_);
  fs::create_directories(dir_);
  WriteWhole(dir_ / "acme.yaml", Policy("2", false));
  EXPECT_TRUE(Eventually([&] { return ServesRevision("2") && Status().file_errors().empty(); }));

  EXPECT_GT(StopLoad(), 0);
  EXPECT_EQ(failed(), 0) << last_error_;
  for (const auto& [what, n] : seen()) {
    EXPECT_TRUE(what == "1 VERDICT_ALLOW" || what == "2 VERDICT_ALLOW") << what << " x" << n;
  }
}

// Proves a policy file replaced by a dangling symlink (or a directory) keeps
// its last good version and is reported; only removing the name deletes.
TEST_F(StoreFaultTest, DanglingSymlinkIsAFaultDeletionIsNot) {
  fs::create_directories(dir_);
  WriteWhole(dir_ / "acme.yaml", Policy("1", false));
  // Another org: removing the only file would empty the directory, a fault.
  WriteWhole(dir_ / "globex.yaml", "org_id: globex\npolicy: {root: ROOT_ALLOWED, privileged: PRIVILEGED_ALLOWED}\n");
  Start(absl::ZeroDuration());
  StartLoad();
  // Each replacement is atomic (a rename), as a deployment tool would do
  // it: a moment without the name would be an intended deletion.
  fs::create_symlink(root_ / "nowhere" / "acme.yaml", dir_ / ".tmp-link");
  fs::rename(dir_ / ".tmp-link", dir_ / "acme.yaml");
  EXPECT_TRUE(Eventually([&] { return HasFault("dangling symlink"); }));
  EXPECT_FALSE(StoreHealthy());
  EXPECT_TRUE(ServesRevision("1"));
  fs::create_directories(dir_ / ".tmp-dir");
  ASSERT_EQ(::renameat2(AT_FDCWD, (dir_ / ".tmp-dir").c_str(), AT_FDCWD, (dir_ / "acme.yaml").c_str(),
                        RENAME_EXCHANGE), 0) << std::strerror(errno);
  fs::remove(dir_ / ".tmp-dir");  // Now the old symlink.
  EXPECT_TRUE(Eventually([&] { return HasFault("not a regular file"); }));
  EXPECT_TRUE(ServesRevision("1"));
  EXPECT_GT(StopLoad(), 0);
  EXPECT_EQ(failed(), 0) << last_error_;
  EXPECT_EQ(seen().size(), 1u);

  // Removing the name from a directory that lists fine is a deletion.
  fs::remove(dir_ / "acme.yaml");
  EXPECT_TRUE(Eventually([&] { return Status().policy_sets() == 1; }));
  EXPECT_TRUE(Status().file_errors().empty());
  EXPECT_TRUE(StoreHealthy());
}

// Proves a file read while still being written is not loaded: the cut
// version (its overrides not yet written) never answers; the whole file
// loads once it has settled.
TEST_F(StoreFaultTest, HalfWrittenFileWaitsToSettle) {
  fs::create_directories(dir_);
  WriteWhole(dir_ / "acme.yaml", Policy("1", false));
  Start(absl::Milliseconds(400));
  StartLoad();
  const std::string whole = Policy("2", true);
  const std::string cut = whole.substr(0, whole.find("overrides:"));
  {
    std::ofstream out(dir_ / "acme.yaml", std::ios::trunc);  // In place, as an editor or cp would.
    out << cut;
  }
  EXPECT_TRUE(Eventually([&] { return Status().pending_files_size() == 1; }));
  EXPECT_TRUE(absl::StrContains(server_->metrics().Scrape(), "buildgate_policy_files_pending 1"));
  EXPECT_TRUE(ServesRevision("1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  {
    std::ofstream out(dir_ / "acme.yaml", std::ios::app);
    out << whole.substr(cut.size());
  }
  EXPECT_TRUE(Eventually([&] { return ServesRevision("2"); }));
  EXPECT_EQ(Status().pending_files_size(), 0);
  EXPECT_GT(StopLoad(), 0);
  EXPECT_EQ(failed(), 0) << last_error_;
  const auto seen_now = seen();
  EXPECT_EQ(seen_now.count("2 VERDICT_ALLOW"), 0u) << "the cut file answered";
  EXPECT_GT(seen_now.count("2 VERDICT_DENY"), 0u);
}

// Proves a Kubernetes ConfigMap update (files behind "..data", swapped by
// renaming the symlink) loads at once even with a long settle time.
TEST_F(StoreFaultTest, ConfigMapDataSwapLoadsAtOnce) {
  fs::create_directories(dir_ / "..2026_11_28_08_00_00.000000001");
  WriteWhole(dir_ / "..2026_11_28_08_00_00.000000001" / "acme.yaml", Policy("1", false));
  fs::create_symlink("..2026_11_28_08_00_00.000000001", dir_ / "..data");
  fs::create_symlink("..data/acme.yaml", dir_ / "acme.yaml");
  Start(absl::Hours(1));
  StartLoad();
  EXPECT_TRUE(ServesRevision("1"));
  fs::create_directories(dir_ / "..2026_11_28_08_05_00.000000002");
  WriteWhole(dir_ / "..2026_11_28_08_05_00.000000002" / "acme.yaml", Policy("2", true));
  fs::create_symlink("..2026_11_28_08_05_00.000000002", dir_ / "..data_tmp");
  fs::rename(dir_ / "..data_tmp", dir_ / "..data");
  fs::remove_all(dir_ / "..2026_11_28_08_00_00.000000001");
  EXPECT_TRUE(Eventually([&] { return ServesRevision("2"); }));
  EXPECT_GT(StopLoad(), 0);
  EXPECT_EQ(failed(), 0) << last_error_;
  EXPECT_TRUE(Status().file_errors().empty());
}

// Proves the directory caps are faults that change nothing: once there are
// more policy files than max_files, changes are not loaded and the sets that
// were serving keep serving.
TEST_F(StoreFaultTest, TooManyFilesChangesNothing) {
  fs::create_directories(dir_);
  WriteWhole(dir_ / "acme.yaml", Policy("1", false));
  ServerOptions o;
  Start(absl::ZeroDuration());
  // Restart with a cap of 3 files (the flag --max_policy_files).
  server_->Shutdown();
  server_.reset();
  o.listen = "127.0.0.1:0";
  o.metrics_address = "";
  o.decision_log = "";
  o.policy_dir = dir_.string();
  o.reload_interval = absl::Milliseconds(20);
  o.store.settle_time = absl::ZeroDuration();
  o.store.max_files = 3;
  server_ = *BuildGateServer::Start(o);
  ClientOptions c;
  c.target = absl::StrCat("127.0.0.1:", server_->tcp_port());
  client_ = *BuildGateClient::Create(c);
  EXPECT_TRUE(ServesRevision("1"));
  for (int i = 0; i < 4; ++i) {
    WriteWhole(dir_ / absl::StrCat("team-", i, ".yaml"),
               absl::StrCat("org_id: team-", i, "\npolicy: {root: ROOT_ALLOWED, privileged: PRIVILEGED_ALLOWED}\n"));
  }
  // Written once the directory is over the cap: never loaded. (A reload
  // between the writes above may load the first team files; that is fine.)
  WriteWhole(dir_ / "acme.yaml", Policy("2", false));
  EXPECT_TRUE(Eventually([&] { return HasFault("limit max_policy_files"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(ServesRevision("1"));
  EXPECT_TRUE(HasFault("limit max_policy_files"));
}

}  // namespace
}  // namespace buildgate
