// The entry node's Maglev bucket as nftables computes it (src/maglev/flow_hash).
// jhash() vectors: Bob Jenkins' lookup3.c driver5() for hashlittle(), which
// the kernel's jhash() equals (same init, mix, final and byte-wise tail).
// The bucket itself is checked against the running kernel in
// host_trace_matches_kernel; the vectors below freeze what that test showed.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "maglev/flow_hash.hpp"

using namespace nfdsr::maglev;

TEST_CASE("jhash matches lookup3 hashlittle vectors")
{
    CHECK(jhash("", 0, 0) == 0xdeadbeefu);
    CHECK(jhash("", 0, 0xdeadbeef) == 0xbd5b7ddeu);
    const char* s = "Four score and seven years ago";
    CHECK(jhash(s, 30, 0) == 0x17770551u);
    CHECK(jhash(s, 30, 1) == 0xcd628161u);
}

TEST_CASE("jhash: every tail length is byte-wise (endian independent)")
{
    // Bytes after `length` must not matter; each length gives a new value.
    unsigned char a[16], b[16];
    for (int i = 0; i < 16; ++i) a[i] = b[i] = static_cast<unsigned char>(0x11 * (i + 1));
    std::uint32_t prev = 0;
    for (std::uint32_t len = 1; len <= 12; ++len) {
        b[len] ^= 0xff;
        CHECK(jhash(a, len, 7) == jhash(b, len, 7));
        b[len] ^= 0xff;
        const std::uint32_t h = jhash(a, len, 7);
        CHECK(h != prev);
        prev = h;
    }
}

TEST_CASE("reciprocal_scale maps onto [0, modulus)")
{
    CHECK(reciprocal_scale(0, 101) == 0);
    CHECK(reciprocal_scale(0xffffffffu, 101) == 100);
    CHECK(reciprocal_scale(0x80000000u, 100) == 50);
}

TEST_CASE("nft flow bucket hashes saddr . sport in two 32-bit registers")
{
    in_addr a{};
    REQUIRE(inet_pton(AF_INET, "192.168.10.200", &a) == 1);
    // By construction: the 8 register bytes are c0 a8 0a c8 | sport hi lo 00 00.
    const unsigned char regs[8] = {0xc0, 0xa8, 0x0a, 0xc8, 0x9c, 0x40, 0x00, 0x00};
    const std::uint32_t seed = 0x6e666473;
    CHECK(nft_flow_bucket(a.s_addr, 40000, 65537, seed) == reciprocal_scale(jhash(regs, 8, seed), 65537));
    for (std::uint16_t port = 40000; port < 40100; ++port)
        CHECK(nft_flow_bucket(a.s_addr, port, 503, seed) < 503);
}

TEST_CASE("nft flow bucket: values the kernel computed (host_trace_matches_kernel)")
{
    in_addr a{};
    REQUIRE(inet_pton(AF_INET, "192.168.10.200", &a) == 1);
    CHECK(nft_flow_bucket(a.s_addr, 40004, 503, 0x1234abcd) == 496);
    CHECK(nft_flow_bucket(a.s_addr, 41001, 503, 0x1234abcd) == 116);
    CHECK(nft_flow_bucket(a.s_addr, 40001, 503, 0x1234abcd) == 261);
    CHECK(nft_flow_bucket(a.s_addr, 43993, 7, 0x1234abcd) == 0);
    CHECK(nft_flow_bucket(a.s_addr, 49975, 7, 0x1234abcd) == 4);
}
