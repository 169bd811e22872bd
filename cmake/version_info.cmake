# Writes common/version_info.h into the build tree with the project version
# and the source tree's git revision ("-dirty" when it has uncommitted
# changes; "unknown" without git). Run at every build by the
# buildgate_version_info target; configure_file rewrites the header only
# when its text changes, so an unchanged revision rebuilds nothing.
# Inputs: SOURCE_DIR, BINARY_DIR, PROJECT_VERSION.
set(BUILDGATE_GIT_REVISION "unknown")
find_program(GIT git)
if(GIT AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND ${GIT} -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND rev)
    set(BUILDGATE_GIT_REVISION "${rev}")
    execute_process(COMMAND ${GIT} -C "${SOURCE_DIR}" diff --quiet HEAD --
                    RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND BUILDGATE_GIT_REVISION "-dirty")
    endif()
  endif()
endif()
configure_file("${SOURCE_DIR}/common/version_info.h.in" "${BINARY_DIR}/common/version_info.h" @ONLY)
