// Config errors and warnings: each names file:line:column, the field path,
// what was found and what was expected. Parsing collects all of them before
// failing, but keeps only the first few in full (Diagnostics), so a file
// with a million mistakes costs bounded memory and prints a screenful.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfdsr::config {

// 1-based position in the source file; 0 when unknown.
struct Mark {
    int line = 0;
    int column = 0;
};

struct Diagnostic {
    std::string file;
    Mark mark;
    std::string path;     // e.g. "services[0].backends[1].port"
    std::string message;  // e.g. "found 70000, expected a port 1..65535"

    // "file:line:column: path: message"; with a `severity` ("warning"),
    // "file:line:column: warning: path: message".
    std::string to_string(std::string_view severity = {}) const;
};

// Problems of one severity in the order found: the first `keep` in full,
// the rest only counted (memory: `keep` diagnostics, whatever is added).
class Diagnostics {
public:
    static constexpr std::size_t default_keep = 20;

    // `severity`: "" for errors (printed without a label), "warning" for
    // warnings; it also names them in the "... and N more" line.
    explicit Diagnostics(std::size_t keep = default_keep, std::string severity = {})
        : keep_(keep), severity_(std::move(severity))
    {
    }

    void add(Diagnostic d);
    bool empty() const { return total_ == 0; }
    std::size_t total() const { return total_; }  // kept + counted
    const std::vector<Diagnostic>& kept() const { return kept_; }

    // The one printed form (nfdsrctl, nfdsrd): one line per kept diagnostic
    // (Diagnostic::to_string), then "... and N more errors" (or warnings)
    // if some were only counted; no trailing newline; "" when empty.
    std::string to_string() const;

private:
    std::size_t keep_;
    std::string severity_;
    std::vector<Diagnostic> kept_;
    std::size_t total_ = 0;
};

// What parse/validate throw: what() is Diagnostics::to_string().
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(Diagnostics errors);
    // The first errors in full (at most Limits::diagnostics of them).
    const std::vector<Diagnostic>& diagnostics() const { return errors_.kept(); }
    // All errors found, those only counted included.
    std::size_t total() const { return errors_.total(); }

private:
    Diagnostics errors_;
};

}  // namespace nfdsr::config
