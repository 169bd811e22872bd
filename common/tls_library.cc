#include "common/tls_library.h"

#include <openssl/crypto.h>

namespace buildgate {

void InitOpenSslWithoutExitHandler() {
  // Only the base initialisation: no configuration file, no providers, so a
  // process that never serves TLS keeps its idle footprint.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
}

}  // namespace buildgate
