# Every third-party dependency, found once and exposed as an imported target.
# All of them come from Debian's packages (scripts/setup installs them).

find_package(Threads REQUIRED)

# CAF 0.17.6 ships no CMake package: wrap its libraries as caf::core / caf::io.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line
     REGEX "^#define CAF_VERSION [0-9]+")
string(REGEX REPLACE "^#define CAF_VERSION ([0-9]+).*" "\\1" CAF_VERSION_NUMBER
       "${_caf_version_line}")
if(NOT CAF_VERSION_NUMBER EQUAL 1706)
  message(FATAL_ERROR "Billow needs CAF 0.17.6 (found CAF_VERSION ${CAF_VERSION_NUMBER})")
endif()
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(caf::io UNKNOWN IMPORTED)
set_target_properties(caf::io PROPERTIES
  IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
  INTERFACE_LINK_LIBRARIES caf::core)

# Boost 1.81 (Beast and Asio are header-only; JSON and URL are compiled).
find_package(Boost 1.81...<1.82 REQUIRED CONFIG COMPONENTS json url)

find_package(RocksDB REQUIRED CONFIG)
find_package(simdjson REQUIRED CONFIG)
find_package(spdlog REQUIRED CONFIG)
find_package(tomlplusplus REQUIRED CONFIG)
find_package(prometheus-cpp REQUIRED CONFIG)
find_package(PkgConfig REQUIRED)
find_package(OpenSSL REQUIRED)   # SHA-256 of the hash chain (format 2)
pkg_check_modules(sodium REQUIRED IMPORTED_TARGET libsodium)
# Invoice PDFs: Cairo's PDF surface with Pango for the (Unicode) text.
pkg_check_modules(pangocairo REQUIRED IMPORTED_TARGET pangocairo pango cairo)
find_package(CLI11 CONFIG QUIET)
if(NOT TARGET CLI11::CLI11)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CLI11_INCLUDE_DIR}")
endif()

if(BILLOW_ENABLE_TESTS)
  find_package(GTest REQUIRED CONFIG)
  include(GoogleTest)
endif()
if(BILLOW_ENABLE_BENCH)
  find_package(benchmark REQUIRED CONFIG)
endif()

# Module SDK: libcurl (HTTP client, SMTP) and libpq (the postgres module).
find_package(CURL REQUIRED)
find_package(PostgreSQL REQUIRED)
