// Keeps OpenSSL's process-wide state alive until the process ends, for the
// two places that hand TLS credentials to gRPC (the server's and the
// client's). Thread-safe: OpenSSL runs its initialisation once.
//
// Why: OpenSSL 3 registers an exit handler (OPENSSL_cleanup) the first time
// it is initialised, and gRPC 1.51 (Debian 12's) lets it. gRPC's event-engine
// threads are not joined at exit, so one of them can still be handshaking or
// reconnecting while that handler frees OpenSSL's locks and tables: a crash
// at exit (seen: `buildgate decide --tls_ca ...` died with SIGSEGV in
// RAND_get_rand_method after printing its answer) or a per-thread error
// queue reported as leaked (buildgated under ASan). Upstream, gRPC 1.83
// stopped registering the handler (grpc/grpc#38539, #42608); this does the
// same for the gRPC we link. The state is freed by the process's exit.
#ifndef BUILDGATE_COMMON_TLS_LIBRARY_H_
#define BUILDGATE_COMMON_TLS_LIBRARY_H_

namespace buildgate {

// Initialises OpenSSL without its exit handler. Call before any TLS
// credentials are created: OpenSSL takes the choice of its first
// initialisation, so a call after gRPC has initialised it changes nothing.
void InitOpenSslWithoutExitHandler();

}  // namespace buildgate

#endif  // BUILDGATE_COMMON_TLS_LIBRARY_H_
