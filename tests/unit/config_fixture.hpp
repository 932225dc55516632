// Shared helpers for tests that need the reference-lab config.
#pragma once

#include "config/parse.hpp"

#include <string>

namespace nfdsr::test {

inline std::string reference_lab_path()
{
    return std::string(NFDSR_SOURCE_DIR) + "/examples/reference-lab.yaml";
}

inline config::Config reference_lab()
{
    return config::parse_file(reference_lab_path());
}

}  // namespace nfdsr::test
