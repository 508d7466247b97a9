# billow_internal: the one INTERFACE target that carries Billow's compile flags.
add_library(billow_internal INTERFACE)
target_compile_features(billow_internal INTERFACE cxx_std_20)
target_compile_options(billow_internal INTERFACE -Wall -Wextra -Wpedantic)
if(BILLOW_WERROR)
  target_compile_options(billow_internal INTERFACE -Werror)
endif()
# Asio: no deprecated names, and Beast's own string_view is std::string_view.
target_compile_definitions(billow_internal INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
if(BILLOW_SANITIZERS)
  string(REPLACE ";" "," _san "${BILLOW_SANITIZERS}")
  target_compile_options(billow_internal INTERFACE -fsanitize=${_san} -fno-omit-frame-pointer
                                                   -fno-sanitize-recover=all)
  target_link_options(billow_internal INTERFACE -fsanitize=${_san})
endif()

# billow_add_component(NAME SOURCES ... [PUBLIC_DEPENDS ...] [PRIVATE_DEPENDS ...])
#
# Makes the library billow_<NAME> with the alias billow::<NAME>. Headers are
# included by their path from the project root (`events/event_store.hpp`), so
# a header's path mirrors its namespace. A component without sources becomes an
# INTERFACE library.
function(billow_add_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  set(target billow_${name})
  if(ARG_SOURCES)
    add_library(${target} STATIC ${ARG_SOURCES})
    target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPENDS}
                                     PRIVATE billow_internal ${ARG_PRIVATE_DEPENDS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${target} INTERFACE ${ARG_PUBLIC_DEPENDS})
  endif()
  add_library(billow::${name} ALIAS ${target})
endfunction()

# billow_add_test(NAME SOURCES ... DEPENDS ...): one GoogleTest binary per
# component, discovered before each run, every test with a timeout.
function(billow_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPENDS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE billow_internal ${ARG_DEPENDS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                       PROPERTIES TIMEOUT ${ARG_TIMEOUT}
                       WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
endfunction()
