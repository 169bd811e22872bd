# buildgate_embed_files(TARGET <name> NAMESPACE <ns> FILES <key>=<path> ...)
#
# Generates a static library exposing
#   const std::map<std::string, std::string>& <ns>::EmbeddedFiles();
# mapping each key to the file's text, so shipped data (the builder catalog,
# example policies) is compiled into the binaries. Rebuilds when a file changes.
function(buildgate_embed_files)
  cmake_parse_arguments(ARG "" "TARGET;NAMESPACE" "FILES" ${ARGN})
  set(out_cc "${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}.cc")
  set(deps "")
  set(entries "")
  foreach(pair IN LISTS ARG_FILES)
    string(REPLACE "=" ";" kv "${pair}")
    list(GET kv 0 key)
    list(GET kv 1 path)
    get_filename_component(abs "${path}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND deps "${abs}")
    list(APPEND entries "${key}=${abs}")
  endforeach()
  # '|' separates entries: a ';' would split the shell command.
  string(REPLACE ";" "|" entries_arg "${entries}")
  add_custom_command(
    OUTPUT "${out_cc}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cc} -DNS=${ARG_NAMESPACE}
            "-DENTRIES=${entries_arg}" -P "${PROJECT_SOURCE_DIR}/cmake/EmbedFilesScript.cmake"
    VERBATIM
    DEPENDS ${deps} "${PROJECT_SOURCE_DIR}/cmake/EmbedFilesScript.cmake"
    COMMENT "Embedding files into ${ARG_TARGET}")
  add_library(${ARG_TARGET} STATIC "${out_cc}")
endfunction()
