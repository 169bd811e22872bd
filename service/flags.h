// buildgated's command-line flags, grouped by task (listening, policies,
// logs, TLS, shutdown, limits) in `--help`, and what they become: the
// ServerOptions the server starts with, plus the few settings main() uses
// itself. main.cc only parses, starts and waits.
//
// Thread-compatible: fill one DaemonFlags from one thread.
#ifndef BUILDGATE_SERVICE_FLAGS_H_
#define BUILDGATE_SERVICE_FLAGS_H_

#include <cstddef>
#include <string>

#include "CLI/CLI.hpp"
#include "service/server.h"

namespace buildgate {

struct DaemonFlags {
  ServerOptions server;
  std::string log_format = "json";  // The operational log on stderr: json or text.
  std::string port_file;            // Where to write the chosen ports once serving.
  // Flags given in other units than ServerOptions holds them.
  std::string unix_socket_mode = "0660";
  std::size_t cache_max_mb = ServerOptions().cache_max_bytes >> 20;
  std::size_t grpc_memory_mb = ServerOptions().grpc_memory_bytes >> 20;
};

// Adds every flag to `app`, bound to `flags` (defaults shown in --help).
void AddDaemonFlags(CLI::App* app, DaemonFlags* flags);

// After parsing: the flags given in other units written into `server`.
void FinishDaemonFlags(DaemonFlags* flags);

}  // namespace buildgate

#endif  // BUILDGATE_SERVICE_FLAGS_H_
