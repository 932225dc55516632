// Stand-in for src/nft when that library is not part of the build: every
// call fails with a clear message instead of a link error.
#include "nft/nft_apply.hpp"

namespace nfdsr::nft {

static const char* const unavailable = "nftables support is not built into this binary (src/nft missing)";

void apply(const plan::NodePlan&) { throw NftError(unavailable); }
void flush() { throw NftError(unavailable); }
std::string list_table() { throw NftError(unavailable); }

}  // namespace nfdsr::nft
