# Writes the configuration an installed gateway uses: the shipped config.yaml with plugin_dir
# pointing at the installed plugins and storage.path on the state directory, so the installed
# file never drifts from the checkout's.
#   cmake -DSOURCE=config.yaml -DOUTPUT=out.yaml -DPLUGIN_DIR=/usr/lib/e2b-gateway/plugins
#         -DSTORAGE_PATH=/var/lib/e2b-gateway/gateway.db -P cmake/render_config.cmake
# or include() it with the same variables set.
foreach(var SOURCE OUTPUT PLUGIN_DIR STORAGE_PATH)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "render_config.cmake: ${var} is not set")
  endif()
endforeach()

file(READ "${SOURCE}" text)
# The active or commented-out top-level plugin_dir line; appended when the file has none.
set(plugin_line "plugin_dir: ${PLUGIN_DIR}   # the installed plugins")
string(REGEX MATCH "(^|\n)#?[ \t]*plugin_dir:[^\n]*" found "${text}")
if(found)
  string(REGEX REPLACE "(^|\n)#?[ \t]*plugin_dir:[^\n]*" "\\1${plugin_line}" text "${text}")
else()
  string(APPEND text "\n${plugin_line}\n")
endif()
# storage.path: the first "path:" line directly under the top-level "storage:" key.
string(REGEX MATCH "\nstorage:[ \t]*\n[ \t]+path:[ \t]*[^ \t\n#]+" found "${text}")
if(NOT found)
  message(FATAL_ERROR "render_config.cmake: ${SOURCE} has no storage.path line to rewrite")
endif()
string(REGEX REPLACE "(\nstorage:[ \t]*\n[ \t]+path:[ \t]*)[^ \t\n#]+" "\\1${STORAGE_PATH}" text "${text}")

get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
file(WRITE "${OUTPUT}" "${text}")
