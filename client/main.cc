// buildgate: command-line client. Wiring only; see cli.h.
#include "client/cli.h"

int main(int argc, char** argv) { return buildgate::RunCli(argc, argv); }
