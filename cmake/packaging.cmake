# Install rules and the Debian package (cpack -G DEB in a Release build tree):
#   /usr/bin/e2b-gateway                      the gateway
#   /usr/lib/e2b-gateway/plugins/*.so         every built-in plugin (plugins/<name>/)
#   /etc/e2b-gateway/config.yaml              conffile, rendered from the checkout's config.yaml
#   /etc/e2b-gateway/env                      conffile, 0600: secrets and overrides for systemd
#   /lib/systemd/system/e2b-gateway.service   the hardened unit
#   /usr/lib/sysusers.d/e2b-gateway.conf      the e2b-gateway system user
# Maintainer scripts in deploy/debian/ create the user and /var/lib/e2b-gateway (storage.path).
# None of this runs during a build; `cmake --install` and cpack use it.

set(GATEWAY_STATE_DIR /var/lib/e2b-gateway)
set(GATEWAY_CONF_DIR /etc/e2b-gateway)

install(TARGETS e2b-gateway RUNTIME DESTINATION bin)

# Every folder of plugins/ that builds a plugin_<name> target; a new plugin is packaged as added.
file(GLOB plugin_folders LIST_DIRECTORIES true RELATIVE ${CMAKE_SOURCE_DIR}/plugins ${CMAKE_SOURCE_DIR}/plugins/*)
set(GATEWAY_PACKAGED_PLUGINS "")
foreach(folder IN LISTS plugin_folders)
  if(IS_DIRECTORY ${CMAKE_SOURCE_DIR}/plugins/${folder} AND TARGET plugin_${folder})
    list(APPEND GATEWAY_PACKAGED_PLUGINS plugin_${folder})
  endif()
endforeach()
install(TARGETS ${GATEWAY_PACKAGED_PLUGINS} LIBRARY DESTINATION lib/e2b-gateway/plugins)

# config.yaml is rendered at install time, so plugin_dir names the prefix actually installed to
# (/usr for the package) and the file always follows the checkout's config.yaml.
install(CODE "
  set(SOURCE \"${CMAKE_SOURCE_DIR}/config.yaml\")
  set(OUTPUT \"\$ENV{DESTDIR}${GATEWAY_CONF_DIR}/config.yaml\")
  set(PLUGIN_DIR \"\${CMAKE_INSTALL_PREFIX}/lib/e2b-gateway/plugins\")
  set(STORAGE_PATH \"${GATEWAY_STATE_DIR}/gateway.db\")
  message(STATUS \"Rendering: \${OUTPUT} (plugin_dir \${PLUGIN_DIR})\")
  include(\"${CMAKE_SOURCE_DIR}/cmake/render_config.cmake\")
")
install(FILES deploy/e2b-gateway.env DESTINATION ${GATEWAY_CONF_DIR} RENAME env
  PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES deploy/e2b-gateway.service DESTINATION /lib/systemd/system)
file(WRITE ${CMAKE_BINARY_DIR}/packaging/e2b-gateway.sysusers
  "u e2b-gateway - \"e2b-gateway service\" ${GATEWAY_STATE_DIR} /usr/sbin/nologin\n")
install(FILES ${CMAKE_BINARY_DIR}/packaging/e2b-gateway.sysusers DESTINATION lib/sysusers.d
  RENAME e2b-gateway.conf)

# --- the Debian package
file(WRITE ${CMAKE_BINARY_DIR}/packaging/conffiles
  "${GATEWAY_CONF_DIR}/config.yaml\n${GATEWAY_CONF_DIR}/env\n")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME e2b-gateway)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR e2b-gateway)
set(CPACK_PACKAGE_CONTACT "e2b-gateway maintainers <e2b-gateway@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "OpenAI-compatible gateway for the models behind E2B Fragments")
set(CPACK_PACKAGE_DESCRIPTION
  "e2b-gateway serves the OpenAI chat completions API in front of E2B's Fragments app,\n\
streaming answers as the model writes them, with per-user keys, rate limits, usage\n\
accounting in SQLite and loadable plugins. Runs as the e2b-gateway.service systemd unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # e2b-gateway_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from dpkg-shlibdeps (dpkg-dev) over the binary and every plugin; the
# rest are files the gateway reads: CA certificates for https upstreams, time zones for quotas,
# and useradd for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates, tzdata, passwd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
  ${CMAKE_SOURCE_DIR}/deploy/debian/prerm
  ${CMAKE_SOURCE_DIR}/deploy/debian/postrm
  ${CMAKE_BINARY_DIR}/packaging/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
