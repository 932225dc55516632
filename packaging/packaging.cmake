# Installation layout and packages (CPack, Debian):
#
#   component runtime -> package "nfdsr"
#     sbin/nfdsrctl, sbin/nfdsrd             (the targets' own install rules)
#     lib/systemd/system/nfdsr.service       (ExecStart= pointing at sbin/)
#     share/doc/nfdsr/{README.md,docs/*.md,examples/*.yaml}
#   component dkms    -> package "nfdsr-dkms" (Architecture: all)
#     /usr/src/nfdsr-VERSION/{dkms.conf,Kbuild,Makefile,*.c,*.h,include/nfdsr/...}
#     postinst/prerm: dkms add/install, dkms remove
#
# kmod/include is a symlink to ../include in the tree; the DKMS tree gets real
# copies of the shared headers.
#
# Included from the top-level CMakeLists.txt after all subdirectories.

set(NFDSR_DKMS_NAME nfdsr)
set(NFDSR_DKMS_DIR "/usr/src/${NFDSR_DKMS_NAME}-${PROJECT_VERSION}" CACHE PATH
    "Where the module sources for DKMS are installed (DKMS looks in /usr/src)")
set(NFDSR_UNIT_DIR "lib/systemd/system" CACHE STRING
    "systemd unit directory, relative to the install prefix")

set(pkgdir "${CMAKE_BINARY_DIR}/packaging")

# --- runtime -----------------------------------------------------------------
# The unit names /usr/sbin/nfdsrd: point it at this install's sbin. Done at
# install time so that `cmake --install --prefix P` and CPack (prefix /usr)
# get the right path.
install(CODE "
  file(READ \"${CMAKE_SOURCE_DIR}/systemd/nfdsr.service\" unit)
  string(REPLACE \"/usr/sbin/nfdsrd\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/nfdsrd\" unit \"\${unit}\")
  file(WRITE \"${pkgdir}/nfdsr.service\" \"\${unit}\")
" COMPONENT runtime)
install(FILES "${pkgdir}/nfdsr.service" DESTINATION "${NFDSR_UNIT_DIR}" COMPONENT runtime)

install(FILES "${CMAKE_SOURCE_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT runtime)
install(DIRECTORY "${CMAKE_SOURCE_DIR}/docs/" DESTINATION "${CMAKE_INSTALL_DOCDIR}/docs" COMPONENT runtime
        FILES_MATCHING PATTERN "*.md")
install(DIRECTORY "${CMAKE_SOURCE_DIR}/examples/" DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples" COMPONENT runtime
        FILES_MATCHING PATTERN "*.yaml")

# --- dkms --------------------------------------------------------------------
file(READ "${CMAKE_SOURCE_DIR}/kmod/dkms.conf" dkms_conf)
string(REGEX REPLACE "PACKAGE_VERSION=\"[^\"]*\"" "PACKAGE_VERSION=\"${PROJECT_VERSION}\"" dkms_conf "${dkms_conf}")
file(GENERATE OUTPUT "${pkgdir}/dkms.conf" CONTENT "${dkms_conf}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/kmod/dkms.conf")

file(GLOB dkms_sources CONFIGURE_DEPENDS
     "${CMAKE_SOURCE_DIR}/kmod/*.c" "${CMAKE_SOURCE_DIR}/kmod/*.h")
install(FILES "${pkgdir}/dkms.conf" "${CMAKE_SOURCE_DIR}/kmod/Kbuild" "${CMAKE_SOURCE_DIR}/kmod/Makefile"
              ${dkms_sources}
        DESTINATION "${NFDSR_DKMS_DIR}" COMPONENT dkms)
# real files, not the kmod/include symlink
install(DIRECTORY "${CMAKE_SOURCE_DIR}/include/" DESTINATION "${NFDSR_DKMS_DIR}/include" COMPONENT dkms
        FILES_MATCHING PATTERN "*.h")

# --- CPack: two Debian packages -----------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "nfdsr")
set(CPACK_PACKAGE_VENDOR "nfdsr")
set(CPACK_PACKAGE_CONTACT "nfdsr maintainers <nfdsr@localhost>")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGE_DIRECTORY "${CMAKE_BINARY_DIR}/packages")
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime dkms)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "nfdsr")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION "net")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "DSR load balancing with netfilter: nfdsrctl, nfdsrd and the systemd unit\n\
nfdsr programs nftables and the nfdsr kernel module (package nfdsr-dkms)\n\
for Direct Server Return load balancing (Cilium-compatible DSR option).")
# Shared-library dependencies from dpkg-shlibdeps (libnftnl11, libmnl0,
# libnl-*-3-200, libboost-log1.74.0, libyaml-cpp0.7, libsystemd0, libc6, ...).
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "nfdsr-dkms (= ${PROJECT_VERSION}), nftables")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "kmod")

set(CPACK_DEBIAN_DKMS_PACKAGE_NAME "nfdsr-dkms")
set(CPACK_DEBIAN_DKMS_PACKAGE_ARCHITECTURE "all")
set(CPACK_DEBIAN_DKMS_PACKAGE_SECTION "kernel")
set(CPACK_DEBIAN_DKMS_PACKAGE_DEPENDS "dkms (>= 2.1)")
set(CPACK_COMPONENT_DKMS_DESCRIPTION
    "nfdsr kernel module (nfdsr.ko) sources for DKMS\n\
Built and installed for every kernel with headers on install.")
configure_file("${CMAKE_SOURCE_DIR}/packaging/postinst.dkms.in" "${pkgdir}/dkms/postinst" @ONLY
               FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
configure_file("${CMAKE_SOURCE_DIR}/packaging/prerm.dkms.in" "${pkgdir}/dkms/prerm" @ONLY
               FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_DKMS_PACKAGE_CONTROL_EXTRA "${pkgdir}/dkms/postinst;${pkgdir}/dkms/prerm")
set(CPACK_DEBIAN_DKMS_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
