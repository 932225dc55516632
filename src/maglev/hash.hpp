// The two fixed 64-bit hashes Maglev uses to derive a backend's permutation
// (offset and skip). They must never change: every entry node, on any CPU
// and any release, has to build the same table from the same config, or
// flows move when nodes run mixed versions.
//
//   h(id, basis) = fmix64(FNV-1a-64 over the bytes of id, starting at basis)
//   offset hash:  basis 0xcbf29ce484222325 (the standard FNV-1a 64 basis)
//   skip hash:    basis 0x84222325cbf29ce4 (the same constant, halves swapped)
//
// FNV-1a alone mixes the last bytes weakly (ids often differ only in the
// last octet or the port), so the MurmurHash3 64-bit finalizer (fmix64) is
// applied to the result. Byte-wise input and fixed-width arithmetic make the
// result independent of endianness and compiler.
#pragma once

#include <cstdint>
#include <string_view>

namespace nfdsr::maglev {

inline constexpr std::uint64_t offset_basis = 0xcbf29ce484222325ull;
inline constexpr std::uint64_t skip_basis = 0x84222325cbf29ce4ull;

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t basis);
std::uint64_t fmix64(std::uint64_t x);

inline std::uint64_t offset_hash(std::string_view id) { return fmix64(fnv1a64(id, offset_basis)); }
inline std::uint64_t skip_hash(std::string_view id) { return fmix64(fnv1a64(id, skip_basis)); }

}  // namespace nfdsr::maglev
